"""load(): the real files of ETSpy's test data, SerialEM/IMOD sidecars, round trips, bad input."""

from __future__ import annotations

import logging
import os
import random

import hyperspy.api as hs
import mrcfile
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import InvalidDataError, MismatchedTiltError, TomoFileError, TomoStack
from etspy_widgets.engine.io import MissingFileError, parse_mdoc, read_mrc_header

NEEDLE_TILTS = np.arange(-76, 77, 2)


def link(src, dst):
    """Put a real data file under another name/folder without copying it."""
    os.symlink(src, dst)
    return dst


def write_mrc(path, data, voxel_size=1.0):
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = voxel_size
    return path


# -- MRC ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["HAADF.mrc", "HAADF.ali"])
def test_needle_mrc_shapes_dtype_calibration_tilts(data_dir, name):
    stack = etw.load(data_dir / name)
    raw = hs.load(data_dir / name)
    assert isinstance(stack, TomoStack)
    assert stack.data.shape == (77, 256, 256)
    assert stack.data.dtype == np.int16  # not cast to float32
    np.testing.assert_array_equal(stack.data, raw.data)  # nor offset
    for axis in ("x", "y"):
        assert stack.axes_manager[axis].scale == pytest.approx(3.36)
        assert stack.axes_manager[axis].units == "nm"
    np.testing.assert_array_equal(stack.tilt_values, NEEDLE_TILTS)
    assert stack.tilt_values.size == 77  # -76..76 in steps of 2: not one short
    assert np.all(stack.shift_values == 0)
    nav = stack.axes_manager[0]
    assert (nav.name, nav.units, nav.offset, nav.scale) == ("Projections", "degrees", -76, 2)


def test_given_tilts_are_honoured(data_dir):
    mine = np.linspace(-70, 70, 77)
    stack = etw.load(data_dir / "HAADF.mrc", tilts=mine)
    np.testing.assert_allclose(stack.tilt_values, mine)
    with pytest.raises(MismatchedTiltError, match="77 projections"):
        etw.load(data_dir / "HAADF.mrc", tilts=mine[:-1])


def test_fei_header_tilts_without_sidecar(data_dir, tmp_path):
    path = link(data_dir / "HAADF.mrc", tmp_path / "needle.mrc")
    np.testing.assert_array_equal(etw.load(path).tilt_values, NEEDLE_TILTS)


def test_sidecar_with_wrong_count_is_named(data_dir, tmp_path):
    path = link(data_dir / "HAADF.mrc", tmp_path / "needle.mrc")
    (tmp_path / "needle.rawtlt").write_text("-10\n0\n10\n")
    with pytest.raises(MismatchedTiltError, match=r"needle\.rawtlt.*3 tilt values"):
        etw.load(path)
    (tmp_path / "needle.rawtlt").write_text("-10\nzero\n")
    with pytest.raises(TomoFileError, match="line 2"):
        etw.load(path)


def test_ali_prefers_imod_refined_tlt(data_dir, tmp_path):
    path = link(data_dir / "HAADF.ali", tmp_path / "needle.ali")
    refined = NEEDLE_TILTS + 0.25
    (tmp_path / "needle.rawtlt").write_text("\n".join(map(str, NEEDLE_TILTS)))
    (tmp_path / "needle.tlt").write_text("\n".join(map(str, refined)))
    np.testing.assert_allclose(etw.load(path).tilt_values, refined)


def test_mrc_without_any_tilts_loads_with_zeros_and_warns(tmp_path, caplog):
    data = np.arange(3 * 8 * 10, dtype=np.float32).reshape(3, 8, 10) - 50
    path = write_mrc(tmp_path / "plain.mrc", data)
    with caplog.at_level(logging.WARNING):
        stack = etw.load(path)
    assert "No tilt angles found" in caplog.text and "plain.mrc" in caplog.text
    assert np.all(stack.tilt_values == 0)
    np.testing.assert_array_equal(stack.data, data)  # negative values kept, no offset
    assert stack.data.dtype == np.float32
    stack = etw.load(path, tilts=[-5, 0, 5])
    np.testing.assert_array_equal(stack.tilt_values, [-5, 0, 5])


