"""``load()``: any tilt series ETSpy reads (and a few it does not) as a ``TomoStack``.

HyperSpy/RosettaSciIO read the pixels and their calibration; this module adds what they lack:
tilts from ``.rawtlt``/``.tlt`` sidecars and SerialEM ``.mdoc`` files, SerialEM extended-header
tilts, series of single-image files sorted by tilt, and clear errors. Values are never cast or
offset: a file of int16 loads as int16.
"""

from __future__ import annotations

import contextvars
import logging
import os
import stat
from pathlib import Path

import numpy as np
from hyperspy._signals.signal2d import Signal2D
from hyperspy.io import load as hs_load

from ..errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvalidDataError,
    TomoFileError,
    check_finite,
)
from ..signals import LazyRecStack, LazyTomoStack, RecStack, TomoShifts, TomoStack, TomoTilts
from . import _emd, _imod, _mdoc, _mrc, _omezarr
from ._provenance import record_io
from ._tilts import (
    IMAGE_TYPES,
    _all_or_none,
    _checked_tilts,
    _folder_files,
    _folder_tilts,
    _name_tilt,
    _no_series_tilts,
    _resolve_tilts,
    _sidecar_source,
)

logger = logging.getLogger(__name__)

HSPY_TYPES = (".hspy", ".hdf5", ".h5", ".zspy")
MRC_TYPES = (".mrc", ".ali", ".rec", ".st", ".mrcs", ".preali")
DM_TYPES = (".dm3", ".dm4")
TIFF_TYPES = (".tif", ".tiff")
EMD_TYPES = (".emd",)
TIA_TYPES = (".ser", ".emi")
ZARR_TYPES = (".zarr",)
_FILE_TYPES = (".hspy", ".hdf5", ".h5", *MRC_TYPES, *DM_TYPES, *TIFF_TYPES, *EMD_TYPES,
               *TIA_TYPES, ".py", ".txt", ".rawtlt", ".tlt", ".mdoc")
SUPPORTED = HSPY_TYPES + MRC_TYPES + DM_TYPES + TIFF_TYPES + EMD_TYPES + TIA_TYPES + ZARR_TYPES


class MissingFileError(TomoFileError, FileNotFoundError, TypeError):
    """A file given to ``load`` does not exist.

    Also a ``TypeError``: ETSpy's ``load`` raised that for a name it could not read, and
    code written against it catches it.
    """


class UnknownFormatError(TomoFileError, TypeError):
    """A file whose format ``load`` does not read (also a ``TypeError``, as ETSpy raised)."""


def _supported_message() -> str:
    return ("Supported: MRC (" + ", ".join(MRC_TYPES) + "), DigitalMicrograph ("
            + ", ".join(DM_TYPES) + "), HyperSpy (" + ", ".join(HSPY_TYPES) + "), TIFF ("
            + ", ".join(TIFF_TYPES) + "), EMD (Velox, tomviz, Berkeley: .emd), TIA (.ser, .emi), "
            "OME-Zarr (a .zarr folder), a folder or a list of single-image files, a NumPy array "
            "or a Signal2D.")


def _check_exists(path: Path) -> None:
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            near = sorted(p.name for p in path.parent.glob(f"{path.stem}*"))[:5]
            if near:
                hint = f" Files with that stem there: {near}."
        raise MissingFileError(f"No such file: {path}.{hint}")
    _check_kind(path)


#: suffixes of formats that are folders (zarr stores)
_FOLDER_TYPES = (".zspy", ".zarr")


