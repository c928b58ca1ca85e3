"""What both tomography signals share: the per-projection values, the metadata, the history.

Tilts and shifts live in ``metadata.Tomography`` as small HyperSpy signals
([`TomoTilts`][], [`TomoShifts`][]) whose navigation axis is the stack's,
exactly where ETSpy keeps them. HyperSpy slices them with the stack
(``_additional_slicing_targets``), copies them with the metadata and saves them
with the file, so there is one place that holds them and nothing to keep in step.

Conventions (see ``docs/conventions.md``): a tilt series is ``(n_tilts, ny, nx)``
with the tilt axis along x; ``tilts`` are degrees; ``shifts[:, 0]`` is the shift
along y (across the tilt axis), ``shifts[:, 1]`` along x (along the tilt axis),
in pixels, as the shift that was *applied* to the data.
"""


from __future__ import annotations

import contextvars
import logging
import os
from pathlib import Path

import numpy as np
from hyperspy._signals.signal1d import Signal1D
from hyperspy._signals.signal2d import Signal2D
from traits.api import Undefined

from ..atomic import atomic_path
from ..errors import InvalidDataError, OutputPathError
from ._guards import check_save_call, checked_slice, refuse_empty
from ._history import record_slice

logger = logging.getLogger(__name__)
# set while a TomoStack slices its per-projection values along with itself: no warning then
_SLICED_WITH_STACK = contextvars.ContextVar("sliced_with_stack", default=False)

_SLICING_TARGETS = [
    "metadata.Signal.Noise_properties.variance",
    "metadata.Tomography.tilts",
    "metadata.Tomography.shifts",
]

_DEFAULT_TOMOGRAPHY = {
    "tiltaxis": 0.0,  # tilt-axis rotation applied, degrees
    "xshift": 0.0,  # shift along the axis (x) applied after the rotation, pixels
    "yshift": 0.0,  # tilt-axis offset applied across the axis (y) after the rotation, pixels
    "cropped": False,
}


class _NavOnlySignal(Signal1D):
    """A per-projection value: sliced by ``inav`` with its stack, untouched by ``isig``."""

    _signal_dimension = 1
    _width = 1

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        if self.axes_manager.signal_shape != (self._width,):
            what = "Tilt" if self._width == 1 else "Shift"
            raise InvalidDataError(  # ETSpy's sentence first
                f"{what} values must have a signal shape of ({self._width},), but was "
                f"{self.axes_manager.signal_shape}: a {type(self).__name__} holds "
                f"{'one angle' if self._width == 1 else 'one (y, x) pair'} per projection."
            )

    def _slicer(self, slices, isNavigation=None, out=None):
        if not isNavigation:
            # the stack's isig does not change which projections there are
            if not _SLICED_WITH_STACK.get():
                logger.warning("%s does not support 'isig' slicing: it holds one value per "
                               "projection; returned unchanged.", type(self).__name__)
            if out is not None:
                out.data = self.data.copy()
                return out
            return self.deepcopy()
        return super()._slicer(slices, isNavigation, out)


class TomoTilts(_NavOnlySignal):
    """The tilt angle of each projection, in degrees: data of shape ``(n, 1)``."""

    _signal_type = "TomoTilts"
    _width = 1


class TomoShifts(_NavOnlySignal):
    """The (y, x) shift applied to each projection, in pixels: data of shape ``(n, 2)``."""

    _signal_type = "TomoShifts"
    _width = 2


def _nav_signal(cls, values: np.ndarray, nav_axis) -> Signal1D:
    """``nav_axis``: the stack's projection axis, or all its navigation axes (multi-frame)."""
    sig = cls(np.asarray(values, dtype=np.float64))
    title = "Image tilt values" if cls is TomoTilts else "Image shift values"
    sig.metadata.General.title = title
    sources = list(nav_axis) if isinstance(nav_axis, (list, tuple)) else [nav_axis]
    for ax, source in zip(sig.axes_manager.navigation_axes, sources, strict=False):
        if source is None:
            continue
        for attr in ("name", "units", "offset", "scale"):
            value = getattr(source, attr, Undefined)
            if value is not Undefined:
                setattr(ax, attr, value)
    sax = sig.axes_manager.signal_axes[0]
    sax.name = "Tilt values" if cls is TomoTilts else "Shift values (y, x)"
    sax.units = "degrees" if cls is TomoTilts else "pixels"
    return sig