def test_single_image_mrc_is_a_one_projection_series(tmp_path):
    path = write_mrc(tmp_path / "one.mrc", np.ones((8, 10), dtype=np.float32))
    stack = etw.load(path, tilts=[12.5])
    assert stack.data.shape == (1, 8, 10)
    np.testing.assert_array_equal(stack.tilt_values, [12.5])


def test_mdoc_gives_every_sections_tilt(tmp_path):
    data = np.random.default_rng(0).integers(0, 1000, size=(3, 16, 16)).astype(np.int16)
    path = write_mrc(tmp_path / "series.mrc", data)
    sections = "".join(
        f"[ZValue = {k}]\nTiltAngle = {t}\nMagnification = 50000\n\n"
        for k, t in enumerate([-30.5, 0.25, 29.75]))
    (tmp_path / "series.mrc.mdoc").write_text(
        "PixelSpacing = 5.0\nVoltage = 200\nImageFile = series.mrc\n\n"
        "[T = SerialEM: test]\n\n" + sections)
    stack = etw.load(path)
    np.testing.assert_array_equal(stack.tilt_values, [-30.5, 0.25, 29.75])
    assert stack.metadata.Acquisition_instrument.TEM.beam_energy == 200
    assert stack.metadata.Acquisition_instrument.TEM.magnification == 50000
    assert stack.data.dtype == np.int16


def test_serialem_multi_tilt_single_file(data_dir):
    stack = etw.load(data_dir / "SerialEM_MultiTilt_Test" / "test_000.mrc")
    assert stack.data.shape == (2, 1024, 1024)
    assert stack.data.dtype == np.int16
    np.testing.assert_allclose(stack.tilt_values, [-0.000488, -0.000488])  # from the .mdoc
    assert stack.axes_manager["x"].units == "nm"
    assert stack.axes_manager["x"].scale == pytest.approx(0.788)  # 7.88 Å
    assert stack.metadata.Acquisition_instrument.TEM.beam_energy == 300
    mdoc = parse_mdoc(data_dir / "SerialEM_MultiTilt_Test" / "test_000.mdoc")
    assert mdoc.header["Voltage"] == 300 and len(mdoc.sections) == 2


def test_serialem_extended_header_tilt_without_mdoc(data_dir, tmp_path):
    path = link(data_dir / "SerialEM_Multiframe_Test" / "test_001.mrc", tmp_path / "t.mrc")
    header = read_mrc_header(path)
    assert (header.exttyp, header.nint, header.nz) == ("SERI", 14, 2)
    np.testing.assert_allclose(etw.load(path).tilt_values, [5.0, 5.0])  # 500 / 100


@pytest.mark.parametrize("mdoc_style", [None, ".mdoc", ".mrc.mdoc"])
def test_serialem_multiframe_series(data_dir, mdoc_style):
    folder = data_dir / "SerialEM_Multiframe_Test"
    files = sorted(folder.glob("*.mrc"))
    random.Random(1).shuffle(files)
    mdocs = None if mdoc_style is None else [
        f.with_suffix(".mdoc") if mdoc_style == ".mdoc" else f.with_name(f.name + ".mdoc")
        for f in files]
    stack = etw.load([str(f) for f in files], mdocs=mdocs)
    assert isinstance(stack, TomoStack)
    assert stack.data.shape == (3, 2, 1024, 1024)
    assert stack.axes_manager.navigation_shape == (2, 3)
    names = [ax.name for ax in stack.axes_manager.navigation_axes]
    assert names == ["Frames", "Projections"]
    assert stack.axes_manager["Projections"].units == "degrees"
    assert stack.tilts.data.shape == (3, 2, 1)
    expected = np.array([-5.00151, -0.000488, 5.00054])
    np.testing.assert_allclose(stack.tilts.data[:, :, 0], np.repeat(expected[:, None], 2, 1))
    assert stack.shifts.data.shape == (3, 2, 2) and np.all(stack.shifts.data == 0)
    # sorted by tilt: the -5° file comes first
    np.testing.assert_array_equal(stack.data[0], hs.load(folder / "test_002.mrc").data)


