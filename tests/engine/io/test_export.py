"""Hand-offs: IMOD .xf/.tlt/.ali/MRC, AreTomo .aln, tomviz EMD, OME-Zarr; apply_alignment.

Conventions checked here, with their sources:

* IMOD ``.xf`` (man page ``xf2rotmagstr``, https://bio3d.colorado.edu/imod/doc/man/
  xf2rotmagstr.html): ``x' = a11 (x - xci) + a12 (y - yci) + dx + xco`` (and ``y'``), raw
  ``(x, y)`` to aligned ``(x', y')``, ``(xci, yci)`` the input centre, ``(xco, yco)`` the output
  centre; IMOD ``libcfshr/cubinterp.c``: coordinates from 0 at the left edge of the first pixel,
  the centre at ``nx / 2``, so pixel index ``i`` sits at ``i + 0.5``. IMOD's aligned stack has
  the tilt axis along Y (IMOD ``tilt``), so it is ours turned by 90°.
* AreTomo ``.aln`` (cryoet-alignment, ``io/cryoet_data_portal/alignment.py``): the raw position
  of an aligned point is ``R(ROT) · p_aligned + (TX, TY)`` about the centres; ``SEC`` 1-based.

The tests find a bright spot in the images to check that the files say where our alignment
actually moved it, rather than comparing our formulas with themselves.
"""

from __future__ import annotations

import dask.array as da
import mrcfile
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.engine.errors import TomoFileError
from etspy_widgets.engine.signals import LazyRecStack, RecStack, TomoStack

NY, NX = 48, 64
SPOTS = [(20.0, 22.0), (41.0, 30.0)]  # (x, y) pixel indices of two spots in the raw images


def _spot_image(spots, ny=NY, nx=NX, sigma=1.6):
    yy, xx = np.mgrid[0:ny, 0:nx]
    img = np.zeros((ny, nx))
    for x0, y0 in spots:
        img += np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))
    return img


def _centroid(img, x0, y0, r=5):
    """Intensity centroid (x, y) of the spot nearest ``(x0, y0)``."""
    ny, nx = img.shape
    xs, ys = round(x0), round(y0)
    y1, y2, x1, x2 = max(ys - r, 0), min(ys + r + 1, ny), max(xs - r, 0), min(xs + r + 1, nx)
    win = np.clip(img[y1:y2, x1:x2], 0, None)
    yy, xx = np.mgrid[y1:y2, x1:x2]
    return float((win * xx).sum() / win.sum()), float((win * yy).sum() / win.sum())


@pytest.fixture
def raw():
    data = np.stack([_spot_image([SPOTS[0]]) for _ in range(3)]).astype(np.float32)
    stack = TomoStack(data, tilts=[-30.0, 0.0, 30.0])
    for ax in stack.axes_manager.signal_axes:
        ax.scale, ax.units = 0.5, "nm"
    return stack


SHIFTS = np.array([[1.5, -2.25], [0.0, 0.0], [-2.0, 3.0]])  # (y, x) applied
ANGLE, YSHIFT, XSHIFT = 8.0, 1.25, -0.5


@pytest.fixture
def aligned(raw):
    return raw.apply_shifts(SHIFTS).trans_stack(xshift=XSHIFT, yshift=YSHIFT, angle=ANGLE)


def _read_rows(path):
    return np.array([[float(v) for v in line.split()] for line in path.read_text().splitlines()
                     if line.strip() and not line.startswith("#")])


# -- IMOD .xf --------------------------------------------------------------------------------
def test_xf_pure_shift_values(raw, tmp_path):
    """Only shifts (sx, sy): x' = x + sx in our frame; IMOD's frame is ours turned so that
    X' = our y and Y' = -our x (about the centres): A = [[0, 1], [-1, 0]], d = (sy, -sx)."""
    stack = raw.apply_shifts(SHIFTS)
    stack.save(tmp_path / "s.xf")
    rows = _read_rows(tmp_path / "s.xf")
    assert rows.shape == (3, 6)
    np.testing.assert_allclose(rows[:, :4], [[0, 1, -1, 0]] * 3, atol=1e-7)
    np.testing.assert_allclose(rows[:, 4], SHIFTS[:, 0], atol=5e-4)
    np.testing.assert_allclose(rows[:, 5], -SHIFTS[:, 1], atol=5e-4)