def _check_kind(path: Path) -> None:
    """Refuse a folder named like a file (``x.mrc/``) and anything not a regular file (a
    named pipe would block the reader forever): checked with ``stat`` before any open."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        if path.suffix and path.suffix.lower() not in _FOLDER_TYPES \
                and not _omezarr.is_omezarr(path) and path.suffix.lower() in _FILE_TYPES:
            raise TomoFileError(
                f"{path} is a folder, not a {path.suffix} file. Give the file inside it, or "
                "the folder of images without the suffix.")
        return
    if not stat.S_ISREG(mode):
        raise TomoFileError(
            f"{path} is not a regular file (a named pipe, socket or device): load reads "
            "files. Copy the data to a file first.")


class _DropEtspyNotice(logging.Filter):
    """HyperSpy suggests installing ETSpy for ETSpy-written files; we read them ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "etspy Python package" not in record.getMessage()


class ReaderError(TomoFileError, RuntimeError):
    """HyperSpy's (RosettaSciIO's) reader failed on a file (also a ``RuntimeError``, as
    ETSpy raised)."""


# the HyperSpy reader to use; ``etspy_widgets.etspy.io.load`` sets it to that module's
# ``hs_load`` (ETSpy's name), so code that replaces ``etspy.io.hs_load`` is honoured
READER = contextvars.ContextVar("hyperspy_reader", default=None)


def _hs_read(path: Path, detector=None, **kwargs):
    """One image or image stack read by HyperSpy/RosettaSciIO.

    ``detector`` picks one signal by title from a file that holds several (Velox writes one
    per detector: ``"HAADF"``, ``"DF4"``...). A 3D signal with no navigation axis (EMD
    Berkeley, tomviz) becomes images along its first array axis.
    """
    hs_logger = logging.getLogger("hyperspy.io")
    notice = _DropEtspyNotice()
    hs_logger.addFilter(notice)
    reader = READER.get() or hs_load
    try:
        signal = reader(os.fspath(path), **kwargs)
    except Exception as err:
        kind = "MRC" if path.suffix.lower() in MRC_TYPES else path.suffix.lstrip(".").upper()
        raise ReaderError(f"Unable to read {kind} with Hyperspy (RosettaSciIO could not read "
                          f"{path}): {err}") from err
    finally:
        hs_logger.removeFilter(notice)
    if isinstance(signal, list):
        images = [s for s in signal if isinstance(s, Signal2D)]
        titles = [str(s.metadata.get_item("General.title", "")) for s in images]
        if detector is not None:
            images = [s for s, t in zip(images, titles, strict=True) if t == str(detector)]
        if len(images) != 1:
            raise TomoFileError(
                f"{path} holds {len(signal)} signals ({[type(s).__name__ for s in signal]}, "
                f"titles {titles}); pick one with load(path, detector=title), or load it with "
                "hyperspy.api.load and pass the tilt series to TomoStack(...)."
            )
        signal = images[0]
    elif detector is not None:
        title = str(signal.metadata.get_item("General.title", ""))
        if title != str(detector):
            raise TomoFileError(f"{path} holds one signal, {title!r}, not detector={detector!r}.")
    if (not isinstance(signal, Signal2D) and signal.data.ndim == 3
            and signal.axes_manager.navigation_dimension == 0):
        signal = _as_images(signal)
    if not isinstance(signal, Signal2D):
        raise TomoFileError(
            f"{path} holds a {type(signal).__name__} of shape {signal.data.shape}, not a "
            "series of images."
        )
    return signal


def _as_images(signal):
    """A 3D signal without navigation axis (EMD Berkeley/tomviz as RosettaSciIO reads them) as
    images: the axis in degrees (tomviz's ``angles``) navigates, else the first array axis;
    axes named ``x``/``y`` are the image's, else the last two array axes (x the fastest)."""
    axes = sorted(signal.axes_manager._axes, key=lambda a: a.index_in_array)
    degree = [a for a in axes if _is_degrees(a.units)]
    nav = degree[0] if degree else axes[0]
    others = [a for a in axes if a is not nav]
    names = {str(a.name): a for a in others}
    image = [names["x"], names["y"]] if set(names) == {"x", "y"} else others[::-1]
    return signal.transpose(signal_axes=image)


def _is_degrees(units) -> bool:
    return str(units).lower() in ("deg", "degree", "degrees", "°", "[deg]")