# -- DigitalMicrograph ------------------------------------------------------------------------
def test_dm3_stack(data_dir):
    stack = etw.load(data_dir / "HAADF.dm3")
    raw = hs.load(data_dir / "HAADF.dm3")
    assert stack.data.shape == (91, 64, 64)
    assert stack.data.dtype == raw.data.dtype  # uint16 kept
    np.testing.assert_array_equal(stack.data, raw.data)
    np.testing.assert_array_equal(stack.tilt_values, np.arange(-90, 91, 2))
    assert stack.axes_manager[0].name == "Projections"
    assert stack.axes_manager[0].units == "degrees"
    for k in (1, 2):
        assert stack.axes_manager[k].scale == raw.axes_manager[k].scale
        assert stack.axes_manager[k].units == raw.axes_manager[k].units


def test_dm_series_sorted_by_stage_tilt(data_dir):
    files = sorted((data_dir / "DM_Series_Test").glob("*.dm3"))
    stack = etw.load([files[2], files[0], files[1]])
    np.testing.assert_allclose(stack.tilt_values, [-72, -69, -66], atol=0.01)
    assert stack.data.shape == (3, 128, 128)
    for k, f in enumerate(files):
        np.testing.assert_array_equal(stack.data[k], hs.load(f).data)
    assert stack.axes_manager[0].scale == pytest.approx(3, abs=0.1)
    assert stack.axes_manager["x"].scale == hs.load(files[0]).axes_manager["x"].scale
    with pytest.raises(MismatchedTiltError):
        etw.load(files, tilts=[0, 1])


# -- HyperSpy files ---------------------------------------------------------------------------
def test_etspy_written_hspy_keeps_tilts_and_shifts(data_dir):
    stack = etw.load(data_dir / "HAADF_Aligned.hspy")
    assert isinstance(stack, TomoStack)
    np.testing.assert_array_equal(stack.tilt_values, NEEDLE_TILTS)
    shifts = stack.shift_values
    assert shifts.shape == (77, 2) and np.all(shifts[1:] != 0)
    raw = hs.load(data_dir / "HAADF_Aligned.hspy")
    np.testing.assert_array_equal(shifts, raw.metadata.Tomography.shifts.data)
    assert stack.metadata.Tomography.tiltaxis == pytest.approx(-2.7933, abs=1e-4)
    assert stack.axes_manager["y"].scale == pytest.approx(3.36)


def test_etspy_catalyst_file(data_dir):
    stack = etw.load(data_dir / "Catalyst3DModel_TiltSeries180.hspy")
    assert stack.data.shape == (90, 600, 600) and stack.data.dtype == np.float32
    np.testing.assert_array_equal(stack.tilt_values, np.arange(0, 180, 2))


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_round_trip_load_slice_remove_save_load(data_dir, tmp_path, ext):
    stack = etw.load(data_dir / "HAADF.mrc")
    part = stack.inav[10:40].remove_projections([0, 5, -1])
    part.shifts = np.column_stack([np.arange(27) * 0.5, -np.arange(27) * 0.25])
    part.metadata.General.title = "needle part"
    part.metadata.Tomography.tiltaxis = 1.5
    path = part.save(tmp_path / f"part.{ext}")
    back = etw.load(path)
    assert isinstance(back, TomoStack)
    assert back.data.dtype == np.int16
    np.testing.assert_array_equal(back.data, part.data)
    expected_tilts = np.delete(NEEDLE_TILTS[10:40], [0, 5, 29])
    np.testing.assert_array_equal(back.tilt_values, expected_tilts)
    np.testing.assert_array_equal(back.shift_values, part.shift_values)
    assert back.metadata.General.title == "needle part"
    assert back.metadata.Tomography.tiltaxis == 1.5
    assert back.axes_manager["x"].scale == pytest.approx(3.36)
    override = etw.load(path, tilts=np.zeros(27))
    assert np.all(override.tilt_values == 0)


