"""Projections, volume rotation and the missing-wedge (Fourier coverage) of a tilt series."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import astra
import numpy as np
import pytest

from etspy_widgets.engine.errors import InvalidDataError, InvalidTiltsError, UnknownMethodError
from etspy_widgets.engine.visualize import (
    fourier_coverage,
    missing_wedge_angles,
    plot_missing_wedge,
    project_volume,
    rotate_volume,
    rotation_matrix,
)

ETSPY_PYTHON = Path("/opt/etspy-venv/bin/python")


@pytest.fixture
def volume():
    rng = np.random.default_rng(3)
    return rng.random((6, 7, 8)).astype(np.float32)


@pytest.mark.parametrize(("axis", "index"), [("x", 0), ("z", 1), ("y", 2), (1, 1)])
@pytest.mark.parametrize("kind", ["max", "mean", "sum", "min"])
def test_projection_matches_numpy(volume, axis, index, kind):
    expected = getattr(np, kind)(volume, axis=index)
    np.testing.assert_allclose(project_volume(volume, axis, kind), expected, rtol=1e-6)


def test_projection_rejects_bad_input(volume):
    with pytest.raises(UnknownMethodError, match='"max"'):
        project_volume(volume, "z", "median")
    with pytest.raises(UnknownMethodError, match="volume axis"):
        project_volume(volume, "w")
    with pytest.raises(InvalidDataError, match=r"\(nx, nz, ny\)"):
        project_volume(volume[0], "z")


def test_rotation_by_90_degrees_is_an_axis_permutation():
    rng = np.random.default_rng(0)
    cube = rng.random((9, 9, 9))
    # about x (axis 0): turns axes (1, 2)
    rotated, matrix, _ = rotate_volume(cube, [90, 0, 0], order=1)
    assert np.allclose(matrix @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rotated, np.rot90(cube, k=-1, axes=(1, 2)), atol=1e-9)
    rotated, _, _ = rotate_volume(cube, [0, 0, 90], order=1)
    np.testing.assert_allclose(rotated, np.rot90(cube, k=-1, axes=(0, 1)), atol=1e-9)


def test_rotation_and_inverse_restore_the_centre():
    z, y, x = np.mgrid[:24, :24, :24] - 11.5
    blob = np.exp(-((x - 3) ** 2 + (y + 2) ** 2 + z**2) / 8.0)
    angles = [20.0, -15.0, 30.0]
    rotated, matrix, _ = rotate_volume(blob, angles, order=3)
    assert not np.allclose(rotated, blob, atol=0.05)
    # the inverse rotation is the transposed matrix: undo with affine_transform directly
    from scipy import ndimage

    centre = np.full(3, 11.5)
    back = ndimage.affine_transform(rotated, matrix.T, centre - matrix.T @ centre, order=3)
    np.testing.assert_allclose(back, blob, atol=0.02)


@pytest.mark.skipif(not ETSPY_PYTHON.exists(), reason="needs ETSpy's venv in /opt/etspy-venv")
def test_rotation_matrix_matches_etspy():
    angles = [12.0, -33.0, 57.0]
    code = (
        "import json, numpy as np; from etspy.transform import calculate_rotation; "
        f"m, o = calculate_rotation(np.array({angles}), (5, 6, 7)); "
        "print(json.dumps([m.tolist(), o.tolist()]))"
    )
    out = subprocess.run([str(ETSPY_PYTHON), "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    their_matrix, their_offset = json.loads(out.stdout.strip().splitlines()[-1])
    _, matrix, offset = rotate_volume(np.zeros((5, 6, 7)), angles, order=0)
    np.testing.assert_allclose(matrix, their_matrix, atol=1e-12)
    np.testing.assert_allclose(offset, their_offset, atol=1e-12)


def test_rotation_angles_are_checked():
    with pytest.raises(ValueError, match="three finite angles"):
        rotation_matrix([1, 2])


def _backprojection_spectrum(tilts, n=64):
    """|FFT|² of the unfiltered back-projection of noise, with ASTRA (independent reference)."""
    rng = np.random.default_rng(1)
    img = rng.standard_normal((n, n)).astype(np.float32)
    proj_geom = astra.create_proj_geom("parallel", 1.0, n, np.deg2rad(tilts))
    vol_geom = astra.create_vol_geom((n, n))
    pid = astra.create_projector("linear", proj_geom, vol_geom)
    try:
        sid, sino = astra.create_sino(img, pid)
        bid, bp = astra.create_backprojection(sino, pid)
        astra.data2d.delete([sid, bid])
    finally:
        astra.projector.delete(pid)
    return np.abs(np.fft.fftshift(np.fft.fft2(bp))) ** 2


def test_fourier_coverage_matches_astra_for_an_asymmetric_range():
    tilts = np.arange(20.0, 71.0, 2.0)
    spectrum = _backprojection_spectrum(tilts)
    covered = fourier_coverage(tilts, size=64, width=3)
    mirrored = fourier_coverage(-tilts, size=64, width=3)
    inside = spectrum[covered].sum() / spectrum.sum()
    wrong_side = spectrum[mirrored & ~covered].sum() / spectrum.sum()
    assert inside > 0.6
    assert wrong_side < 0.05


def test_missing_wedge_size_and_plot():
    tilts = np.linspace(-70, 70, 71)
    assert missing_wedge_angles(tilts) == (-70.0, 70.0, 40.0)
    covered = fourier_coverage(tilts, size=64)
    # the k_z axis (beam direction, column k_y = 0) lies in the missing wedge, k_y is sampled
    centre = 32
    assert covered[centre, :].all()
    assert not covered[centre + 10 :, centre].any()
    fig = plot_missing_wedge(tilts, size=64)
    assert "missing wedge 40°" in fig.axes[0].get_title()
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), covered)


def test_fourier_coverage_rejects_bad_tilts():
    with pytest.raises(InvalidTiltsError, match="finite"):
        fourier_coverage([0.0, np.nan])


def test_recstack_and_tomostack_verbs(volume):
    from etspy_widgets import RecStack, TomoStack
    from etspy_widgets.widgets.volume import VolumeView

    rec = RecStack(volume)
    mip = rec.max_projection("z")
    np.testing.assert_allclose(mip.data, volume.max(axis=1))
    assert [ax.name for ax in mip.axes_manager.signal_axes] == ["y", "x"]
    np.testing.assert_allclose(rec.mean_projection("x").data, volume.mean(axis=0), rtol=1e-6)
    rotated = rec.rotate_volume([0, 0, 30])
    assert isinstance(rotated, RecStack)
    np.testing.assert_allclose(rotated.data, rotate_volume(volume, [0, 0, 30])[0], atol=1e-6)
    np.testing.assert_allclose(rotated.rotation_angles, [0, 0, 30])
    np.testing.assert_array_equal(rec.data, volume)  # the input is unchanged
    with pytest.raises(ValueError, match="rotation_angles"):
        rec.rotate_volume()
    view = rec.render(show_slices=True)
    assert isinstance(view, VolumeView)
    assert view.sent_shape == volume.shape and view.show_slices
    stack = TomoStack(np.zeros((31, 8, 8)), tilts=np.linspace(-60, 60, 31))
    fig = stack.plot_missing_wedge(size=32)
    assert "missing wedge 60°" in fig.axes[0].get_title()
