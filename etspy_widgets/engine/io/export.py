"""Hand-offs: a tilt series, its alignment or a volume written for IMOD, AreTomo, tomviz and
OME-Zarr viewers, and another program's alignment applied to a series.

>>> stack.save("series.xf")                      # doctest: +SKIP
>>> stack.save("series", file_format="imod")      # doctest: +SKIP
>>> rec.save("volume.ome.zarr")                  # doctest: +SKIP
>>> raw.apply_alignment("series.xf")             # doctest: +SKIP

Every write goes to a temporary name and is renamed into place when complete
(``engine.atomic``), refuses to replace a file unless ``overwrite=True``, and is recorded in
the signal's ``metadata.General.FileIO`` as HyperSpy records its own saves. Conventions and
their sources: ``_imod`` (IMOD ``.xf``), ``_aretomo`` (``.aln``), ``_emd`` (tomviz EMD),
``_omezarr`` (OME-NGFF 0.4); ``docs/export.md`` lists them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import InvalidDataError, TomoFileError
from ..signals import register_extension
from . import _aretomo, _emd, _imod, _omezarr
from ._provenance import record_io

FORMATS = ("xf", "tlt", "aln", "ali", "mrc", "tomviz", "ome-zarr", "imod")
_BY_SUFFIX = {".xf": "xf", ".tlt": "tlt", ".rawtlt": "tlt", ".aln": "aln", ".ali": "ali",
              ".mrc": "mrc", ".rec": "mrc", ".emd": "tomviz", ".zarr": "ome-zarr"}
ALIGNMENT_SUFFIXES = (".xf", ".aln", ".tlt", ".rawtlt")
_PLUGIN = "etspy_widgets.engine.io.export"


def format_for(path, file_format=None) -> str | None:
    """Our format name for ``path`` (by ``file_format``, else the extension), or None when
    the file is HyperSpy's to write (``.hspy``, ``.zspy``, ``.tif``, any other
    ``file_format`` name HyperSpy knows)."""
    if file_format is not None:
        name = str(file_format).lower().replace("_", "-")
        name = {"omezarr": "ome-zarr", "zarr": "ome-zarr"}.get(name, name)
        return name if name in FORMATS else None
    return _BY_SUFFIX.get(Path(path).suffix.lower())


def _is_series(signal) -> bool:
    return hasattr(signal, "tilt_values")


def _need_series(signal, what):
    if not _is_series(signal):
        raise InvalidDataError(f"{what} is written from a tilt series (TomoStack); got a "
                               f"{type(signal).__name__}.")


def _write_text(path, text, overwrite):
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text)


def save(signal, path, file_format=None, overwrite: bool = False, *, raw_shape=None,
         levels=None) -> list[Path]:
    """Write ``signal`` in one of ``FORMATS``; return the files written.

    Parameters
    ----------
    signal : TomoStack or RecStack
    path : str or Path
        The file; for ``file_format="imod"`` the base name of ``.ali``, ``.tlt``, ``.xf``.
    file_format : str, optional
        One of ``FORMATS``; default from the extension (``.xf``, ``.tlt``/``.rawtlt``,
        ``.aln``, ``.ali``, ``.mrc``/``.rec``, ``.emd`` = tomviz, ``.zarr`` = OME-Zarr).
    overwrite : bool
        Replace existing files.
    raw_shape : (ny, nx), optional
        Size of the unaligned images, needed for the transforms of a cropped stack.
    levels : int, optional
        OME-Zarr resolution levels (default: halve until the smallest axis < 32).
    """
    path = Path(path)
    fmt = format_for(path, file_format)
    if fmt is None:
        raise TomoFileError(f"{path} (file_format={file_format!r}): not one of our export "
                            f"formats {FORMATS}; HyperSpy writes .hspy/.zspy/.tif "
                            "(signal.save).")
    if signal.data.ndim != 3:
        raise InvalidDataError(
            f"{fmt} files hold a tilt series (n, ny, nx) or a volume; got data of shape "
            f"{tuple(signal.data.shape)}. Sum or pick the frames of a multi-frame series first.")
    written = []
    if fmt == "imod":
        _need_series(signal, "An IMOD set (.ali, .tlt, .xf)")
        base = path.with_suffix("") if path.suffix.lower() in (".ali", ".xf", ".tlt") else path
        for ext, sub in ((".ali", "ali"), (".xf", "xf")):  # the .ali writes the .tlt beside
            written += save(signal, base.with_name(base.name + ext), sub, overwrite,
                            raw_shape=raw_shape)
        return written
    if fmt in ("xf", "aln"):
        _need_series(signal, f"An .{fmt} file")
        A, d, out_shape = _imod.stack_affines(signal, raw_shape)
        A, d, _ = _imod.turn(A, d, out_shape)
        if fmt == "xf":
            text = _imod.format_xf(A, d)
        else:
            shape = raw_shape or tuple(int(v) for v in signal.data.shape[-2:])
            text = _aretomo.format_aln(A, d, signal.tilt_values, shape)
        _write_text(path, text, overwrite)
    elif fmt == "tlt":
        _need_series(signal, "A tilt file")
        _write_text(path, _imod.format_tlt(signal.tilt_values), overwrite)
    elif fmt in ("ali", "mrc"):
        _write_mrc(signal, path, fmt, overwrite)
        if _is_series(signal):  # the tilts beside, where load looks for them
            side = path.with_suffix(".tlt" if fmt == "ali" else ".rawtlt")
            _write_text(side, _imod.format_tlt(signal.tilt_values), overwrite)
            written.append(side)
    elif fmt == "tomviz":
        tilts = signal.tilt_values if _is_series(signal) else None
        with atomic_path(path, overwrite=overwrite, need_bytes=_nbytes(signal)) as tmp:
            _emd.write_tomviz(signal, tmp, tilts)
    else:  # ome-zarr
        kind = "series" if _is_series(signal) else "volume"
        tilts = signal.tilt_values if kind == "series" else None
        with atomic_path(path, overwrite=overwrite) as tmp:
            _omezarr.write_omezarr(signal, tmp, kind, tilts, levels=levels)
    record_io(signal, "save", f"{_PLUGIN}:{fmt}", path.name)
    return [path, *written]


def _write_mrc(signal, path, fmt, overwrite):
    data = signal.data
    ordered = sorted(signal.axes_manager._axes, key=lambda a: a.index_in_array)
    label = None
    if _is_series(signal):
        xy = _imod.voxel_angstrom([ordered[2], ordered[1]])
        voxel = None if xy is None else (xy[0], xy[1], xy[0])
        if fmt == "ali":
            data = _imod.turn_images(np.asarray(data))
            voxel = None if voxel is None else (voxel[1], voxel[0], voxel[0])
            label = _imod.MRC_LABEL
    else:  # a RecStack (x, thickness, y): MRC x = our y, y = thickness, z = our x
        voxel = _imod.voxel_angstrom(ordered[::-1])
    with atomic_path(path, overwrite=overwrite, need_bytes=_nbytes(signal)) as tmp:
        _imod.write_mrc(tmp, data, voxel, label)


def _nbytes(signal) -> int:
    """The uncompressed size of the data as float32 (what MRC and tomviz EMD write)."""
    return int(np.prod(np.shape(signal.data))) * 4 + 4096


def save_alignment(stack, path, overwrite: bool = False, raw_shape=None) -> Path:
    """Write ``stack``'s alignment: ``.xf`` (IMOD), ``.aln`` (AreTomo), ``.tlt``/``.rawtlt``."""
    path = Path(path)
    if path.suffix.lower() not in ALIGNMENT_SUFFIXES:
        raise TomoFileError(f"{path}: an alignment file ends in one of {ALIGNMENT_SUFFIXES}.")
    return save(stack, path, overwrite=overwrite, raw_shape=raw_shape)[0]


