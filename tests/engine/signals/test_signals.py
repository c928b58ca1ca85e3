"""TomoStack/RecStack: tilts, shifts and metadata follow slicing, copies, arithmetic and saves."""

from __future__ import annotations

import hyperspy.api as hs
import numpy as np
import pytest

from etspy_widgets import (
    InvalidDataError,
    InvalidTiltsError,
    MismatchedTiltError,
    RecStack,
    TomoShifts,
    TomoStack,
    TomoTilts,
)


def MEMORY(signal):
    """The first history line of a signal built from an array: where its data came from."""
    assert signal.history[0].startswith("# stack: data from memory")
    return signal.history[:1]


@pytest.fixture
def stack():
    rng = np.random.default_rng(0)
    s = TomoStack(rng.random((7, 10, 12)).astype(np.float32), tilts=np.linspace(-60, 60, 7))
    s.shifts = np.arange(14.0).reshape(7, 2)
    s.metadata.Tomography.tiltaxis = 1.5
    return s


def test_construct_from_array_and_signal(stack):
    assert stack.tilt_values.tolist() == pytest.approx(np.linspace(-60, 60, 7).tolist())
    assert isinstance(stack.tilts, TomoTilts) and stack.tilts.data.shape == (7, 1)
    assert isinstance(stack.shifts, TomoShifts) and stack.shifts.data.shape == (7, 2)
    sig = hs.signals.Signal2D(np.ones((4, 5, 6)))
    sig.axes_manager[1].scale = 2.5
    t = TomoStack(sig, tilts=[0, 1, 2, 3])
    assert t.axes_manager[1].scale == 2.5
    assert t.axes_manager.signal_axes[0].name == "x"
    assert t.shift_values.tolist() == [[0.0, 0.0]] * 4


def test_bad_tilts_raise_specific_errors():
    data = np.zeros((4, 5, 5))
    with pytest.raises(MismatchedTiltError, match="4 projections"):
        TomoStack(data, tilts=[0, 1, 2])
    with pytest.raises(InvalidTiltsError, match="1D"):
        TomoStack(data, tilts=np.zeros((2, 2)))
    with pytest.raises(InvalidTiltsError, match="NaN"):
        TomoStack(data, tilts=[0, np.nan, 1, 2])
    with pytest.raises(InvalidDataError, match="shape"):
        TomoStack(np.zeros((2, 2, 2, 2, 2)))
    s = TomoStack(data, tilts=[0, 1, 2, 3])
    with pytest.raises(InvalidDataError, match=r"\(4, 2\)"):
        s.shifts = np.zeros((3, 2))


def test_inav_keeps_tilts_and_shifts(stack):
    sub = stack.inav[2:5]
    assert isinstance(sub, TomoStack)
    assert sub.tilt_values.tolist() == pytest.approx(stack.tilt_values[2:5].tolist())
    assert sub.shift_values.tolist() == stack.shift_values[2:5].tolist()
    assert sub.metadata.Tomography.tiltaxis == 1.5
    one = stack.inav[3]
    assert one.tilt_values.tolist() == [pytest.approx(stack.tilt_values[3])]
    assert one.shift_values.tolist() == [stack.shift_values[3].tolist()]


def test_isig_keeps_all_tilts(stack):
    crop = stack.isig[2:8, 1:6]
    assert crop.data.shape == (7, 5, 6)
    assert crop.tilt_values.tolist() == pytest.approx(stack.tilt_values.tolist())
    assert crop.shift_values.tolist() == stack.shift_values.tolist()


def test_remove_projections(stack):
    out = stack.remove_projections([0, -1, 3])
    keep = [1, 2, 4, 5]
    np.testing.assert_array_equal(out.data, stack.data[keep])
    assert out.tilt_values.tolist() == pytest.approx(stack.tilt_values[keep].tolist())
    assert out.shift_values.tolist() == stack.shift_values[keep].tolist()
    assert stack.data.shape[0] == 7  # input untouched
    with pytest.raises(ValueError, match="No projections"):
        stack.remove_projections([])
    with pytest.raises(IndexError):
        stack.remove_projections([7])


def test_deepcopy_is_independent(stack):
    dup = stack.deepcopy()
    dup.tilts = dup.tilt_values + 1
    dup.data[0] = -1
    dup.add_history("stack = stack.inav[1:]")
    assert stack.tilt_values[0] == pytest.approx(-60)
    assert (stack.data[0] != -1).all()
    assert stack.history == MEMORY(stack)
    # a copy is the same series: its metadata (history included) equal the original's
    assert dup.history == [*MEMORY(stack), "stack = stack.inav[1:]"]