def _calibrate(stack: TomoStack, tilts: np.ndarray) -> None:
    """Name and calibrate the projection axis in degrees (ETSpy does the same)."""
    axes = stack.axes_manager.navigation_axes
    if not axes or tilts.size == 0:
        return
    nav = axes[-1]
    nav.name, nav.units = "Projections", "degrees"
    nav.offset = float(tilts[0])
    step = float(np.mean(np.diff(tilts))) if tilts.size > 1 else 0.0
    nav.scale = step if step != 0 else 1.0  # exact for evenly spaced tilts
    if stack.axes_manager.navigation_dimension == 1:
        # the tilts' and shifts' projection axis follows (a copy would re-sync it anyway)
        stack.tilts, stack.shifts = stack.tilt_values, stack.shift_values


def _stack_class(signal) -> type:
    """LazyTomoStack for a lazily read signal (``load(..., lazy=True)``), else TomoStack."""
    return LazyTomoStack if getattr(signal, "_lazy", False) else TomoStack


def _finish(signal, tilts: np.ndarray, source: str, shifts=None) -> TomoStack:
    """Build the TomoStack, check values, calibrate the projection axis."""
    if isinstance(signal.data, np.ndarray):
        check_finite(signal.data, f"data of {source}")
    stack = _stack_class(signal)(signal, tilts=tilts, shifts=shifts)
    _calibrate(stack, np.asarray(tilts))
    return stack


# -- single files -------------------------------------------------------------------------


def _load_mrc(path: Path, tilts, mdoc=None, **kwargs) -> TomoStack:
    header = _mrc.read_mrc_header(path)
    if path.suffix.lower() not in (".mrc", ".ali"):
        kwargs.setdefault("reader", "MRC")  # RosettaSciIO knows only .mrc/.ali by name
    signal = _hs_read(path, **kwargs)
    if _imod.MRC_LABEL in _imod.mrc_labels(path):  # our .ali: turn IMOD's frame back to ours
        signal = signal._deepcopy_with_new_data(_imod.turn_images(signal.data, -_imod.IMOD_TURN))
        signal.get_dimensions_from_data()
    n = 1 if signal.data.ndim == 2 else int(signal.data.shape[0])
    mdoc_path = Path(mdoc) if mdoc is not None else _mdoc.find_mdoc(path)
    parsed = _mdoc.parse_mdoc(mdoc_path) if mdoc_path is not None else None
    if parsed is not None and tilts is None and _mdoc.find_tilt_file(path) is None:
        _mdoc.require_tilts(parsed)
    values = _resolve_tilts(path, n, [
        _sidecar_source(path),
        (mdoc_path, lambda: parsed.tilts if parsed is not None and parsed.tilts.size else None),
        ("its extended header", lambda: _header_tilts(path, header, signal, n)),
    ], tilts)
    if signal.data.ndim == 2:
        signal = _as_series([signal])
    if parsed is not None:
        _mdoc_metadata(signal, parsed, frames=1)
        signal, values = _mdoc_order(signal, values, parsed)
    return _finish(signal, values, str(path))


def _mdoc_order(signal, values, parsed):
    """Record the acquisition order (``DateTime``) and sort a dose-symmetric series by tilt."""
    rank = parsed.acquisition_order()
    if rank is None or rank.size != values.size:
        return signal, values
    order = np.argsort(values, kind="stable")
    if np.any(order != np.arange(values.size)):
        logger.info("%s is stored in acquisition order (dose-symmetric?): sorted by tilt; "
                    "metadata.Tomography.acquisition_order keeps the order of exposure.",
                    parsed.path.name)
        signal = signal._deepcopy_with_new_data(signal.data[order])
        values, rank = values[order], rank[order]
    signal.metadata.set_item("Tomography.acquisition_order", rank.tolist())
    return signal, values


