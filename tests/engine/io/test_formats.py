"""Readers of the microscopes' and other tools' files: Velox and tomviz EMD, TIA, TIFF stacks and
folders, EMD Berkeley and ZSPY (written by RosettaSciIO), OME-Zarr (written by ome-zarr-py),
SerialEM .mdoc order and tilt-axis angle.

Where a real writer exists on this machine (HyperSpy/RosettaSciIO for EMD Berkeley, TIFF,
ZSPY; ``ome-zarr`` for OME-Zarr) it writes the fixture. Velox and TIA have no writer here:
their fixtures are built from the published layouts (Velox EMD: the HDF5 layout RosettaSciIO's
``FeiEMDReader`` reads, ``rsciio/emd/_emd_velox.py``; TIA ``.ser``: the series-file layout
RosettaSciIO's ``tia/_api.py`` reads, after C. Boothroyd's description) and read back with
RosettaSciIO's own reader (``hyperspy.api.load``) as the cross-check.
"""

from __future__ import annotations

import json
import struct

import h5py
import hyperspy.api as hs
import mrcfile
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.engine.errors import TomoFileError
from etspy_widgets.engine.signals import RecStack, TomoStack

RNG = np.random.default_rng(7)


def _images(n=5, ny=12, nx=16, dtype=np.float32):
    return (RNG.random((n, ny, nx)) * 100).astype(dtype)