def test_xf_maps_the_spot_where_our_alignment_put_it(aligned, tmp_path):
    aligned.save(tmp_path / "a.xf")
    aligned.save(tmp_path / "a.ali")
    rows = _read_rows(tmp_path / "a.xf")
    with mrcfile.open(tmp_path / "a.ali") as mrc:
        ali = np.asarray(mrc.data)
    assert ali.shape == (3, NX, NY)  # IMOD frame: the tilt axis along Y
    x0, y0 = SPOTS[0]
    xe, ye = x0 + 0.5, y0 + 0.5  # IMOD coordinates of the pixel centre (cubinterp.c)
    for k, (a11, a12, a21, a22, dx, dy) in enumerate(rows):
        xp = a11 * (xe - NX / 2) + a12 * (ye - NY / 2) + dx + NY / 2  # output nx = NY
        yp = a21 * (xe - NX / 2) + a22 * (ye - NY / 2) + dy + NX / 2
        found = _centroid(ali[k], xp - 0.5, yp - 0.5)
        np.testing.assert_allclose(found, (xp - 0.5, yp - 0.5), atol=0.1)
        # a rotation matrix of the angle we applied (turned by IMOD's 90°)
        assert np.degrees(np.arctan2(a21, a11)) == pytest.approx(ANGLE - 90.0, abs=1e-5)


def test_aln_maps_the_spot_back_to_the_raw_image(aligned, tmp_path):
    aligned.save(tmp_path / "a.aln")
    aligned.save(tmp_path / "a.ali")
    text = (tmp_path / "a.aln").read_text()
    assert text.startswith("# AreTomo Alignment")
    assert f"# RawSize = {NX} {NY} 3" in text
    rows = _read_rows(tmp_path / "a.aln")
    assert rows.shape == (3, 10)
    np.testing.assert_array_equal(rows[:, 0], [1, 2, 3])
    np.testing.assert_allclose(rows[:, 9], [-30, 0, 30])
    with mrcfile.open(tmp_path / "a.ali") as mrc:
        ali = np.asarray(mrc.data)
    for k, (_, rot, gmag, tx, ty, *_rest) in enumerate(rows):
        assert gmag == 1.0
        spot = np.array(_centroid(ali[k], *np.unravel_index(ali[k].argmax(), ali[k].shape)[::-1]))
        a = np.deg2rad(rot)
        R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        raw_xy = R @ (spot - [(NY - 1) / 2, (NX - 1) / 2]) + [tx, ty] + [(NX - 1) / 2, (NY - 1) / 2]
        np.testing.assert_allclose(raw_xy, SPOTS[0], atol=0.1)


# -- apply_alignment ---------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".xf", ".aln"])
def test_apply_our_alignment_reproduces_our_aligned_stack(raw, tmp_path, ext):
    """Registration shifts, then a tilt-axis rotation (the usual order): replayed exactly."""
    aligned = raw.apply_shifts(SHIFTS).trans_stack(angle=ANGLE)
    aligned.save_alignment(tmp_path / f"a{ext}")
    again = raw.apply_alignment(tmp_path / f"a{ext}")
    scale = np.abs(aligned.data).max()
    assert np.abs(again.data - aligned.data).max() < 2e-3 * scale  # the files' 3 decimals
    np.testing.assert_allclose(again.shift_values, SHIFTS, atol=2e-3)
    assert again.metadata.Tomography.tiltaxis == pytest.approx(ANGLE, abs=1e-4)
    assert again.history[-1].startswith("stack = stack.apply_alignment(")
    assert again.metadata.General.FileIO  # provenance of the alignment file


def test_apply_alignment_with_tilt_axis_shift_same_map(raw, aligned, tmp_path):
    """With a tilt-axis shift after the rotation the .xf holds only the total translation:
    the same map (the spot lands at the same place), resampled in another order."""
    aligned.save_alignment(tmp_path / "a.xf")
    again = raw.apply_alignment(tmp_path / "a.xf")
    for k in range(3):
        mine = _centroid(aligned.data[k], *np.unravel_index(aligned.data[k].argmax(),
                                                            (NY, NX))[::-1])
        np.testing.assert_allclose(_centroid(again.data[k], *mine), mine, atol=0.03)


