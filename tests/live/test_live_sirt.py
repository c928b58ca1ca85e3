"""Warm-started SIRT live (``watch(..., method="SIRT")``): each update runs a few SIRT
iterations from the previous estimate; after the last file it converges to the offline
SIRT of the same files."""

from __future__ import annotations

import numpy as np
import pytest

from etspy_widgets import live
from etspy_widgets.engine.errors import InvalidDataError, UnknownMethodError
from etspy_widgets.engine.recon import reconstruct_slices

pytestmark = pytest.mark.timeout(240)
TILTS = np.arange(-60, 61, 4.0)  # 31 projections


@pytest.fixture(scope="module")
def data():
    from etspy_widgets.engine import simulation

    sim = simulation.simulate_catalyst(size=48, n_particles=10, tilts=TILTS, misalign=False,
                                       seed=2)
    return np.asarray(sim.stack.data, np.float32)


def grow(data, order, **kw):
    """Feed the projections one by one in ``order`` (tilt order kept), as the watcher
    does; returns the reconstructor and its frames."""
    recon = live.LiveReconstructor(register=False, volume_size=24, **kw)
    inn, frames = [], []
    for k in order:
        inn.append(int(k))
        idx = sorted(inn)
        frames.append(recon.update([(f"p{i}", 1) for i in idx], TILTS[idx],
                                   [data[i] for i in idx]))
    return recon, frames


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_one_update_is_offline_sirt(data):
    """All files at once: the first update is the offline SIRT of them, same iterations."""
    recon = live.LiveReconstructor(register=False, volume_size=24, method="SIRT",
                                   iterations=7)
    frame = recon.update([(f"p{i}", 1) for i in range(len(TILTS))], TILTS, list(data))
    off = reconstruct_slices(data[:, :, frame.slices], TILTS, "SIRT", iterations=7,
                             kernel="pixel")
    np.testing.assert_allclose(frame.slice_images, off, rtol=0, atol=1e-5 * np.abs(off).max())
    assert frame.method == "SIRT" and frame.iterations == 7
    # the volume too: SIRT of the binned series
    small = data.reshape(len(TILTS), 24, 2, 24, 2).mean(axis=(2, 4))
    vol = reconstruct_slices(small, TILTS, "SIRT", iterations=7, kernel="pixel")
    np.testing.assert_allclose(frame.orthoslices[1], vol[12], atol=1e-5 * np.abs(vol).max())
    # finish() is the offline SIRT with the iterations the live estimate had
    np.testing.assert_allclose(recon.finish(data, TILTS), off, atol=1e-5 * np.abs(off).max())


def test_warm_start_converges_to_offline_sirt(data):
    """After the last file the live estimate, refined to N iterations in all since the
    series last changed, approaches the offline SIRT of the same files with the same N
    iterations from zero (``finish()``), the gap shrinking with N: the start differs only
    in what SIRT removes slowly."""
    order = live.acquisition_order(TILTS, "dose-symmetric")
    recon, frames = grow(data, order, method="SIRT", iterations=3)
    last = frames[-1]
    assert last.n == len(TILTS) and last.iterations == 3
    aligned = data  # not registered: the files as they are
    gaps = []
    for extra in (97, 500, 2400):
        frame = recon.refine(extra)
        off = recon.finish(aligned, TILTS)  # offline SIRT, frame.iterations from zero
        gaps.append(rel(frame.slice_images, off))
    assert frame.iterations == 3000
    print("relative L2 gap to offline SIRT at 100, 600, 3000 iterations:", gaps)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.02, gaps


def test_sirt_keywords_are_checked():
    with pytest.raises(UnknownMethodError, match="live reconstruction method"):
        live.LiveReconstructor(method="ART")
    with pytest.raises(InvalidDataError, match="iterations must be"):
        live.LiveReconstructor(method="SIRT", iterations=0)
    with pytest.raises(InvalidDataError, match="refine"):
        live.LiveReconstructor().refine(3)
