"""Transforms: the sign of shifts and rotations, exactness, cropping, binning."""

import numpy as np
import pytest

from etspy_widgets import TomoStack
from etspy_widgets.engine.errors import InvalidDataError, UnknownMethodError
from etspy_widgets.engine.transform import (
    bin_stack,
    crop_bounds,
    fourier_shift_stack,
    interp_shift_stack,
    rotate_shift_stack,
    shift_stack,
)


def gauss(shape, cy, cx, sig=3.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig**2)).astype(np.float32)


def centroid(img):
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    m = img.sum()
    return (img * yy).sum() / m, (img * xx).sum() / m


@pytest.mark.parametrize("func", [fourier_shift_stack, interp_shift_stack])
def test_shift_moves_content_by_plus_shift(func):
    data = gauss((40, 50), 20, 25)[None].repeat(2, 0)
    out = func(data, [[2.3, -1.7], [-4.0, 3.5]])
    for img, (sy, sx) in zip(out, [(2.3, -1.7), (-4.0, 3.5)], strict=False):
        cy, cx = centroid(img)
        assert cy == pytest.approx(20 + sy, abs=0.02)
        assert cx == pytest.approx(25 + sx, abs=0.02)


def test_fourier_shift_is_exact_for_band_limited_content():
    data = gauss((48, 40), 22.0, 19.0)[None]
    out = fourier_shift_stack(data, [[1.25, -2.5]])
    assert np.abs(out[0] - gauss((48, 40), 23.25, 16.5)).max() < 1e-4


def test_shift_stack_rejects_unknown_type_and_wrong_count():
    data = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(UnknownMethodError, match="fourier"):
        shift_stack(data, np.zeros((3, 2)), "spline")
    with pytest.raises(InvalidDataError, match="3 projections"):
        shift_stack(data, np.zeros((2, 2)))


def test_rotation_sign_and_centre():
    shape = (61, 81)
    cy, cx = 30.0, 40.0  # (n - 1) / 2
    img = gauss(shape, cy, cx + 20, 2.0)[None]  # a spot 20 px right of the centre
    out = rotate_shift_stack(img, angle=10.0, order=3)
    y, x = centroid(np.clip(out[0], 0, None))
    a = np.deg2rad(10.0)
    # (x, y) -> (x cos a - y sin a, x sin a + y cos a): y grows (moves down) for a > 0
    assert x == pytest.approx(cx + 20 * np.cos(a), abs=0.05)
    assert y == pytest.approx(cy + 20 * np.sin(a), abs=0.05)
    out2 = rotate_shift_stack(img, angle=0.0, yshift=3.0, xshift=-2.0, order=3)
    y2, x2 = centroid(np.clip(out2[0], 0, None))
    assert (y2, x2) == pytest.approx((cy + 3, cx + 18), abs=0.05)


def test_trans_stack_and_shifts_agree_on_the_sign_of_y():
    """ETSpy's trans_stack moved content by -yshift while its shifts moved it by +y."""
    data = gauss((40, 40), 19.5, 19.5)[None].repeat(3, 0)
    stack = TomoStack(data, tilts=[-10, 0, 10])
    a = stack.trans_stack(yshift=3.0, xshift=1.0)
    b = stack.apply_shifts(np.tile([3.0, 1.0], (3, 1)))
    assert centroid(a.data[0]) == pytest.approx(centroid(b.data[0]), abs=0.05)
    assert centroid(a.data[0])[0] == pytest.approx(22.5, abs=0.05)
    assert a.metadata.Tomography.yshift == 3.0
    assert a.metadata.Tomography.xshift == 1.0
    assert np.all(stack.data == data)  # input untouched


@pytest.mark.parametrize("ys", [[1.2, 3.7, 0.5], [-1.2, -3.7, -0.5], [-2.2, 0.0, 4.1]])
def test_crop_bounds_any_sign(ys):
    """ETSpy's shift_crop swapped axes and returned an empty stack for one-signed shifts."""
    shifts = np.column_stack([ys, [0.0, -1.5, 2.0]])
    rows, cols = crop_bounds(shifts, (50, 60))
    assert rows.start == int(np.ceil(max(*ys, 0)))
    assert rows.stop == 50 - int(np.ceil(max(-min(ys), 0)))
    assert (cols.start, cols.stop) == (2, 58)
    stack = TomoStack(np.random.default_rng(0).random((3, 50, 60)).astype(np.float32),
                      tilts=[0, 1, 2], shifts=shifts)
    cropped = stack.shift_crop()
    assert cropped.data.shape == (3, rows.stop - rows.start, 56)
    assert cropped.metadata.Tomography.cropped
    np.testing.assert_array_equal(cropped.data, stack.data[:, rows, cols])


def test_crop_bounds_nothing_left():
    with pytest.raises(InvalidDataError, match="no pixel"):
        crop_bounds([[30.0, 0], [-30.0, 0]], (50, 50))


def test_bin_stack_and_rebin_keep_tilts_and_scale_shifts():
    """ETSpy's rebin left the shifts in the old pixel size."""
    rng = np.random.default_rng(1)
    data = rng.random((4, 32, 48)).astype(np.float32)
    np.testing.assert_allclose(bin_stack(data, 2)[1, 3, 5], data[1, 6:8, 10:12].mean(), 1e-6)
    stack = TomoStack(data, tilts=[-30, -10, 10, 30], shifts=[[2, 4], [0, -2], [6, 8], [1, 1]])
    stack.axes_manager.signal_axes[0].scale = 0.5
    stack = stack.trans_stack(yshift=4.0)
    binned = stack.rebin(scale=(1, 2, 2))
    assert binned.data.shape == (4, 16, 24)
    np.testing.assert_array_equal(binned.tilt_values, [-30, -10, 10, 30])
    np.testing.assert_allclose(binned.shift_values, stack.shift_values / 2)
    assert binned.metadata.Tomography.yshift == pytest.approx(2.0)
    assert binned.axes_manager.signal_axes[0].scale == pytest.approx(1.0)
    with pytest.raises(ValueError, match="merge projections"):
        stack.rebin(scale=(2, 1, 1))