class _TomoMetadataMixin:
    """``metadata.Tomography`` defaults and the processing history, shared by both stacks."""

    def _init_tomography_metadata(self) -> None:
        md = self.metadata
        if not md.has_item("Tomography"):
            md.add_node("Tomography")
        tomo = md.Tomography
        for key, value in _DEFAULT_TOMOGRAPHY.items():
            if not tomo.has_item(key):
                tomo.set_item(key, value)
        if not tomo.has_item("history"):
            tomo.set_item("history", [])
        if not tomo.history:
            shape = " × ".join(str(n) for n in np.shape(self.data))
            name = self._history_name
            tomo.set_item("history", [
                f"# {name}: data from memory (an array of {shape}); supply it to replay, "
                f"e.g. etw.replay(code, {name}={name}) or {name} = etw.load('file')"])

    def _slicer(self, slices, isNavigation=None, out=None):
        if isNavigation is None:
            return super()._slicer(slices, isNavigation, out)
        result, *where = checked_slice(
            self, slices, isNavigation, lambda: super(_TomoMetadataMixin, self)._slicer(
                slices, isNavigation, out))
        refuse_empty(result if out is None else out, *where)
        record_slice(result if out is None else out, self,
                     "inav" if isNavigation else "isig", slices)
        return result

    @property
    def history(self) -> list[str]:
        """Lines of Python that produced this signal, oldest first (``metadata.Tomography``)."""
        hist = self.metadata.get_item("Tomography.history", [])
        return [str(h) for h in np.atleast_1d(hist).tolist()] if len(hist) else []

    def add_history(self, line: str) -> None:
        """Append one line of Python source to the processing history."""
        self.metadata.set_item("Tomography.history", [*self.history, str(line)])

    def copy(self):
        """A copy that shares the data and the tilt and shift arrays (as HyperSpy's and
        ETSpy's ``copy``) but has its own metadata, axes and slicers: setting the copy's
        tilts, shifts or history (``copy.tilts = ...``) leaves this signal's alone (as in
        ETSpy), and ``copy.inav[...]`` slices the copy (HyperSpy's shallow copy keeps
        slicers bound to the original)."""
        out = self._deepcopy_with_new_data(self.data)
        for key in ("tilts", "shifts"):  # their arrays are shared too, as the data are
            mine = self.metadata.get_item(f"Tomography.{key}")
            theirs = out.metadata.get_item(f"Tomography.{key}")
            if hasattr(mine, "data") and hasattr(theirs, "data"):
                theirs.data = mine.data
        return out

    def save(self, filename=None, overwrite: bool = False, extension=None,
             file_format=None, **kwargs):
        """Save like HyperSpy does, but never leave a half-written file behind.

        The file is written under a temporary name beside ``filename`` and
        renamed into place when complete. An existing file is replaced only
        with ``overwrite=True`` (HyperSpy would ask on the console). Our hand-off formats
        (``.xf``, ``.tlt``, ``.aln``, ``.ali``, ``.mrc``, ``.emd`` (tomviz), ``.zarr``
        (OME-Zarr), ``file_format="imod"``) are written by ``engine.io.export``.
        """
        check_save_call(filename, extension, file_format)
        writer = _EXTENSIONS.get("writer")
        if filename is not None and writer is not None \
                and writer.accepts(filename, file_format):
            return writer.save(self, filename, file_format, overwrite, **kwargs)[0]
        if filename is None:
            title = self.metadata.get_item("General.title") or type(self).__name__
            filename = f"{title}.{extension or 'hspy'}"
        path = Path(filename)
        if extension is not None:
            path = path.with_suffix("." + extension.lstrip("."))
        elif not path.suffix:
            path = path.with_suffix(".hspy")
        # HDF5 does not recover from a full disk inside its own calls (it can crash the
        # process at exit): an .hspy is refused up front when the disk cannot hold the data
        hdf5 = (file_format or path.suffix.lstrip(".")).lower() in ("hspy", "hdf5", "h5")
        need = int(getattr(self.data, "nbytes", 0)) + 65536 if hdf5 else None
        with atomic_path(path, overwrite=overwrite, need_bytes=need) as tmp:
            try:
                Signal2D.save(self, os.fspath(tmp), overwrite=True, file_format=file_format,
                              **kwargs)
            except (ValueError, TypeError) as err:  # RosettaSciIO: an unknown format
                if "format" not in str(err) and "extension" not in str(err):
                    raise
                raise OutputPathError(
                    f"Cannot save {path.name} as {file_format or path.suffix!r}: "
                    f"{str(err).splitlines()[0][:200]} Use .hspy, .zspy, .mrc, .emd, .zarr, "
                    ".tif or another RosettaSciIO format.") from err
        return path


#: What layers above the signals lend to them (the file writers of ``engine.io.export``,
#: ``apply_alignment``, the widgets' viewers): registered from above, so the signals import
#: nothing above them. ``name`` → ``(implementation, what to do when it is missing)``.
_EXTENSIONS: dict = {}
_MISSING = {"viewer:": "import etspy_widgets (it registers VolumeView), or call "
                       "etspy_widgets.VolumeView(rec) directly",
            "": "import etspy_widgets first (its engine.io registers it)"}


def register_extension(name: str, implementation) -> None:
    """Lend the signals an implementation from a higher layer (e.g. ``engine.io.export``)."""
    _EXTENSIONS[str(name)] = implementation


def extension(name: str):
    """The implementation registered as ``name``."""
    try:
        return _EXTENSIONS[name]
    except KeyError:
        hint = next(v for k, v in _MISSING.items() if name.startswith(k))
        raise RuntimeError(f"Nothing is registered as {name!r}: {hint}.") from None


def register_viewer(name: str, factory) -> None:
    """Register ``factory(signal, **kwargs)`` as the viewer ``name`` (``RecStack.render``).

    The widgets layer registers its viewers here, so the signals never import a widget.
    """
    register_extension(f"viewer:{name}", factory)


def viewer(name: str):
    """The viewer factory registered as ``name``."""
    return extension(f"viewer:{name}")


__all__ = ["TomoShifts", "TomoTilts", "extension", "register_extension", "register_viewer",
           "viewer"]
