"""ETSpy's names that wrap our engine: AlignmentMethod, the etspy.align/recon/io functions,
shift_and_tilt_setter and the CommonStack verbs on RecStack (docs/etspy-mapping.md)."""

from __future__ import annotations

import typing

import hyperspy.api as hs
import numpy as np
import pytest

import etspy_widgets.api as etspy
from etspy_widgets import InvalidDataError, MismatchedTiltError, RecStack, TomoStack
from etspy_widgets.engine.align import _register
from etspy_widgets.engine.recon import DART, get_projector


@pytest.fixture
def stack():
    rng = np.random.default_rng(1)
    data = np.zeros((9, 24, 20), np.float32)
    data[:, 8:16, 6:14] = 1.0
    data += 0.05 * rng.random(data.shape, dtype=np.float32)
    return TomoStack(data, tilts=np.linspace(-40, 40, 9))


@pytest.fixture
def volume():
    rng = np.random.default_rng(2)
    vol = rng.random((6, 16, 16)).astype(np.float32)
    vol[:, 4:12, 5:11] += 2
    return RecStack(vol)


# -- AlignmentMethod and the type aliases --------------------------------------------------
def test_alignment_method_enum_and_aliases(stack):
    am = etspy.AlignmentMethod
    assert am.values() == ["StackReg", "PC", "COM", "COM-CL"]
    assert am.is_valid_value("COM-CL") and not am.is_valid_value("XYZ")
    assert am("PC") is am.PC and am.PC == "PC" and str(am.COM_CL) == "COM-CL"
    assert typing.get_args(etspy.ReconMethodType) == ("FBP", "SIRT", "SART", "DART")
    assert "shepp-logan" in typing.get_args(etspy.FbpMethodType)
    assert am.PC in typing.get_args(etspy.AlignmentMethodType)[0]
    # an enum member works wherever a method name does, and the history stays plain Python
    by_enum = stack.stack_register(am.PC)
    by_name = stack.stack_register("PC")
    np.testing.assert_array_equal(by_enum.shift_values, by_name.shift_values)
    np.testing.assert_array_equal(by_enum.data, by_name.data)
    assert by_enum.history == by_name.history
    com = stack.stack_register(am.COM)
    np.testing.assert_array_equal(com.shift_values, stack.stack_register("COM").shift_values)


# -- TomoStack.shift_and_tilt_setter ---------------------------------------------------------
def test_shift_and_tilt_setter_builds_without_storing(stack):
    before = stack.tilt_values
    tilts = stack.shift_and_tilt_setter("tilts", np.arange(9.0))
    assert type(tilts) is type(stack.tilts)
    np.testing.assert_array_equal(tilts.data[:, 0], np.arange(9.0))
    np.testing.assert_array_equal(stack.tilt_values, before)  # not stored, as in ETSpy
    zeros = stack.shift_and_tilt_setter("shifts", None)
    assert zeros.data.shape == (9, 2) and not zeros.data.any()
    stack.shifts = stack.shift_and_tilt_setter("shifts", np.ones((9, 2)))
    np.testing.assert_array_equal(stack.shift_values, np.ones((9, 2)))
    with pytest.raises(MismatchedTiltError):
        stack.shift_and_tilt_setter("tilts", np.arange(4.0))
    with pytest.raises(ValueError, match="mode"):
        stack.shift_and_tilt_setter("angles", None)


# -- CommonStack verbs on RecStack (shared with TomoStack) -----------------------------------
def test_recstack_common_verbs(volume, tmp_path, capsys):
    vol = np.asarray(volume.data)
    inv = volume.invert()
    assert isinstance(inv, RecStack)
    np.testing.assert_allclose(inv.data, vol.max() + vol.min() - vol)  # whole volume
    norm = volume.normalize(width=2)
    np.testing.assert_allclose(norm.data, (vol - vol.min()) / (vol.mean() + 2 * vol.std()),
                               rtol=1e-5)
    assert volume.stats() == pytest.approx({"mean": vol.mean(), "std": vol.std(),
                                            "max": vol.max(), "min": vol.min()}, rel=1e-5)
    assert "Mean:" in capsys.readouterr().out
    path = volume.save_raw(tmp_path / "vol")
    assert path.name == "vol_6x16x16_float32.rpl"
    back = hs.load(path)
    np.testing.assert_array_equal(back.data, vol)
    copy = volume.deepcopy()
    copy.change_data_type("float64")
    assert isinstance(copy, RecStack) and copy.data.dtype == np.float64
    # trans_stack: every (z, y) slice transformed like a projection of a tilt series, the
    # volume's metadata.Tomography (the source series' alignment) left alone
    moved = volume.trans_stack(xshift=2, yshift=1, angle=0)
    as_series = TomoStack(vol).trans_stack(xshift=2, yshift=1, angle=0)
    np.testing.assert_allclose(moved.data, as_series.data)
    np.testing.assert_allclose(moved.data[:, 5:, 4:], vol[:, 4:-1, 2:-2])
    assert moved.metadata.Tomography.yshift == 0 and moved.metadata.Tomography.tiltaxis == 0
    assert as_series.metadata.Tomography.yshift == 1
    assert moved.history[-1] == "rec = rec.trans_stack(xshift=2, yshift=1, angle=0)"


