"""Filters: each method does what it says, per projection, and pads with taper."""

import numpy as np
import pytest

from etspy_widgets import TomoStack
from etspy_widgets.engine.errors import UnknownMethodError
from etspy_widgets.engine.filters import filter_stack


@pytest.fixture
def stack():
    rng = np.random.default_rng(0)
    data = np.zeros((3, 40, 50), np.float32)
    data[:, 10:30, 15:35] = 1.0
    data += rng.normal(0, 0.05, data.shape).astype(np.float32)
    return TomoStack(data, tilts=[-10, 0, 10])


def test_median_removes_salt_and_keeps_edges(stack):
    noisy = stack.deepcopy()
    noisy.data[1, 5, 5] = 50.0
    out = noisy.filter("median", size=3, taper=0)
    assert out.data[1, 5, 5] < 0.5
    assert out.data[1, 20, 25] == pytest.approx(1.0, abs=0.1)
    assert noisy.data[1, 5, 5] == 50.0  # input unchanged


def test_median_does_not_mix_projections():
    data = np.zeros((3, 20, 20), np.float32)
    data[1] = 1.0
    out = filter_stack(data, "median", size=5, taper=0)
    assert out[1].min() == 1.0 and out[0].max() == 0.0


def test_sobel_marks_edges(stack):
    out = stack.filter("sobel", taper=0).data[0]
    assert out[10, 25] > 5 * out[20, 25]  # edge much brighter than the flat inside


def test_both_is_median_then_sobel(stack):
    a = stack.filter("both", size=3, taper=0).data
    b = filter_stack(filter_stack(stack.data, "median", size=3, taper=0), "sobel", taper=0)
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_bpf_removes_the_mean(stack):
    out = stack.filter("bpf", taper=0).data
    assert abs(out[0].mean()) < 0.05 * np.abs(out[0]).max()


def test_taper_pads_and_keeps_calibration(stack):
    out = stack.filter("median", taper=0.1)
    assert out.data.shape == (3, 48, 60)
    assert out.axes_manager.signal_axes[0].offset == pytest.approx(-5.0)
    np.testing.assert_array_equal(out.tilt_values, [-10, 0, 10])


def test_unknown_filter(stack):
    with pytest.raises(UnknownMethodError, match="median"):
        stack.filter("gaussian")