def _header_tilts(path, header, signal, n) -> np.ndarray | None:
    """Tilts from the FEI extended header (as RosettaSciIO reads it) or SerialEM's."""
    found = _mrc.fei_tilts(signal, n)
    if found is None:
        found = _mrc.serialem_tilts(path, header)
    return found if found is not None and found.size == n else None


def _mdoc_metadata(signal, parsed, frames: int) -> None:
    """Microscope metadata from an .mdoc, where ETSpy puts it."""
    md = signal.metadata
    ny, nx = signal.data.shape[-2:]
    pairs = {
        "Acquisition_instrument.TEM.magnification": parsed.first("Magnification"),
        "Acquisition_instrument.TEM.beam_energy": parsed.first("Voltage"),
        "Acquisition_instrument.TEM.spot_size": parsed.first("SpotSize"),
        "Acquisition_instrument.TEM.defocus": parsed.first("Defocus"),
    }
    exposure = parsed.first("ExposureTime")
    if isinstance(exposure, float):
        pairs["Acquisition_instrument.TEM.dwell_time"] = exposure * frames / (nx * ny)
    pairs["Acquisition_instrument.TEM.tilt_axis_angle"] = parsed.tilt_axis_angle
    for key, value in pairs.items():
        if isinstance(value, float):
            md.set_item(key, value)
    signal.original_metadata.set_item(
        "SerialEM_mdoc", {k: v for k, v in parsed.header.items() if not isinstance(v, list)})


def _dm_tilts(signal, n: int) -> np.ndarray | None:
    """Tilts of a DM tilt series: its Tomography tags, else a degree-calibrated axis."""
    om = signal.original_metadata
    base = "ImageList.TagGroup0.ImageTags.Tomography.Tomography_setup.Tilt_angles."
    lo = om.get_item(base + "Minimum_tilt_angle_deg")
    step = om.get_item(base + "Tilt_angle_step_deg")
    if lo is not None and step is not None:
        tilts = float(lo) + float(step) * np.arange(n)  # n values, never one short
        hi = om.get_item(base + "Maximum_tilt_angle_deg")
        if hi is not None and abs(tilts[-1] - float(hi)) > abs(float(step)) / 2:
            logger.warning("DM tags give tilts %s..%s step %s but the file has %d images; "
                           "using %s + %s·k.", lo, hi, step, n, lo, step)
        return tilts
    nav = signal.axes_manager.navigation_axes
    if nav and str(nav[0].units).lower() in ("deg", "degree", "degrees", "°"):
        return np.asarray(nav[0].axis, dtype=np.float64)
    return None


def _load_dm(path: Path, tilts, **kwargs) -> TomoStack:
    signal = _hs_read(path, **kwargs)
    if signal.data.ndim == 2:
        return _load_image_series([path], tilts, **kwargs)
    n = int(signal.data.shape[0])
    values = _resolve_tilts(path, n, [("its DM tags", lambda: _dm_tilts(signal, n))], tilts)
    return _finish(signal, values, str(path))


def _load_hspy(path: Path, tilts, **kwargs):
    signal = _hs_read(path, **kwargs)
    if isinstance(signal, RecStack):
        return signal
    stack = signal if isinstance(signal, TomoStack) else _stack_class(signal)(signal)
    if tilts is not None:
        stack.tilts = _checked_tilts(tilts, stack._n_projections, "tilts=")
    if isinstance(stack.data, np.ndarray):
        check_finite(stack.data, f"data of {path}")
    return stack


def _load_other(path: Path, tilts, extra_sources=lambda signal, n: (), **kwargs) -> TomoStack:
    """Any stack RosettaSciIO reads (TIFF, TIA, EMD...): tilts from a sidecar, then the
    reader-specific ``extra_sources(signal, n)``."""
    signal = _hs_read(path, **kwargs)
    if signal.data.ndim == 2:
        signal = _as_series([signal])
    n = int(signal.data.shape[0])
    values = _resolve_tilts(path, n, [_sidecar_source(path), *extra_sources(signal, n)], tilts)
    return _finish(signal, values, str(path))