def test_tomostack_common_verbs_unchanged(stack):
    data = np.asarray(stack.data)
    hi = data.max(axis=(1, 2), keepdims=True)
    lo = data.min(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(stack.invert().data, hi + lo - data)  # per projection
    moved = stack.trans_stack(yshift=1.5, angle=2)
    assert moved.metadata.Tomography.yshift == pytest.approx(1.5)
    assert moved.metadata.Tomography.tiltaxis == pytest.approx(2)


def test_recstack_plot_3d(volume):
    import matplotlib.pyplot as plt

    fig = volume.plot_3d(vmin_std=0.5, vmax_std=3, figsize=(9, 3))
    assert tuple(fig.get_size_inches()) == (9, 3) and len(fig.axes) == 3
    plt.close(fig)


# -- etspy.align functions --------------------------------------------------------------------
def test_align_functions(stack):
    shifts = np.column_stack([np.linspace(-2, 2, 9), np.linspace(1, -1, 9)])
    out = etspy.align.apply_shifts(stack, shifts)
    ref = stack.apply_shifts(shifts)
    np.testing.assert_array_equal(out.data, ref.data)
    np.testing.assert_array_equal(out.shift_values, shifts)
    interp = etspy.align.apply_shifts(stack, out.shifts, "interp", order=1)
    np.testing.assert_allclose(interp.shift_values, shifts)
    with pytest.raises(InvalidDataError):
        etspy.align.apply_shifts(stack, shifts[:4])
    crop = etspy.align.shift_crop(out)
    assert crop.data.shape == out.shift_crop().data.shape and crop.metadata.Tomography.cropped
    other = stack.deepcopy()
    other.data = 2 * np.asarray(other.data)
    aligned = etspy.align.align_to_other(crop, other)
    np.testing.assert_allclose(aligned.data, 2 * np.asarray(crop.data), rtol=1e-4, atol=1e-4)

    best = etspy.align.get_best_slices(stack, 4)
    np.testing.assert_array_equal(best, _register.best_slices(np.asarray(stack.data,
                                                                          np.float64), 4))
    assert best.size == 4
    coms = etspy.align.get_coms(stack, best)
    assert coms.shape == (9, 4)
    cols = np.asarray(stack.data, np.float64)[:, :, best]
    rows = np.arange(24)[None, :, None]
    np.testing.assert_allclose(coms, (cols * rows).sum(1) / cols.sum(1) - 11.5)
    # the block spans rows 8..15, centred on the image centre (row 11.5), up to the noise
    np.testing.assert_allclose(coms, 0, atol=0.2)
    clean = TomoStack(np.where(np.asarray(stack.data) > 0.5, 1.0, 0.0), tilts=stack.tilts)
    np.testing.assert_allclose(etspy.align.get_coms(clean, best), 0, atol=1e-12)
    shifted = clean.apply_shifts(np.tile([3.0, 0.0], (9, 1)), "interp")
    np.testing.assert_allclose(etspy.align.get_coms(shifted, best), 3.0, atol=1e-6)


# -- etspy.recon functions ------------------------------------------------------------------
def test_recon_run_matches_reconstruct(stack):
    tilts = stack.tilts.data  # (n, 1), as ETSpy's users pass it
    rec = etspy.recon.run(np.asarray(stack.data), tilts, "SIRT", niterations=5,
                          show_progressbar=False)
    ref = stack.reconstruct("SIRT", iterations=5, show_progressbar=False)
    assert rec.shape == (20, 24, 24) and rec.dtype == np.float32
    np.testing.assert_allclose(rec, ref.data, rtol=1e-5, atol=1e-6)
    one = etspy.recon.run(np.asarray(stack.data)[:, :, 10], tilts, "FBP",
                          show_progressbar=False)
    fbp = stack.reconstruct("FBP", show_progressbar=False)
    np.testing.assert_allclose(one[0], fbp.data[10], rtol=1e-4, atol=1e-5)


def test_astra_error_matches_recon_error(stack):
    sino = np.asarray(stack.data)[:, :, 10]
    rec, err = etspy.recon.astra_error(sino, stack.tilt_values, "SIRT", iterations=4)
    images, error = stack.recon_error(10, "SIRT", iterations=4)
    assert rec.shape == (4, 24, 24) and err.shape == (4,)
    np.testing.assert_allclose(rec, images.data)
    np.testing.assert_allclose(err, error.data)
    assert err[-1] < err[0]
    with pytest.raises(InvalidDataError):
        etspy.recon.astra_error(np.asarray(stack.data), stack.tilt_values)
    with pytest.raises(MismatchedTiltError):
        etspy.recon.astra_error(sino, stack.tilt_values[:5])


def test_dart_segment_and_boundaries():
    rec = np.array([[0.1, 0.4, 0.9], [0.2, 0.6, 0.8], [0.0, 0.3, 0.7]])
    seg = etspy.recon.dart_segment(rec, [0.25, 0.75], [0, 128, 255])
    np.testing.assert_array_equal(seg, [[0, 128, 255], [0, 128, 255], [0, 128, 128]])
    flat = np.zeros((6, 6))
    flat[2:4, 2:4] = 1
    bnd = etspy.recon.get_dart_boundaries(flat)
    expect = np.zeros((6, 6), bool)
    expect[1:5, 1:5] = True
    np.testing.assert_array_equal(bnd, expect)
    assert not etspy.recon.get_dart_boundaries(np.ones((4, 4))).any()  # edges are not
    # the DART class uses the same two functions
    proj = get_projector(np.linspace(-60, 60, 7), 6, 6, "sparse")
    dart = DART(proj, np.zeros((7 * 6, 1), np.float32), gray_levels=[0, 1, 2])
    x = np.linspace(0, 2, 36).astype(np.float32)
    np.testing.assert_array_equal(dart.segment(x),
                                  etspy.recon.dart_segment(x, [0.5, 1.5], [0, 1, 2]))


# -- etspy.io functions on ETSpy's test data -----------------------------------------------
def test_load_serialem(data_dir):
    folder = data_dir / "SerialEM_MultiTilt_Test"
    stack = etspy.io.load_serialem(folder / "test_000.mrc", folder / "test_000.mdoc")
    ref = etspy.load(folder / "test_000.mrc", mdocs=[folder / "test_000.mdoc"])
    assert isinstance(stack, TomoStack) and stack.data.shape == (2, 1024, 1024)
    np.testing.assert_array_equal(stack.data, ref.data)
    np.testing.assert_array_equal(stack.tilt_values, ref.tilt_values)
    assert stack.metadata.Acquisition_instrument.TEM.magnification == 115000


def test_load_serialem_series(data_dir):
    folder = data_dir / "SerialEM_Multiframe_Test"
    mrcs = sorted(folder.glob("test_00?.mrc"))
    mdocs = sorted(folder.glob("test_00?.mrc.mdoc"))
    stack, tilts = etspy.io.load_serialem_series(mrcs, mdocs)
    assert stack.data.shape == (3, 2, 1024, 1024)
    assert [ax.name for ax in stack.axes_manager.navigation_axes] == ["Frames", "Projections"]
    assert tilts.shape == (3, 2)
    np.testing.assert_allclose(tilts[:, 0], [-5.00151, -0.000488, 5.00054])
    np.testing.assert_array_equal(tilts[:, 1], tilts[:, 0])


def test_get_mrc_and_dm_tilts(data_dir):
    path = data_dir / "HAADF.mrc"
    sig = hs.load(path)
    np.testing.assert_array_equal(etspy.io.get_mrc_tilts(sig, path), np.arange(-76, 77, 2))
    serialem = data_dir / "SerialEM_MultiTilt_Test" / "test_000.mrc"
    # SerialEM's header tilts of this file are 0 (the .mdoc says -0.000488)
    np.testing.assert_array_equal(etspy.io.get_mrc_tilts(hs.load(serialem), serialem), [0, 0])
    dm = hs.load(data_dir / "HAADF.dm3")
    tilts = etspy.io.get_dm_tilts(dm)
    np.testing.assert_array_equal(tilts, np.arange(-90, 91, 2))
    np.testing.assert_array_equal(tilts, etspy.load(data_dir / "HAADF.dm3").tilt_values)
    with pytest.raises(ValueError, match="DM tomography tags"):
        etspy.io.get_dm_tilts(hs.signals.Signal2D(np.zeros((3, 4, 4))))


def test_parse_mrc_header(data_dir):
    header = etspy.io.parse_mrc_header(data_dir / "HAADF.mrc")
    assert (header["nx"], header["ny"], header["nz"], header["mode"]) == (256, 256, 77, 1)
    assert header["nextra"] == 131072 and header["ext_header"].size == 65536
    seri = etspy.io.parse_mrc_header(data_dir / "SerialEM_MultiTilt_Test" / "test_000.mrc")
    assert (seri["ext_type"], seri["nint"], seri["nreal"]) == ("SERI", 14, 61)
    # ETSpy's reading of the SerialEM tilts: every 7th short / 100
    ext = seri["ext_header"]
    np.testing.assert_array_equal(ext[: 7 * seri["nz"]: 7] / 100, [0, 0])
    np.testing.assert_array_equal(ext[:4], [0, -400, -214, 1150])