def test_apply_alignment_general_affine(raw, tmp_path):
    """Per-projection rotations (as IMOD's tiltalign writes): each image is resampled by its
    own map; the spot lands where the xf formula says."""
    lines = []
    for rot in (-85.0, -90.0, -95.5):
        a = np.deg2rad(rot)
        lines.append(f"{np.cos(a):12.7f}{-np.sin(a):12.7f}{np.sin(a):12.7f}{np.cos(a):12.7f}"
                     f"{1.5:12.3f}{-2.0:12.3f}")
    (tmp_path / "t.xf").write_text("\n".join(lines) + "\n")
    out = raw.apply_alignment(tmp_path / "t.xf")
    assert out.metadata.has_item("Tomography.external_alignment")
    rows = _read_rows(tmp_path / "t.xf")
    x0, y0 = SPOTS[0]
    for k, (a11, a12, a21, a22, dx, dy) in enumerate(rows):
        P = np.array([[a11, a12], [a21, a22]]) @ [x0 + 0.5 - NX / 2, y0 + 0.5 - NY / 2] \
            + [dx, dy]  # IMOD aligned frame, about its centre (NY wide, NX high)
        ours = np.array([-P[1], P[0]])  # turned back: our x = -IMOD Y, our y = IMOD X
        expect = ours + np.array([(NX - 1) / 2, (NY - 1) / 2])
        np.testing.assert_allclose(_centroid(out.data[k], *expect), expect, atol=0.1)


def test_aln_dark_frames_are_removed(raw, tmp_path):
    """AreTomo drops dark images (``# DarkFrame = index ...``, 0-based in the raw series) and
    aligns the rest: the rows are those of the kept projections."""
    kept = raw.remove_projections([1]).apply_shifts(SHIFTS[[0, 2]]).trans_stack(angle=ANGLE)
    kept.save_alignment(tmp_path / "k.aln")
    lines = (tmp_path / "k.aln").read_text().splitlines()
    lines.insert(3, "# DarkFrame =      1    1     0.00")
    (tmp_path / "d.aln").write_text("\n".join(lines) + "\n")
    again = raw.apply_alignment(tmp_path / "d.aln")
    np.testing.assert_allclose(again.tilt_values, [-30, 30])
    assert np.abs(again.data - kept.data).max() < 2e-3 * np.abs(kept.data).max()


def test_apply_alignment_errors(raw, tmp_path):
    (tmp_path / "short.xf").write_text("1 0 0 1 0 0\n")
    with pytest.raises(TomoFileError, match="one per projection"):
        raw.apply_alignment(tmp_path / "short.xf")
    (tmp_path / "bad.xf").write_text("1 0 0 1\n" * 3)
    with pytest.raises(TomoFileError, match="six numbers"):
        raw.apply_alignment(tmp_path / "bad.xf")
    (tmp_path / "bad.aln").write_text("SEC ROT\n")
    with pytest.raises(TomoFileError, match="not an AreTomo"):
        raw.apply_alignment(tmp_path / "bad.aln")
    with pytest.raises(TomoFileError, match="No such"):
        raw.apply_alignment(tmp_path / "missing.xf")


def test_cropped_stack_needs_raw_shape(aligned, tmp_path):
    cropped = aligned.shift_crop()
    with pytest.raises(TomoFileError, match="raw_shape"):
        cropped.save_alignment(tmp_path / "c.xf")
    cropped.save_alignment(tmp_path / "c.xf", raw_shape=(NY, NX))
    assert len(_read_rows(tmp_path / "c.xf")) == 3


# -- IMOD stacks, tilts, volumes -----------------------------------------------------------------
def test_imod_set_and_round_trips(aligned, raw, tmp_path):
    aligned.save(tmp_path / "series", file_format="imod")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series.ali", "series.tlt", "series.xf"]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "series.tlt"), [-30, 0, 30])
    back = etw.load(tmp_path / "series.ali")  # our label: turned back to our frame
    np.testing.assert_allclose(back.data, aligned.data)
    np.testing.assert_allclose(back.tilt_values, [-30, 0, 30])
    with mrcfile.open(tmp_path / "series.ali") as mrc:
        assert float(mrc.voxel_size.x) == pytest.approx(5.0)  # 0.5 nm in Å
    raw.save(tmp_path / "raw.mrc")
    again = etw.load(tmp_path / "raw.mrc")  # + raw.rawtlt beside it
    np.testing.assert_array_equal(again.data, raw.data)
    np.testing.assert_allclose(again.tilt_values, raw.tilt_values, atol=5e-4)
    assert again.axes_manager.signal_axes[0].scale == pytest.approx(0.5)


def test_volume_mrc_voxel_size(tmp_path):
    vol = np.random.default_rng(1).random((6, 5, 4)).astype(np.float32)
    rec = RecStack(vol)
    for ax, s in zip(sorted(rec.axes_manager._axes, key=lambda a: a.index_in_array),
                     (0.5, 0.25, 0.5), strict=True):
        ax.scale, ax.units = s, "nm"
    rec.save(tmp_path / "v.mrc")
    with mrcfile.open(tmp_path / "v.mrc") as mrc:
        np.testing.assert_array_equal(mrc.data, vol)  # (x, thickness, y): IMOD tilt's order
        assert (float(mrc.voxel_size.x), float(mrc.voxel_size.y),
                float(mrc.voxel_size.z)) == pytest.approx((5.0, 2.5, 5.0))