def _load_emd(path: Path, tilts, **kwargs) -> TomoStack:
    """Velox (tilts from each frame's ``Stage.AlphaTilt``), tomviz (tilts = ``dim1``) or
    EMD Berkeley (a sidecar, else a degree axis); RosettaSciIO reads the data of all three."""
    kind = _emd.emd_kind(path)
    if kind == "velox":
        signal = _hs_read(path, **kwargs)
        if signal.data.ndim == 2:  # a single frame: one projection at its stage tilt
            return _load_image_series([path], tilts, **kwargs)
        shape = tuple(signal.data.shape)
        return _load_other(path, tilts, extra_sources=lambda sig, n: [
            ("each frame's Stage.AlphaTilt", lambda: _emd.velox_frame_tilts(path, shape))],
            **kwargs)
    if kind == "tomviz-volume":
        data, axes = _emd.read_tomviz_volume(path)
        rec = RecStack(data)
        for ax, (name, scale, units) in zip(sorted(rec.axes_manager._axes,
                                                   key=lambda a: a.index_in_array), axes,
                                            strict=True):
            ax.name, ax.scale, ax.units = name, scale, units
        rec.metadata.General.original_filename = path.name
        record_io(rec, "load", "etspy_widgets.engine.io._emd")
        return rec
    if kind == "tomviz":
        return _load_other(path, tilts, extra_sources=lambda sig, n: [
            ("its dim1 (tomviz angles)", lambda: _emd.tomviz_angles(path))], **kwargs)
    return _load_other(path, tilts, extra_sources=lambda sig, n: [
        ("its axis in degrees", lambda: _degree_axis(sig))], **kwargs)


def _degree_axis(signal) -> np.ndarray | None:
    nav = signal.axes_manager.navigation_axes
    return np.asarray(nav[-1].axis, dtype=np.float64) if nav and _is_degrees(nav[-1].units) \
        else None


def _load_omezarr(path: Path, tilts, lazy: bool = False, level: int = 0, **kwargs):
    """An OME-Zarr image: a volume (three spatial axes) as a RecStack, else a tilt series."""
    from hyperspy.signals import LazySignal2D

    if kwargs:
        raise ArgumentTypeError(f"load() of OME-Zarr takes lazy= and level=; got {sorted(kwargs)}.")
    data, axes, scale, ours = _omezarr.read_omezarr(path, level)
    while data.ndim > 3 and data.shape[0] == 1:  # t, c of size 1
        data, axes, scale = data[0], axes[1:], scale[1:]
    if data.ndim != 3:
        raise TomoFileError(f"{path}: an OME-Zarr image of shape {data.shape}; a tilt series "
                            "or a volume has three axes (after dropping size-1 t/c axes).")
    kind = ours.get("kind") or ("volume" if all(a.get("type") == "space" for a in axes)
                                else "series")
    signal = LazySignal2D(data) if lazy else Signal2D(np.asarray(data))
    for k, ax in enumerate(sorted(signal.axes_manager._axes, key=lambda a: a.index_in_array)):
        ax.scale, ax.units = scale[k], _omezarr.axis_units(axes[k])
        ax.name = (ours.get("axes") or [a.get("name") for a in axes])[k]
    signal.metadata.General.original_filename = path.name
    record_io(signal, "load", "etspy_widgets.engine.io._omezarr")
    if kind == "volume":
        return (LazyRecStack if lazy else RecStack)(signal)
    n = int(data.shape[0])
    values = _resolve_tilts(path, n, [
        ("its etspy_widgets metadata", lambda: ours.get("tilts")), _sidecar_source(path)], tilts)
    return _finish(signal, values, str(path))