# -- Velox EMD ---------------------------------------------------------------------------
def _velox_metadata(alpha_deg: float, nbytes: int = 4096, detector: int = 0) -> np.ndarray:
    meta = {
        "BinaryResult": {"PixelSize": {"width": "2e-10", "height": "2e-10"},
                         "PixelUnitX": "m", "PixelUnitY": "m",
                         "Offset": {"x": "0", "y": "0"}, "DetectorIndex": str(detector)},
        "Detectors": {"Detector-0": {"DetectorName": "HAADF", "DetectorType": "ScanningDetector"},
                      "Detector-1": {"DetectorName": "DF4", "DetectorType": "ScanningDetector"}},
        "Scan": {"FrameTime": "1.5"},
        "Stage": {"AlphaTilt": repr(float(np.deg2rad(alpha_deg))), "BetaTilt": "0"},
        "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1600000000"}},
        "Optics": {"AccelerationVoltage": "300000"},
    }
    raw = json.dumps(meta).encode("utf-8")
    out = np.zeros(nbytes, dtype=np.uint8)
    out[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return out


def write_velox(path, frames, tilts_deg, detectors=1):
    """A Velox EMD image series: ``/Data/Image/<uuid>/Data`` ``(ny, nx, n)`` and ``Metadata``
    ``(bytes, n)`` (one JSON document per frame), ``/Version`` naming the format Velox; one
    image group per detector (the second holds the frames negated)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("Version", data=np.array([json.dumps(
            {"format": "Velox", "version": "11"}).encode()]))
        for det in range(detectors):
            group = f.create_group(f"Data/Image/0123456789abcde{det}")
            group.create_dataset("Data", data=np.moveaxis(frames if det == 0 else -frames, 0, -1),
                                 chunks=(frames.shape[1], frames.shape[2], 1))
            group.create_dataset("Metadata", data=np.stack(
                [_velox_metadata(t, detector=det) for t in tilts_deg], axis=1))


def test_velox_tilt_series_tilts_from_each_frame(tmp_path):
    frames = _images(5)
    tilts = np.array([-40.0, -20.0, 0.0, 20.5, 40.0])
    path = tmp_path / "series.emd"
    write_velox(path, frames, tilts)
    ref = hs.load(path)  # RosettaSciIO's own Velox reader: the cross-check of the fixture
    np.testing.assert_array_equal(ref.data, frames)
    assert ref.metadata.Acquisition_instrument.TEM.Stage.tilt_alpha == pytest.approx(-40.0)
    stack = etw.load(path)
    assert isinstance(stack, TomoStack)
    np.testing.assert_array_equal(stack.data, frames)
    np.testing.assert_allclose(stack.tilt_values, tilts, atol=1e-9)  # not only the first
    assert stack.axes_manager.signal_axes[0].scale == pytest.approx(0.2)  # nm, from RSciIO
    assert stack.metadata.General.FileIO["0"]["io_plugin"] == "rsciio.emd"
    lazy = etw.load(path, lazy=True)
    assert lazy._lazy
    np.testing.assert_allclose(lazy.tilt_values, tilts, atol=1e-9)
    np.testing.assert_array_equal(lazy.data.compute(), frames)


def test_velox_two_detectors_pick_one(tmp_path):
    frames = _images(3)
    path = tmp_path / "two.emd"
    write_velox(path, frames, [-10.0, 0.0, 10.0], detectors=2)
    assert sorted(s.metadata.General.title for s in hs.load(path)) == ["DF4", "HAADF"]
    with pytest.raises(TomoFileError, match="detector="):
        etw.load(path)
    df4 = etw.load(path, detector="DF4")
    np.testing.assert_array_equal(df4.data, -frames)
    np.testing.assert_allclose(df4.tilt_values, [-10, 0, 10], atol=1e-9)


def test_velox_single_frames_folder_sorted_by_stage_tilt(tmp_path):
    frames = _images(3)
    tilts = [30.0, -30.0, 0.0]
    for k, (img, t) in enumerate(zip(frames, tilts, strict=True)):
        write_velox(tmp_path / f"frame_{k:02d}.emd", img[None], [t])
    stack = etw.load(tmp_path)
    np.testing.assert_allclose(stack.tilt_values, [-30.0, 0.0, 30.0])
    np.testing.assert_array_equal(stack.data, frames[[1, 2, 0]])


# -- TIA .ser ------------------------------------------------------------------------------
def write_ser(path, frames, delta=1e-9):
    """A TIA series file of 2D images (SeriesVersion 0x210, DataTypeID 0x4122, TagTypeID 0x4152):
    header, one dimension array (the series), the data and tag offset arrays, then each
    element (calibration, DataType, ArraySizeX/Y, pixels) followed by its time tag."""
    n, ny, nx = frames.shape
    desc, units = b"Number", b""
    head = struct.pack("<HHHIIII", 0x4949, 0x0197, 0x0210, 0x4122, 0x4152, n, n)
    dim = struct.pack("<IddII", n, 0.0, 1.0, 0, len(desc)) + desc + struct.pack("<I", len(units))
    offsets_at = len(head) + 8 + len(dim)
    first = offsets_at + 8 * n
    elem = 8 + 8 + 4 + 8 + 8 + 4 + 2 + 4 + 4 + nx * ny * 4
    tag = 2 + 2 + 4
    data_offsets = [first + k * (elem + tag) for k in range(n)]
    tag_offsets = [o + elem for o in data_offsets]
    with open(path, "wb") as f:
        f.write(head + struct.pack("<II", offsets_at, 1) + dim)
        f.write(struct.pack(f"<{n}I", *data_offsets) + struct.pack(f"<{n}I", *tag_offsets))
        for img in frames:
            f.write(struct.pack("<ddIddIHII", 0.0, delta, 0, 0.0, delta, 0, 7, nx, ny))
            f.write(np.ascontiguousarray(img.T, dtype="<f4").tobytes())  # TIA: x fastest
            f.write(struct.pack("<HHI", 0x4152, 0, 0))


def test_tia_ser_series_read_by_rosettasciio(tmp_path):
    frames = _images(4, 10, 14)
    path = tmp_path / "series_1.ser"
    write_ser(path, frames)
    ref = hs.load(path)  # RosettaSciIO's TIA reader on the fixture built from the layout
    assert ref.data.shape == frames.shape
    (tmp_path / "series_1.rawtlt").write_text("-30\n-10\n10\n30\n")
    stack = etw.load(path)
    np.testing.assert_array_equal(stack.data, ref.data)
    np.testing.assert_allclose(stack.tilt_values, [-30, -10, 10, 30])


def test_tia_not_a_ser_file(tmp_path):
    bad = tmp_path / "bad.ser"
    bad.write_bytes(b"not a TIA file at all" * 4)
    with pytest.raises(TomoFileError):
        etw.load(bad)


# -- TIFF -----------------------------------------------------------------------------------
def test_tiff_stack_written_by_hyperspy_with_csv_tilts(tmp_path):
    frames = _images(4)
    hs.signals.Signal2D(frames).save(tmp_path / "stack.tif")  # RosettaSciIO's TIFF writer
    (tmp_path / "stack.csv").write_text("-45.0\n-15.0\n15.0\n45.0\n")
    stack = etw.load(tmp_path / "stack.tif")
    np.testing.assert_array_equal(stack.data, frames)
    np.testing.assert_allclose(stack.tilt_values, [-45, -15, 15, 45])


def test_tiff_written_through_hyperspy_from_our_save(tmp_path):
    stack = TomoStack(_images(3), tilts=[-20, 0, 20])
    stack.save(tmp_path / "ours.tif")  # not one of our formats: HyperSpy/RosettaSciIO writes it
    (tmp_path / "ours.tlt").write_text("-20\n0\n20\n")
    back = etw.load(tmp_path / "ours.tif")
    np.testing.assert_array_equal(back.data, stack.data)
    np.testing.assert_allclose(back.tilt_values, [-20, 0, 20])


def test_tiff_folder_tilts_from_names_natural_order(tmp_path):
    frames = _images(4)
    tilts = [-60.0, -5.0, 10.0, 60.0]
    for img, t in zip(frames, tilts, strict=True):
        hs.signals.Signal2D(img).save(tmp_path / f"tilt_{t:+.1f}.tif")
    stack = etw.load(tmp_path)
    np.testing.assert_allclose(stack.tilt_values, tilts)
    np.testing.assert_array_equal(stack.data, frames)


def test_tiff_folder_natural_order_and_folder_tilt_file(tmp_path):
    frames = _images(11)
    for k, img in enumerate(frames):  # img_1 ... img_11: natural order is not text order
        hs.signals.Signal2D(img).save(tmp_path / f"img_{k + 1}.tif")
    (tmp_path / "angles.rawtlt").write_text("".join(f"{-50 + 10 * k}\n" for k in range(11)))
    stack = etw.load(tmp_path)
    np.testing.assert_allclose(stack.tilt_values, np.arange(-50, 60, 10))
    np.testing.assert_array_equal(stack.data, frames)


def test_tiff_folder_without_tilts_says_how(tmp_path):
    for k, img in enumerate(_images(2)):
        hs.signals.Signal2D(img).save(tmp_path / f"img_{k}.tif")
    with pytest.raises(TomoFileError, match="tilts="):
        etw.load(tmp_path)


# -- EMD Berkeley, ZSPY (RosettaSciIO's writers) --------------------------------------------
def test_emd_berkeley_written_by_rosettasciio_degree_axis(tmp_path):
    frames = _images(5)
    sig = hs.signals.Signal2D(frames)
    nav = sig.axes_manager.navigation_axes[0]
    nav.name, nav.units, nav.offset, nav.scale = "angles", "deg", -40.0, 20.0
    sig.save(tmp_path / "berkeley.emd")
    stack = etw.load(tmp_path / "berkeley.emd")
    np.testing.assert_array_equal(stack.data, frames)
    np.testing.assert_allclose(stack.tilt_values, [-40, -20, 0, 20, 40])


def test_zspy_written_by_rosettasciio(tmp_path):
    frames = _images(3)
    hs.signals.Signal2D(frames).save(tmp_path / "s.zspy")
    stack = etw.load(tmp_path / "s.zspy", tilts=[-10, 0, 10])
    np.testing.assert_array_equal(stack.data, frames)


def test_tomviz_emd_uneven_angles(tmp_path):
    """tomviz's layout (EmdFormat.cxx): /data/tomography, dim1 = angles in [deg]."""
    frames = _images(4)
    angles = np.array([-61.5, -20.0, 3.25, 58.0], dtype=np.float32)
    path = tmp_path / "tomviz.emd"
    with h5py.File(path, "w") as f:
        f.attrs["version_major"], f.attrs["version_minor"] = np.uint32(0), np.uint32(2)
        g = f.create_group("data/tomography")
        g.attrs["emd_group_type"] = np.uint32(1)
        g.create_dataset("data", data=frames)
        for k, (name, values, units) in enumerate(
                [("angles", angles, "[deg]"), ("y", np.arange(12) * 0.3, "[n_m]"),
                 ("x", np.arange(16) * 0.3, "[n_m]")], start=1):
            ds = g.create_dataset(f"dim{k}", data=np.asarray(values, np.float32))
            ds.attrs["name"], ds.attrs["units"] = name, units
    stack = etw.load(path)
    np.testing.assert_array_equal(stack.data, frames)
    np.testing.assert_allclose(stack.tilt_values, angles)  # RosettaSciIO alone gives -61.5 + k·d
    assert stack.axes_manager.signal_axes[0].scale == pytest.approx(0.3)


def test_emd_that_is_not_hdf5(tmp_path):
    bad = tmp_path / "fake.emd"
    bad.write_text("hello")
    with pytest.raises(TomoFileError, match="not an EMD file"):
        etw.load(bad)


# -- OME-Zarr written by ome-zarr-py ---------------------------------------------------------
def test_omezarr_written_by_ome_zarr_py(tmp_path):
    zarr = pytest.importorskip("zarr")
    writer = pytest.importorskip("ome_zarr.writer")
    vol = _images(16, 16, 16)
    path = tmp_path / "vol.zarr"
    root = zarr.group(store=zarr.DirectoryStore(str(path)))
    writer.write_image(vol, root, axes=[{"name": n, "type": "space", "unit": "nanometer"}
                                        for n in "zyx"],
                       scaler=None,
                       coordinate_transformations=[[{"type": "scale", "scale": [0.5] * 3}]],
                       storage_options={"chunks": (8, 8, 8)})
    rec = etw.load(path)
    assert isinstance(rec, RecStack)
    np.testing.assert_array_equal(rec.data, vol)
    assert [a.scale for a in rec.axes_manager._axes] == [0.5, 0.5, 0.5]
    assert rec.axes_manager.signal_axes[0].units == "nm"
    lazy = etw.load(path, lazy=True)
    assert lazy._lazy and lazy.data.shape == vol.shape


def test_omezarr_folder_without_metadata(tmp_path):
    zarr = pytest.importorskip("zarr")
    zarr.group(store=zarr.DirectoryStore(str(tmp_path / "plain.zarr")))
    with pytest.raises(TomoFileError, match="multiscales"):
        etw.load(tmp_path / "plain.zarr")


# -- SerialEM .mdoc: acquisition order and tilt-axis angle ----------------------------------
def test_mdoc_dose_symmetric_sorted_with_acquisition_order(tmp_path):
    acquired = [0.0, 3.0, -3.0, 6.0, -6.0]  # dose-symmetric order, as stored
    frames = _images(5)
    path = tmp_path / "ds.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(frames)
    sections = "".join(
        f"[ZValue = {k}]\nTiltAngle = {t}\nDateTime = 05-Mar-21  14:{10 + k:02d}:06\n\n"
        for k, t in enumerate(acquired))
    (tmp_path / "ds.mrc.mdoc").write_text(
        "PixelSpacing = 2.5\nImageFile = ds.mrc\n\n[T = SerialEM: Krios]\n\n"
        "[T =     Tilt axis angle = 85.3, binning = 1  spot = 8  camera = 0]\n\n" + sections)
    stack = etw.load(path)
    np.testing.assert_allclose(stack.tilt_values, [-6, -3, 0, 3, 6])
    np.testing.assert_array_equal(stack.data, frames[[4, 2, 0, 1, 3]])
    assert stack.metadata.Tomography.acquisition_order == [4, 2, 0, 1, 3]
    assert stack.metadata.Acquisition_instrument.TEM.tilt_axis_angle == pytest.approx(85.3)


def test_mdoc_sorted_by_tilt_keeps_order_records_dose_order(tmp_path):
    frames = _images(3)
    path = tmp_path / "s.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(frames)
    times = ["14:00:09", "14:00:01", "14:00:05"]  # stored by tilt; acquired 0, +3, -3 (sic)
    sections = "".join(f"[ZValue = {k}]\nTiltAngle = {t}\nDateTime = 05-Mar-21  {h}\n\n"
                       for k, (t, h) in enumerate(zip([-3, 0, 3], times, strict=True)))
    (tmp_path / "s.mdoc").write_text("PixelSpacing = 2.5\n\n" + sections)
    stack = etw.load(path)
    np.testing.assert_array_equal(stack.data, frames)
    assert stack.metadata.Tomography.acquisition_order == [2, 0, 1]