def test_arithmetic_keeps_metadata(stack):
    out = stack * 2 + 1
    assert isinstance(out, TomoStack)
    np.testing.assert_allclose(out.data, stack.data * 2 + 1)
    assert out.tilt_values.tolist() == pytest.approx(stack.tilt_values.tolist())
    assert out.shift_values.tolist() == stack.shift_values.tolist()


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_save_load_round_trip(stack, tmp_path, ext):
    stack.add_history("stack = etw.load('x.mrc')")
    path = stack.save(tmp_path / f"s.{ext}")
    back = hs.load(path)
    assert isinstance(back, TomoStack)
    np.testing.assert_array_equal(back.data, stack.data)
    assert back.tilt_values.tolist() == pytest.approx(stack.tilt_values.tolist())
    assert back.shift_values.tolist() == stack.shift_values.tolist()
    assert back.metadata.Tomography.tiltaxis == 1.5
    assert back.history == [*MEMORY(stack), "stack = etw.load('x.mrc')"]
    # sliced after loading, tilts still follow
    assert back.inav[1:3].tilt_values.tolist() == pytest.approx(stack.tilt_values[1:3].tolist())


def test_save_refuses_overwrite_and_leaves_no_partial(stack, tmp_path):
    path = stack.save(tmp_path / "s.hspy")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        stack.save(path)
    assert path.read_bytes() == before

    class Boom(RuntimeError):
        pass

    bad = stack.deepcopy()
    bad.metadata.set_item("General.title", "bad")
    # a failure half-way through writing must leave neither a partial file nor a changed target
    import etspy_widgets.engine.signals._base as signals_mod

    original = signals_mod.Signal2D.save

    def failing_save(self, filename, *a, **k):
        with open(filename, "wb") as fh:
            fh.write(b"partial")
        raise Boom("disk full")

    signals_mod.Signal2D.save = failing_save
    try:
        with pytest.raises(Boom):
            bad.save(path, overwrite=True)
    finally:
        signals_mod.Signal2D.save = original
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.hspy"]


def test_set_tilts_exact_length():
    s = TomoStack(np.zeros((77, 4, 4)))
    s.set_tilts(-76, 2)
    assert len(s.tilt_values) == 77
    assert s.tilt_values[-1] == pytest.approx(76)
    s = TomoStack(np.zeros((7, 4, 4)))
    s.set_tilts(0, 0.1)  # float steps must not come out one short
    assert len(s.tilt_values) == 7 and s.tilt_values[-1] == pytest.approx(0.6)


def test_helpers(stack):
    inv = stack.invert()
    np.testing.assert_allclose(inv.data[0].max() + inv.data[0].min(),
                               stack.data[0].max() + stack.data[0].min(), rtol=1e-6)
    assert np.corrcoef(inv.data[0].ravel(), stack.data[0].ravel())[0, 1] == pytest.approx(-1)
    norm = stack.normalize()
    assert norm.data.min() == pytest.approx(0, abs=1e-6)
    stats = stack.stats()
    assert stats["max"] == pytest.approx(float(stack.data.max()))
    sino = stack.extract_sinogram(4)
    np.testing.assert_array_equal(sino.data, stack.data[:, :, 4])
    with pytest.raises(IndexError):
        stack.extract_sinogram(99)


def test_recstack_round_trip(tmp_path):
    vol = np.random.default_rng(1).random((6, 5, 8)).astype(np.float32)
    rec = RecStack(vol)
    rec.add_history("rec = stack.reconstruct('FBP')")
    fig = rec.plot_slices()
    assert len(fig.axes) == 3
    back = hs.load(rec.save(tmp_path / "r.hspy"))
    assert isinstance(back, RecStack)
    np.testing.assert_array_equal(back.data, vol)
    assert back.history[1:] == ["rec = stack.reconstruct('FBP')"]


def test_change_data_type_save_raw_and_correlation(stack, tmp_path):
    dup = stack.deepcopy()
    dup.change_data_type("float64")
    assert dup.data.dtype == np.float64 and dup.tilt_values.tolist() == pytest.approx(
        stack.tilt_values.tolist())
    path = stack.save_raw(tmp_path / "raw")
    assert path.name == "raw_7x10x12_float32.rpl" and path.exists()
    raw = np.fromfile(path.with_suffix(".raw"), dtype=np.float32)
    np.testing.assert_array_equal(raw, stack.data.ravel())
    with pytest.raises(FileExistsError):
        stack.save_raw(tmp_path / "raw")
    fig = stack.test_correlation([0, 0])
    cc = fig.axes[2].images[0].get_array()
    # autocorrelation peaks at zero shift (the centre after fftshift)
    assert np.unravel_index(np.argmax(cc), cc.shape) == (5, 6)


def test_copy_shares_data_but_not_tilts_or_slicers():
    stack = TomoStack(np.arange(5 * 8 * 8, dtype=np.float32).reshape(5, 8, 8),
                          tilts=np.arange(5.0))
    twin = stack.copy()
    assert np.shares_memory(twin.data, stack.data)  # HyperSpy's copy: no data copied
    twin.tilts = np.arange(5.0) + 10
    twin.add_history("stack = stack.invert()")
    np.testing.assert_array_equal(stack.tilt_values, np.arange(5.0))
    assert stack.history == MEMORY(stack)
    np.testing.assert_array_equal(twin.inav[1:3].tilt_values, [11.0, 12.0])
    np.testing.assert_array_equal(stack.inav[1:3].tilt_values, [1.0, 2.0])