def _as_series(signals) -> Signal2D:
    """Stack single images (same shape) along a new ``Projections`` axis, keeping metadata."""
    from hyperspy.misc.utils import stack as hs_stack

    shapes = {s.data.shape for s in signals}
    if len(shapes) != 1:
        raise TomoFileError(f"The images do not all have the same shape: {sorted(shapes)}.")
    if len(signals) == 1:
        single = signals[0]
        out = single._deepcopy_with_new_data(np.asarray(single.data)[None])
        out.axes_manager._append_axis(size=1, navigate=True, name="Projections")
        out.axes_manager._update_attributes()
        return out
    return hs_stack(signals, new_axis_name="Projections", show_progressbar=False)


def _stage_tilt(signal) -> float | None:
    value = signal.metadata.get_item("Acquisition_instrument.TEM.Stage.tilt_alpha")
    if value is None or np.ndim(value) != 0:
        return None
    return float(value)


def _load_image_series(paths, tilts, **kwargs) -> TomoStack:
    """Single-image files (DM, TIFF...) → one series sorted by each file's stage tilt."""
    signals = [_hs_read(p, **kwargs) for p in paths]
    for p, s in zip(paths, signals, strict=True):
        if s.data.ndim != 2:
            raise TomoFileError(
                f"{p} holds {s.data.shape[0]} images; a list of files must hold one image each "
                "(load a stack file on its own)."
            )
    values = _resolve_tilts(f"{len(paths)} files", len(paths), [
        ("each file's stage tilt", lambda: _all_or_none([_stage_tilt(s) for s in signals])),
        ("the file names", lambda: _all_or_none([_name_tilt(p) for p in paths])),
        ("a tilt file in the folder", lambda: _folder_tilts(paths)),
        ("", lambda: _no_series_tilts(paths)),
    ], tilts)
    order = np.argsort(values, kind="stable")
    series = _as_series([signals[k] for k in order])
    series.metadata.General.original_filename = str(Path(paths[order[0]]).name)
    return _finish(series, values[order], f"{len(paths)} files")


def _mrc_series(paths, tilts, mdocs, **kwargs) -> TomoStack:
    """SerialEM multi-frame series: one MRC per tilt (its frames), tilts from the .mdoc files.

    One image per file gives an ordinary ``(n_tilts, ny, nx)`` series; several give ETSpy's
    ``(n_tilts, n_frames, ny, nx)`` with navigation axes ``(Frames, Projections)``.
    """
    if mdocs is not None and len(mdocs) != len(paths):
        raise InvalidArgumentError(
            f"Got {len(mdocs)} mdoc files for {len(paths)} MRC files; give one each.")
    signals, file_tilts, parsed_all = [], [], []
    for k, path in enumerate(paths):
        header = _mrc.read_mrc_header(path)
        signal = _hs_read(path, **kwargs)
        mdoc_path = Path(mdocs[k]) if mdocs is not None else _mdoc.find_mdoc(path)
        parsed = _mdoc.parse_mdoc(mdoc_path) if mdoc_path is not None else None
        if parsed is not None and tilts is None:
            _mdoc.require_tilts(parsed)
        parsed_all.append(parsed)
        if parsed is not None and parsed.tilts.size:
            file_tilts.append(float(np.mean(parsed.tilts)))
        elif (found := _mrc.serialem_tilts(path, header)) is not None:
            file_tilts.append(float(np.mean(found)))
        else:
            file_tilts.append(None)
        signals.append(signal)
    missing = [p.name for p, t in zip(paths, file_tilts, strict=True) if t is None]
    if tilts is None and missing and len(missing) < len(paths):
        raise TomoFileError(
            f"{len(missing)} of the {len(paths)} MRC files have no .mdoc (or extended header) "
            f"tilt: {missing[:5]}. Their tilts would be guessed; give the missing .mdoc files "
            "(mdocs=[...]) or all the tilts (tilts=[...]).")
    values = _resolve_tilts(f"{len(paths)} MRC files", len(paths), [
        ("the .mdoc files or extended headers", lambda: _all_or_none(file_tilts))], tilts)
    order = np.argsort(values, kind="stable")
    values = values[order]
    signals = [signals[k] for k in order]
    shapes = {s.data.shape for s in signals}
    if len(shapes) != 1:
        raise TomoFileError(f"The MRC files do not all have the same shape: {sorted(shapes)}.")
    first = signals[0]
    parsed = parsed_all[order[0]]
    if first.data.ndim == 2:
        series = _as_series(signals)
        if parsed is not None:
            _mdoc_metadata(series, parsed, frames=1)
        return _finish(series, values, f"{len(paths)} MRC files")
    from hyperspy.misc.utils import stack as hs_stack

    for s in signals:
        nav = s.axes_manager.navigation_axes[0]
        nav.name, nav.units, nav.scale, nav.offset = "Frames", "images", 1.0, 0.0
    series = hs_stack(signals, new_axis_name="Projections", show_progressbar=False)
    n_frames = int(series.data.shape[1])
    if parsed is not None:
        _mdoc_metadata(series, parsed, frames=n_frames)
    check_finite(np.asarray(series.data), "data of the MRC files")
    grid = np.repeat(values[:, None], n_frames, axis=1)
    series.metadata.set_item("Tomography.tilts", TomoTilts(grid[:, :, None]))
    series.metadata.set_item("Tomography.shifts",
                             TomoShifts(np.zeros((len(values), n_frames, 2))))
    stack = TomoStack(series)
    proj = stack.axes_manager["Projections"]
    proj.units = "degrees"
    proj.offset = float(values[0])
    proj.scale = float(np.mean(np.diff(values))) if values.size > 1 else 1.0
    logger.info("SerialEM multi-frame series: %d tilts × %d frames.", len(values), n_frames)
    return stack


