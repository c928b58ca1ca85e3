"""The end-to-end figure of issue 15 against the truth of a simulated catalyst: the
automatic alignment (COM-CL, the tilt-axis scan, one Fourier resampling) reconstructed
with SIRT-100, against the oracle (the true misalignment, undone by the same single
resampling, the same SIRT-100): the best any aligner that resamples the data can do with
that data (docs/quality.md, "End to end", measures where the oracle's own loss comes from).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from etspy_widgets import TomoStack
from etspy_widgets.engine import simulation as sim


def _error(stack, truth):
    """Relative L2 error of SIRT-100 against the truth after removing the volume's rigid
    translation (the gauge no registration can know)."""
    rec = np.asarray(stack.reconstruct("SIRT", iterations=100, constrain=True,
                                       show_progressbar=False).data)
    shift = phase_cross_correlation(truth, rec, upsample_factor=20, normalization=None)[0]
    rec = ndimage.shift(rec, shift, order=3, mode="constant")
    return float(np.linalg.norm(rec - truth) / np.linalg.norm(truth))


def quality_shifts(stack, report, rotation):
    """``stack`` (a registered raw series, its alignment still in the metadata) with the
    per-projection shifts of ``report`` (measured on the series after a tilt-axis rotation
    by ``rotation`` degrees) added to its shifts: the median removed, and turned back by
    ``R⁻¹`` since the raw series is shifted before it is rotated."""
    d = report.table[["dy", "dx"]].to_numpy()
    d = d - np.median(d, axis=0)
    a = np.deg2rad(rotation)
    pre = np.stack([-np.sin(a) * d[:, 1] + np.cos(a) * d[:, 0],
                    np.cos(a) * d[:, 1] + np.sin(a) * d[:, 0]], axis=1)
    out = stack.deepcopy()
    out.shifts = stack.shift_values + pre
    return out


@pytest.mark.slow
def test_automatic_alignment_within_8_percent_of_the_oracle_and_5_with_quality():
    res = sim.simulate_catalyst(size=128, misalign=True, tiltrotate=2.0, tiltshift=3.0,
                                seed=0)
    raw, truth, mis = res.stack, res.volume, res.misalignment
    ideal = _error(TomoStack(res.aligned, tilts=res.tilts), truth)
    exact = raw.apply_shifts(-mis.shifts).trans_stack(yshift=-mis.tilt_shift,
                                                      angle=-mis.tilt_rotation)
    oracle = _error(exact.align_other(raw, interpolation="fourier"), truth)
    reg = raw.stack_register("COM-CL")
    scan = reg.tilt_axis_scan(bootstrap=0, record=False)
    assert scan.rotation == pytest.approx(-mis.tilt_rotation, abs=0.05)
    auto = reg.trans_stack(yshift=scan.offset, angle=scan.rotation)
    once = auto.align_other(raw, interpolation="fourier")
    pipeline = _error(once, truth)
    refined = quality_shifts(auto, once.quality(resolution=False), scan.rotation)
    with_quality = _error(refined.align_other(raw, interpolation="fourier"), truth)
    # measured (seed 0): ideal 0.0644, oracle 0.0708, pipeline 0.0733 (+3.6 %), with
    # quality()'s shifts 0.0735 (+3.8 %); against the ideal both are +14 %: the oracle
    # itself is +9.9 % from resampling along the axis (docs/quality.md)
    assert pipeline < 1.08 * oracle, (pipeline, oracle)
    assert with_quality < 1.05 * oracle, (with_quality, oracle)
    assert oracle > 1.05 * ideal   # the floor is the data's: what the oracle measures
    # the alignment matters: the registered series without the tilt-axis correction
    assert _error(reg, truth) > 1.5 * oracle
