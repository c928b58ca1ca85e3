"""ETSpy's utilities: tilt schemes, radial mask, stack weighting, sinogram filters."""

from __future__ import annotations

import numpy as np
import pytest

from etspy_widgets import TomoStack, UnknownMethodError
from etspy_widgets.etspy import utils


def test_est_angles_have_equal_slopes():
    n = 16
    angles = utils.calc_est_angles(n)
    assert len(angles) == 2 * n and np.all(np.diff(angles) > 0)
    rad = np.deg2rad(angles)
    small = np.abs(angles) <= 45
    slopes = np.sort(np.tan(rad[small]))
    np.testing.assert_allclose(np.diff(slopes), 2 / n, atol=1e-12)
    big = ~small
    cot = np.sort(1 / np.tan(rad[big]))
    np.testing.assert_allclose(np.diff(cot)[np.diff(cot) > 0], 2 / n, atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        utils.calc_est_angles(7)


def test_golden_ratio_angles_cover_the_range():
    angles = utils.calc_golden_ratio_angles(150, 200)
    assert angles.shape == (200,)
    assert angles.min() >= -75 and angles.max() < 75
    # golden-ratio sampling fills the range evenly: no gap much larger than the mean step
    gaps = np.diff(np.sort(angles))
    assert gaps.max() < 3 * 150 / 200
    assert len(np.unique(np.round(angles, 9))) == 200


def test_radial_mask():
    mask = utils.get_radial_mask((20, 30))
    assert mask.shape == (20, 30) and mask[10, 15] and not mask[0, 0]
    assert mask.sum() == pytest.approx(np.pi * 10**2, rel=0.08)
    off = utils.get_radial_mask((20, 30), center=(5, 10))
    assert off[10, 5] and not off[10, 15]


def test_weight_stack_equalises_mass():
    rng = np.random.default_rng(0)
    data = rng.random((9, 32, 24)).astype(np.float32) + np.linspace(0, 2, 9)[:, None, None]
    stack = TomoStack(data, tilts=np.linspace(-60, 60, 9))
    out = utils.weight_stack(stack, "medium")
    mass = out.data.sum(axis=(1, 2))
    target = data.sum(axis=(1, 2)).min()
    assert np.all(mass <= target * (1 + 1e-6))
    assert np.all(mass[1:] > 0.8 * target)  # windows are not harsher than needed
    np.testing.assert_array_equal(stack.data, data)  # input untouched
    with pytest.raises(UnknownMethodError, match="accuracy"):
        utils.weight_stack(stack, "extreme")


def test_filter_stack_is_a_ramp_filter():
    y = np.arange(64)
    sino = np.zeros((3, 64, 2))
    sino[:, :, 0] = 1.0  # constant: the ramp removes it
    sino[:, :, 1] = np.cos(2 * np.pi * 8 * y / 64)
    stack = TomoStack(sino, tilts=[0, 1, 2])
    out = utils.filter_stack(stack, "ram-lak")
    assert np.abs(out.data[:, 16:48, 0]).max() < 0.05
    # a cosine keeps its shape, scaled by |f| ~ 8/64 cycles per pixel
    ratio = out.data[1, 16:48, 1] / sino[1, 16:48, 1]
    good = np.abs(sino[1, 16:48, 1]) > 0.5
    assert np.median(ratio[good]) == pytest.approx(8 / 64, rel=0.15)
    with pytest.raises(UnknownMethodError):
        utils.filter_stack(stack, "gaussian")