# -- entry point -----------------------------------------------------------------------------


def load(filename, tilts=None, mdocs=None, **kwargs):
    """Load a tilt series as a ``TomoStack`` (ETSpy's ``etspy.load``, improved).

    Parameters
    ----------
    filename : str, Path, list of those, numpy.ndarray or hyperspy Signal2D
        * MRC (``.mrc``, IMOD ``.ali``/``.rec``/``.st``): tilts from ``tilts=``, else a
          ``.rawtlt``/``.tlt`` beside the file, else a SerialEM ``X.mrc.mdoc``/``X.mdoc``
          (``TiltAngle`` of every ``[ZValue]`` section), else the FEI or SerialEM extended
          header; none of these → tilts of 0 and a logged warning.
        * DM3/DM4 stack: the DM tomography tags (``start + step·k``), else a degree axis.
        * a list of single-image DM/TIFF/Velox/TIA files, or a folder of them (natural
          order): each file's stage tilt, else the file names (``tilt_-60.0.tif``), else
          the one ``.rawtlt``/``.tlt``/``.csv`` in the folder; sorted by tilt.
        * Velox EMD series: each frame's ``Stage.AlphaTilt``; tomviz EMD: ``dim1``; EMD
          Berkeley: an axis in degrees; TIA ``.ser``/``.emi`` and TIFF stacks: a sidecar.
        * OME-Zarr (a ``.zarr`` folder): a volume as a ``RecStack``; ``level=`` picks a
          resolution level.
        * a list of MRC files (SerialEM multi-frame): one tilt per file from its ``.mdoc``,
          sorted; several frames per file give navigation axes ``(Frames, Projections)``.
        * HSPY/ZSPY written by etspy-widgets or by ETSpy: tilts and shifts as saved. A saved
          ``RecStack`` loads as a RecStack.
        * a NumPy array ``(n, ny, nx)`` or a Signal2D: wrapped, with ``tilts``.
    tilts : array-like, optional
        One angle in degrees per projection (per file for a list); overrides the file's.
    mdocs : list of paths, optional
        SerialEM ``.mdoc`` files, one per MRC file of a list (default: found beside them).
    **kwargs
        ``detector="HAADF"`` picks one signal of a file holding several (Velox writes one
        per detector); ``level=k`` a resolution level of an OME-Zarr image; the rest is
        passed to ``hyperspy.api.load``. ``lazy=True`` (single files only) gives a
        ``LazyTomoStack`` whose data is read chunk by chunk (NaN checks are then skipped);
        its ``reconstruct`` is computed block by block (``engine.recon.lazy``), so a series
        larger than memory can be reconstructed into a ``.zspy`` store.

    Raises
    ------
    MismatchedTiltError
        If ``tilts`` (or a sidecar) does not hold one angle per projection.
    TomoFileError
        For a missing, truncated or unreadable file, an unknown format, or mixed formats.
    InvalidDataError
        If the data hold NaN or infinite values.
    ValueError
        For an empty list.
    """
    if kwargs.get("lazy") and not isinstance(filename, (str, os.PathLike)):
        raise InvalidArgumentError(
            "load(..., lazy=True) reads one file (MRC, DM3/DM4, HSPY/ZSPY) lazily; for a "
            "list of files or an array, load without lazy=True."
        )
    if isinstance(filename, np.ndarray):
        check_finite(filename, "array")
        return TomoStack(filename, tilts=tilts)
    if isinstance(filename, Signal2D):
        if isinstance(filename.data, np.ndarray):
            check_finite(filename.data, "signal")
        return TomoStack(filename, tilts=tilts)
    if isinstance(filename, (list, tuple)):
        return _load_list(list(filename), tilts, mdocs, **kwargs)
    if not isinstance(filename, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"Cannot load a {type(filename).__name__}. " + _supported_message())
    path = Path(filename).expanduser()
    _check_exists(path)
    ext = path.suffix.lower()
    if ext in HSPY_TYPES:
        return _load_hspy(path, tilts, **kwargs)
    if ext in MRC_TYPES:
        return _load_mrc(path, tilts, mdoc=mdocs[0] if mdocs else None, **kwargs)
    if ext in DM_TYPES:
        return _load_dm(path, tilts, **kwargs)
    if ext in ZARR_TYPES or _omezarr.is_omezarr(path):
        return _load_omezarr(path, tilts, **kwargs)
    if path.is_dir():
        return _load_list(_folder_files(path), tilts, mdocs, **kwargs)
    if ext in TIFF_TYPES + TIA_TYPES:
        return _load_other(path, tilts, **kwargs)
    if ext in EMD_TYPES:
        return _load_emd(path, tilts, **kwargs)
    raise UnknownFormatError(f"Unknown file type {path.suffix!r} ({path}). " +
                             _supported_message())