# -- arrays and signals ---------------------------------------------------------------------
def test_numpy_and_signal_inputs():
    data = np.ones((4, 6, 5), dtype=np.uint8)
    stack = etw.load(data, tilts=[-3, -1, 1, 3])
    assert stack.data.dtype == np.uint8
    np.testing.assert_array_equal(stack.tilt_values, [-3, -1, 1, 3])
    sig = hs.signals.Signal2D(np.zeros((4, 6, 5)))
    sig.axes_manager[1].scale = 2.5
    stack = etw.load(sig)
    assert isinstance(stack, TomoStack) and stack.axes_manager[1].scale == 2.5
    with pytest.raises(MismatchedTiltError):
        etw.load(data, tilts=[0, 1])


# -- bad input ----------------------------------------------------------------------------------
def test_truncated_mrc(tmp_path):
    full = write_mrc(tmp_path / "full.mrc", np.zeros((4, 32, 32), dtype=np.float32))
    cut = tmp_path / "cut.mrc"
    cut.write_bytes(full.read_bytes()[:-1000])
    with pytest.raises(TomoFileError, match="truncated"):
        etw.load(cut)
    tiny = tmp_path / "tiny.mrc"
    tiny.write_bytes(b"\x00" * 100)
    with pytest.raises(TomoFileError, match="shorter than an MRC header"):
        etw.load(tiny)


def test_non_mrc_named_mrc(tmp_path):
    fake = tmp_path / "notes.mrc"
    fake.write_text("this is a text file, not an image\n" * 100)
    with pytest.raises(TomoFileError, match="not an MRC file"):
        etw.load(fake)


@pytest.mark.filterwarnings("ignore:Data array contains NaN")
def test_nan_data_raise_invalid_data(tmp_path):
    data = np.ones((3, 8, 8), dtype=np.float32)
    data[1, 2, 3] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        etw.load(data)
    with pytest.raises(InvalidDataError, match="NaN"):
        etw.load(write_mrc(tmp_path / "nan.mrc", data), tilts=[0, 1, 2])


def test_bad_arguments(tmp_path, data_dir):
    with pytest.raises(ValueError, match="empty list"):
        etw.load([])
    unknown = tmp_path / "series.xyz"
    unknown.write_text("?")
    with pytest.raises(TomoFileError, match=r"Unknown file type '\.xyz'.*\.mrc"):
        etw.load(unknown)
    with pytest.raises(MissingFileError, match="No such file"):
        etw.load(tmp_path / "missing.mrc")
    with pytest.raises(FileNotFoundError):
        etw.load(tmp_path / "missing.mrc")
    with pytest.raises(TomoFileError, match="mix formats"):
        etw.load([data_dir / "HAADF.mrc", data_dir / "HAADF.dm3"])
    with pytest.raises(TypeError):
        etw.load(42)
    with pytest.raises(ValueError, match="lazy"):
        etw.load([data_dir / "HAADF.mrc"], lazy=True)


def test_lazy_load_reads_chunks_and_keeps_tilts(data_dir):
    from etspy_widgets.engine.signals import LazyRecStack, LazyTomoStack

    eager = etw.load(data_dir / "HAADF.mrc")
    lazy = etw.load(data_dir / "HAADF.mrc", lazy=True)
    assert isinstance(lazy, LazyTomoStack)
    assert not isinstance(lazy.data, np.ndarray)
    np.testing.assert_array_equal(lazy.tilt_values, eager.tilt_values)
    assert lazy.axes_manager.signal_axes[0].scale == eager.axes_manager.signal_axes[0].scale
    part = lazy.inav[10:20]
    assert isinstance(part, LazyTomoStack)
    np.testing.assert_array_equal(part.tilt_values, eager.tilt_values[10:20])
    np.testing.assert_array_equal(np.asarray(part.data), eager.data[10:20])
    rec = lazy.isig[:, 120:136].reconstruct("FBP", show_progressbar=False, chunk_size=100)
    assert isinstance(rec, LazyRecStack) and rec.data.numblocks[0] == 3
    expected = eager.isig[:, 120:136].reconstruct("FBP", show_progressbar=False)
    np.testing.assert_array_equal(np.asarray(rec.data), expected.data)
    # the same steps; the lazy load records lazy=True and the chunking it was asked for
    assert rec.history[0] == expected.history[0].replace("')", "', lazy=True)", 1)
    assert rec.history[1:-1] == expected.history[1:-1]
    assert rec.history[-1] == expected.history[-1].replace(")", ", chunk_size=100)")