def test_save_is_atomic_and_refuses_to_overwrite(aligned, tmp_path):
    aligned.save(tmp_path / "a.xf")
    before = (tmp_path / "a.xf").read_text()
    with pytest.raises(FileExistsError):
        aligned.save(tmp_path / "a.xf")
    assert (tmp_path / "a.xf").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xf"]  # nothing half-written
    aligned.save(tmp_path / "a.xf", overwrite=True)
    entry = aligned.metadata.General.FileIO
    last = entry[str(max(int(k) for k in entry.as_dictionary()))]
    assert last["operation"] == "save" and last["io_plugin"].endswith(":xf")


# -- tomviz EMD --------------------------------------------------------------------------------
def test_tomviz_series_and_volume_round_trip(raw, tmp_path):
    import h5py
    import hyperspy.api as hs

    raw.tilts = [-31.5, 0.25, 29.0]
    raw.save(tmp_path / "s.emd")
    with h5py.File(tmp_path / "s.emd") as f:  # tomviz's layout (EmdFormat.cxx)
        g = f["data/tomography"]
        assert g.attrs["emd_group_type"] == 1 and f.attrs["version_major"] == 0
        assert g["dim1"].attrs["units"] == "[deg]" and g["dim1"].attrs["name"] == "angles"
        assert g["data"].shape == (3, NY, NX)
    back = etw.load(tmp_path / "s.emd")
    np.testing.assert_array_equal(back.data, raw.data)
    np.testing.assert_allclose(back.tilt_values, [-31.5, 0.25, 29.0], atol=1e-5)
    vol = RecStack(np.random.default_rng(2).random((5, 4, 6)).astype(np.float32))
    vol.save(tmp_path / "v.emd")
    again = etw.load(tmp_path / "v.emd")
    assert isinstance(again, RecStack)
    np.testing.assert_array_equal(again.data, vol.data)
    # RosettaSciIO's EMD reader reads our file too (it keeps the array in Fortran order)
    ref = hs.load(tmp_path / "v.emd")
    np.testing.assert_array_equal(np.asarray(ref.data).transpose(2, 1, 0), vol.data)


# -- OME-Zarr ----------------------------------------------------------------------------------
_UDUNITS_SPACE = {"angstrom", "nanometer", "micrometer", "millimeter", "meter", "picometer"}


def check_ngff_04(path):
    """The structure OME-NGFF 0.4 (https://ngff.openmicroscopy.org/0.4/#multiscale-md)
    requires of an image: checked rule by rule."""
    import json

    attrs = json.loads((path / ".zattrs").read_text())
    assert json.loads((path / ".zgroup").read_text())["zarr_format"] == 2
    (ms,) = attrs["multiscales"]
    assert ms["version"] == "0.4"
    axes = ms["axes"]
    assert 2 <= len(axes) <= 5 and len({a["name"] for a in axes}) == len(axes)
    types = [a.get("type") for a in axes]
    assert types.count("space") in (2, 3)
    first_space = types.index("space")
    assert all(t == "space" for t in types[first_space:])  # space axes last
    for a in axes:
        if a.get("type") == "space" and "unit" in a:
            assert a["unit"] in _UDUNITS_SPACE
    previous = None
    for ds in ms["datasets"]:
        tr = ds["coordinateTransformations"]
        assert tr[0]["type"] == "scale" and len(tr[0]["scale"]) == len(axes)
        assert len(tr) == 1 or (len(tr) == 2 and tr[1]["type"] == "translation"
                                and len(tr[1]["translation"]) == len(axes))
        meta = json.loads((path / ds["path"] / ".zarray").read_text())
        assert len(meta["shape"]) == len(axes)
        assert meta["dimension_separator"] == "/"
        if previous is not None:  # highest resolution first
            assert all(s >= p for s, p in zip(tr[0]["scale"], previous, strict=True))
        previous = tr[0]["scale"]
    return ms