def _load_list(items, tilts, mdocs, **kwargs):
    if not items:
        raise InvalidArgumentError("load() got an empty list: give at least one file.")
    if all(isinstance(i, np.ndarray) for i in items):
        raise InvalidDataError("Stack the arrays first: load(np.stack(arrays), tilts=...).")
    if not all(isinstance(i, (str, os.PathLike)) for i in items):
        raise ArgumentTypeError("A list given to load() must hold file paths only.")
    paths = [Path(i).expanduser() for i in items]
    for p in paths:
        _check_exists(p)
    seen = {}
    for k, p in enumerate(paths):
        key = p.resolve()
        if key in seen:
            raise TomoFileError(
                f"The list holds {p} twice (items {seen[key]} and {k}): each projection "
                "would be loaded twice. Remove the duplicate.")
        seen[key] = k
    exts = {p.suffix.lower() for p in paths}
    if len(exts) != 1:
        raise TomoFileError(f"The files mix formats {sorted(exts)}; give files of one format.")
    ext = exts.pop()
    if ext in MRC_TYPES:
        return _mrc_series(paths, tilts, mdocs, **kwargs)
    if ext in IMAGE_TYPES:
        return _load_image_series(paths, tilts, **kwargs)
    if ext in HSPY_TYPES:
        raise TomoFileError("Load HSPY/ZSPY files one at a time: each holds a whole series.")
    raise UnknownFormatError(f"Unknown file type {ext!r}. " + _supported_message())
