"""stack_register: every method scored against a phantom's known misalignment.

The residual is measured on the OUTPUT stack against the unmisaligned projections
(after removing a common offset), not on the method's own shifts.
"""

import numpy as np
import pytest
from align_phantoms import make_phantom, residual_rms

from etspy_widgets import TomoStack
from etspy_widgets.engine.align import compute_shifts
from etspy_widgets.engine.errors import InvalidDataError, UnknownMethodError

TILTS = np.arange(-69.0, 70.0, 3.0)  # 47 projections


@pytest.fixture(scope="module")
def clean():
    return make_phantom(size=(96, 112), tilts=TILTS, jitter=5.0, seed=1)


@pytest.fixture(scope="module")
def noisy():
    return make_phantom(size=(96, 112), tilts=TILTS, jitter=5.0, noise=20.0, seed=2)


def _stack(ph):
    return TomoStack(ph.data.copy(), tilts=ph.tilts)


@pytest.mark.parametrize("method", ["PC", "StackReg", "COM", "COM-CL"])
def test_noise_free_quarter_pixel(clean, method):
    stack = _stack(clean)
    out = stack.stack_register(method)
    rms, _ = residual_rms(out.data, clean.truth)
    assert rms <= 0.25, f"{method}: {rms:.3f} px"
    np.testing.assert_array_equal(stack.data, clean.data)  # input never changes
    assert out.shift_values[len(TILTS) // 2] == pytest.approx([0, 0], abs=1e-9)


@pytest.mark.parametrize("method", ["PC", "StackReg", "COM-CL"])
def test_noisy_quarter_pixel(noisy, method):
    out = _stack(noisy).stack_register(method)
    rms, _ = residual_rms(out.data, noisy.truth)
    assert rms <= 0.25, f"{method}: {rms:.3f} px"


def test_raw_pairwise_drifts_without_the_correction(clean):
    raw = compute_shifts(clean.data, clean.tilts, "PC", drift=None)
    fixed = compute_shifts(clean.data, clean.tilts, "PC")

    def err(s):
        e = s - clean.shifts
        return np.sqrt(np.mean(np.sum((e - e.mean(0)) ** 2, 1)))

    assert err(fixed) < err(raw)


@pytest.mark.parametrize("start", [0, None, -1])
@pytest.mark.parametrize("method", ["PC", "COM-CL"])
def test_start_at_ends_and_middle(clean, method, start):
    out = _stack(clean).stack_register(method, start=start)
    ref = {0: 0, None: len(TILTS) // 2, -1: len(TILTS) - 1}[start]
    assert out.shift_values[ref] == pytest.approx([0, 0], abs=1e-9)
    assert residual_rms(out.data, clean.truth)[0] <= 0.25


@pytest.mark.parametrize("size", [(95, 101), (80, 128), (96, 64)])
def test_odd_even_and_non_square(size):
    ph = make_phantom(size=size, tilts=np.arange(-60.0, 61.0, 4.0), jitter=3.0, seed=3)
    for method in ("PC", "COM-CL"):
        out = TomoStack(ph.data, tilts=ph.tilts).stack_register(method)
        assert out.data.shape == ph.data.shape
        assert residual_rms(out.data, ph.truth)[0] <= 0.25, (size, method)


def test_removed_projections(clean):
    stack = _stack(clean).remove_projections([3, 10, 30])
    keep = np.setdiff1d(np.arange(len(TILTS)), [3, 10, 30])
    out = stack.stack_register("COM-CL")
    assert residual_rms(out.data, clean.truth[keep])[0] <= 0.25
    np.testing.assert_array_equal(out.tilt_values, TILTS[keep])


def test_shifts_accumulate_and_crop(clean):
    stack = _stack(clean)
    stack.shifts = np.tile([0.5, -0.5], (len(TILTS), 1))
    out = stack.stack_register("COM-CL")
    new = compute_shifts(clean.data, clean.tilts, "COM-CL")
    np.testing.assert_allclose(out.shift_values, new + np.array([0.5, -0.5]), atol=1e-9)
    again = out.stack_register("COM-CL")  # already aligned: adds ~nothing
    extra = again.shift_values - out.shift_values
    assert np.sqrt(np.mean(extra**2)) < 0.05 and np.abs(extra).max() < 0.25
    cropped = _stack(clean).stack_register("COM-CL", crop=True)
    assert cropped.metadata.Tomography.cropped
    assert 0 < cropped.data.shape[1] < 96 and 0 < cropped.data.shape[2] < 112


def test_comcl_targets_the_reference_centre_of_mass_not_its_index(clean):
    """ETSpy used com_ref_index as the target ROW: the whole stack moved by ~(row - index)."""
    out = _stack(clean).stack_register("COM-CL", start=2)
    y = out.shift_values[:, 0]
    assert np.abs(y).max() <= 10.5  # jitter is ±5 px each: never a bulk move
    prof = out.data.sum(axis=2)
    rows = (prof * np.arange(96)).sum(1) / prof.sum(1)
    ref = clean.data[2].sum(1)
    assert rows == pytest.approx(np.full(len(TILTS), (ref * np.arange(96)).sum() / ref.sum()),
                                 abs=0.05)


def test_interp_shift_type(clean):
    out = _stack(clean).stack_register("COM-CL", shift_type="interp")
    assert residual_rms(out.data, clean.truth)[0] <= 0.25


@pytest.mark.parametrize("bad", ["XC", "pc ", None])
def test_unknown_method(clean, bad):
    with pytest.raises(UnknownMethodError, match="COM-CL"):
        _stack(clean).stack_register(bad)


def test_bad_inputs():
    one = TomoStack(np.ones((1, 32, 32), np.float32), tilts=[0])
    with pytest.raises(InvalidDataError, match="at least 2"):
        one.stack_register("PC")
    zeros = np.random.default_rng(0).random((5, 32, 32)).astype(np.float32)
    zeros[2] = 0
    with pytest.raises(InvalidDataError, match=r"\[2\].*constant"):
        TomoStack(zeros, tilts=np.arange(5.0)).stack_register("PC")
    nans = np.random.default_rng(0).random((5, 32, 32)).astype(np.float32)
    nans[1, 3, 4] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        TomoStack(nans, tilts=np.arange(5.0)).stack_register("COM")
    with pytest.raises(IndexError, match="start=7"):
        TomoStack(np.random.default_rng(0).random((5, 32, 32)),
                  tilts=np.arange(5.0)).stack_register("PC", start=7)


def test_align_other_replays_exactly_without_doubling(clean):
    """ETSpy copied tiltaxis/xshift/yshift into the target and then added them again."""
    stack = _stack(clean)
    other = TomoStack(np.sqrt(clean.data), tilts=clean.tilts)  # same object, other contrast
    ref = stack.stack_register("COM-CL", crop=True).trans_stack(yshift=1.5, angle=0.7)
    out = ref.align_other(other)
    np.testing.assert_allclose(out.shift_values, ref.shift_values)
    for key in ("tiltaxis", "yshift", "xshift", "cropped"):
        assert out.metadata.Tomography[key] == pytest.approx(ref.metadata.Tomography[key])
    assert out.metadata.Tomography.tiltaxis == pytest.approx(0.7)  # not 1.4
    expect = np.sqrt(np.clip(stack.stack_register("COM-CL", crop=True)
                             .trans_stack(yshift=1.5, angle=0.7).data, 0, None))
    assert out.data.shape == ref.data.shape
    # sqrt does not commute with interpolation exactly; compare structure, not values
    corr = np.corrcoef(out.data.ravel(), expect.ravel())[0, 1]
    assert corr > 0.995
    np.testing.assert_array_equal(other.data, np.sqrt(clean.data))  # other untouched
    with pytest.raises(ValueError, match="No transformations"):
        _stack(clean).align_other(other)
    with pytest.raises(InvalidDataError, match="same"):
        ref.align_other(other.remove_projections([0]))


@pytest.mark.parametrize("noise", [False, True])
def test_simulated_catalyst(noise):
    """The project's catalyst simulation (reduced to 128 px), ±5 px jitter."""
    from etspy_widgets.engine.simulation import simulate_catalyst

    sim = simulate_catalyst(size=128, misalign=True, seed=3, noise=noise)
    for method in ("PC", "StackReg", "COM", "COM-CL"):
        out = sim.stack.stack_register(method)
        rms, _ = residual_rms(out.data, sim.aligned)
        assert rms <= 0.25, (method, noise, rms)


def test_etspy_keywords_are_accepted_and_unknown_ones_refused(clean):
    stack = _stack(clean)
    a = stack.stack_register("COM-CL", cl_resolution=0.05, cl_div_factor=8)
    b = stack.stack_register("COM", xrange=(20, 90), p=10, nslices=10)
    assert a.data.shape == b.data.shape == stack.data.shape
    with pytest.raises(TypeError):
        stack.stack_register("PC", cl_resolution=0.05)