def test_omezarr_volume_written_chunk_by_chunk(tmp_path):
    full = np.random.default_rng(3).random((64, 40, 72)).astype(np.float32)
    blocks = []

    def block(x, block_info=None):
        blocks.append(x.shape)
        return x

    lazy = da.from_array(full, chunks=(16, 20, 24)).map_blocks(block, dtype=np.float32)
    rec = LazyRecStack(lazy)
    for ax in rec.axes_manager._axes:
        ax.scale, ax.units = 0.8, "nm"
    rec.save(tmp_path / "v.ome.zarr", levels=3)
    assert blocks and max(np.prod(b) for b in blocks) <= 16 * 20 * 24  # never all at once
    ms = check_ngff_04(tmp_path / "v.ome.zarr")
    assert [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]] == \
        [[0.8] * 3, [1.6] * 3, [3.2] * 3]
    assert ms["datasets"][1]["coordinateTransformations"][1]["translation"] == [0.4] * 3
    assert [a["unit"] for a in ms["axes"]] == ["nanometer"] * 3
    back = etw.load(tmp_path / "v.ome.zarr")
    assert isinstance(back, RecStack)
    np.testing.assert_array_equal(back.data, full)
    half = etw.load(tmp_path / "v.ome.zarr", level=1)
    np.testing.assert_allclose(half.data, full.reshape(32, 2, 20, 2, 36, 2).mean((1, 3, 5)),
                               rtol=1e-6)


def test_omezarr_read_by_ome_zarr_py(tmp_path):
    reader = pytest.importorskip("ome_zarr.reader")
    io = pytest.importorskip("ome_zarr.io")
    vol = RecStack(np.random.default_rng(4).random((32, 32, 32)).astype(np.float32))
    vol.save(tmp_path / "v.zarr", levels=2)
    nodes = list(reader.Reader(io.parse_url(str(tmp_path / "v.zarr")))())
    data = nodes[0].data
    assert len(data) == 2 and data[1].shape == (16, 16, 16)
    np.testing.assert_array_equal(np.asarray(data[0]), vol.data)


def test_omezarr_tilt_series_round_trip(raw, tmp_path):
    raw.save(tmp_path / "s.zarr", levels=2)
    ms = check_ngff_04(tmp_path / "s.zarr")
    assert ms["axes"][0]["name"] == "angle" and ms["axes"][0]["type"] != "space"
    back = etw.load(tmp_path / "s.zarr")
    assert isinstance(back, TomoStack)
    np.testing.assert_array_equal(back.data, raw.data)
    np.testing.assert_allclose(back.tilt_values, raw.tilt_values)


# -- the command line --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "fmt"), [("vol.emd", None), ("vol.zarr", None),
                                           ("vol.out", "ome-zarr")])
def test_cli_writes_tomviz_and_omezarr(raw, tmp_path, name, fmt):
    from etspy_widgets.cli import main

    raw.save(tmp_path / "s.hspy")
    args = ["reconstruct", str(tmp_path / "s.hspy"), "-o", str(tmp_path / name)]
    assert main(args + (["--format", fmt] if fmt else [])) == 0
    rec = etw.load(tmp_path / name) if fmt is None else None
    if fmt is not None:
        from etspy_widgets.engine.io import _omezarr

        data = np.asarray(_omezarr.read_omezarr(tmp_path / name)[0])
    else:
        assert isinstance(rec, RecStack)
        data = rec.data
    expected = etw.load(tmp_path / "s.hspy").reconstruct(method="FBP")
    np.testing.assert_allclose(data, expected.data, rtol=1e-5, atol=1e-6)


# -- ETSpy's real tilt series -----------------------------------------------------------------
def test_needle_hand_off_round_trips(data_dir, tmp_path):
    """The NIST needle (HAADF.mrc + .rawtlt): aligned, written for IMOD, AreTomo, tomviz and
    OME-Zarr, and read back."""
    raw = etw.load(data_dir / "HAADF.mrc").inav[::4]
    shifts = np.random.default_rng(5).uniform(-4, 4, (raw.data.shape[0], 2))
    aligned = raw.apply_shifts(shifts).trans_stack(angle=-3.0)
    aligned.save(tmp_path / "needle", file_format="imod")
    aligned.save_alignment(tmp_path / "needle.aln")
    for ext in (".xf", ".aln"):
        again = raw.apply_alignment(tmp_path / f"needle{ext}")
        scale = float(np.abs(aligned.data).max())
        assert np.abs(again.data - aligned.data).max() < 2e-3 * scale
        np.testing.assert_allclose(again.shift_values, shifts, atol=2e-3)
    back = etw.load(tmp_path / "needle.ali")
    np.testing.assert_allclose(back.data, aligned.data, rtol=1e-6)
    np.testing.assert_allclose(back.tilt_values, raw.tilt_values, atol=5e-4)
    aligned.save(tmp_path / "needle.emd")
    tv = etw.load(tmp_path / "needle.emd")
    np.testing.assert_array_equal(tv.data, aligned.data)
    np.testing.assert_allclose(tv.tilt_values, raw.tilt_values, atol=1e-4)