def read_alignment(path, n: int):
    """IMOD-frame ``(A, d, dark)`` of ``n`` projections from an ``.xf`` or ``.aln`` file;
    ``dark``: the projections AreTomo dropped (the transforms are those of the others)."""
    path = Path(path)
    if not path.is_file():
        raise TomoFileError(f"No such alignment file: {path}.")
    ext = path.suffix.lower()
    dark = []
    if ext in (".xf", ".xg", ".prexg"):
        A, d = _imod.read_xf(path)
    elif ext == ".aln":
        A, d, _, _, dark = _aretomo.read_aln(path)
    else:
        raise TomoFileError(f"{path}: apply_alignment reads IMOD .xf or AreTomo .aln files.")
    if A.shape[0] + len(dark) != n or any(not 0 <= k < n for k in dark):
        extra = f" and {len(dark)} dark frame(s)" if dark else ""
        raise TomoFileError(f"{path} holds {A.shape[0]} transforms{extra} for a stack of {n} "
                            "projections; it must hold one per projection.")
    return A, d, dark


def apply_alignment(stack, path, shift_type: str = "fourier"):
    """Apply another program's alignment (IMOD ``.xf``, AreTomo ``.aln``) to the raw ``stack``.

    The transforms are turned back from IMOD's frame (tilt axis along Y) to ours. When every
    projection has the same rotation and no scaling (what our ``save_alignment`` and a
    typical fiducial-less alignment write), they are replayed as our own pipeline: shifts
    ``s = R⁻¹ d`` applied like ``apply_shifts`` and the rotation like ``trans_stack``, so
    ``stack.shifts`` and ``metadata.Tomography.tiltaxis`` hold them. An ``.xf`` holds only
    the total translation of each projection: a tilt-axis shift that our pipeline applied
    *after* the rotation (``yshift``, ``xshift``) is replayed as part of the shifts before
    it, the same map resampled once less finely (linear rotation); without such a shift the
    replay is our stack to the files' precision (3 decimals of a pixel). Otherwise each
    projection is resampled by its own affine map (cubic spline) and the transforms are
    kept in ``metadata.Tomography.external_alignment``. Projections an ``.aln`` lists as
    dark frames are removed (AreTomo aligned and reconstructed the others only).
    """
    path = Path(path)
    n = int(stack.data.shape[0])
    A, d, dark = read_alignment(path, n)
    if dark:  # AreTomo aligned the others only: drop them, as its reconstruction does
        stack = stack.remove_projections(dark)
    back = np.round(_imod.rotation(-_imod.IMOD_TURN))
    A = np.einsum("ij,njk->nik", back, A)
    d = d @ back.T
    angles = np.degrees(np.arctan2(A[:, 1, 0], A[:, 0, 0]))
    rigid = np.allclose(A, _imod.rotation(float(angles[0]))[None], atol=2e-6)
    if rigid:
        R = _imod.rotation(float(angles[0]))
        s = d @ R  # R⁻¹ d for each row (R orthonormal)
        out = stack.apply_shifts(s[:, ::-1], shift_type) if np.any(s) else stack.deepcopy()
        if abs(angles[0]) > 1e-9:
            out = out.trans_stack(angle=float(angles[0]))
    else:
        out = stack._with_data(_affine_stack(np.asarray(stack.data, dtype=np.float64), A, d))
        out.metadata.set_item("Tomography.external_alignment",
                              {"file": str(path), "matrices": A.tolist(), "shifts": d.tolist()})
    record_io(out, "load", f"{_PLUGIN}:{path.suffix.lower().lstrip('.')}", path.name)
    return out


def _affine_stack(data, A, d):
    from scipy import ndimage

    ny, nx = data.shape[1:]
    c = np.array([(nx - 1) / 2, (ny - 1) / 2])
    out = np.empty_like(data)
    for i, img in enumerate(data):
        inv = np.linalg.inv(A[i])
        # (row, col) order for ndimage: p = inv (p' - c - d) + c
        m = inv[::-1, ::-1]
        offset = (c - inv @ (c + d[i]))[::-1]
        out[i] = ndimage.affine_transform(img, m, offset=offset, order=3, mode="constant")
    return out


class _Writer:
    """What ``TomoStack.save``/``RecStack.save`` hand our formats to."""

    accepts = staticmethod(lambda path, file_format=None: format_for(path, file_format)
                           is not None)
    save = staticmethod(save)


register_extension("writer", _Writer)
register_extension("apply_alignment", apply_alignment)
register_extension("save_alignment", save_alignment)
