"""Tomography signals: [`TomoStack`][] (a tilt series) and [`RecStack`][] (a volume).

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
import copy as _copy
import logging
import numbers
import os
from pathlib import Path

import numpy as np
from hyperspy._signals.signal1d import Signal1D
from hyperspy._signals.signal2d import Signal2D
from hyperspy.signals import LazySignal2D
from traits.api import Undefined

from ..atomic import atomic_path
from ..errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvalidDataError,
    InvalidTiltsError,
    MismatchedTiltError,
    NotATiltSeriesError,
    OutputPathError,
    check_method,
)
from ..validate import (
    as_bool,
    as_float,
    as_int,
    as_path,
    as_tilt_array,
    as_values,
)
from ..visualize import (
    VOLUME_AXES,
    plot_missing_wedge,
    project_volume,
    rotate_volume,
    volume_axis,
)
from . import _quality_verbs
from ._align_verbs import AlignMixin
from ._common import CommonStackMixin
from ._guards import (
    check_array_data,
    check_pair,
    check_save_call,
    check_view_call,
    checked_column,
    checked_projections,
    checked_slice,
    refuse_empty,
)
from ._history import record_slice, records
from ._recon_verbs import ReconMixin, RecStackMixin

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


class TomoStack(AlignMixin, ReconMixin, _TomoMetadataMixin, Signal2D):
    """A tilt series: navigation = projections, signal = the projection image.

    Parameters
    ----------
    data : numpy.ndarray or hyperspy Signal2D
        Projections of shape ``(n_tilts, ny, nx)``; a Signal2D keeps its axes and metadata.
    tilts : array-like, TomoTilts, optional
        One tilt angle per projection, in degrees. Defaults to tilts already in the
        signal's ``metadata.Tomography``, else zeros.
    shifts : array-like, TomoShifts, optional
        ``(n_tilts, 2)`` shifts (y, x) in pixels already applied to the data; default zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from etspy_widgets import TomoStack
    >>> stack = TomoStack(np.zeros((3, 8, 8)), tilts=[-10, 0, 10])
    >>> stack.tilts.data[:, 0].tolist()
    [-10.0, 0.0, 10.0]
    """

    _signal_type = "TomoStack"
    _signal_dimension = 2
    _lazy = False

    def __init__(self, data, tilts=None, shifts=None, *args, **kwargs):
        from_signal = isinstance(data, Signal2D)  # its calibration is kept as it is
        if from_signal:
            signal = data
            kwargs.setdefault("axes", signal.axes_manager._get_axes_dicts())
            kwargs.setdefault("metadata", signal.metadata.deepcopy().as_dictionary())
            kwargs.setdefault("original_metadata", signal.original_metadata.as_dictionary())
            data = signal.data
        elif not hasattr(data, "shape"):
            data = np.asarray(data)
        # 4D = SerialEM multi-frame series (n_tilts, n_frames, ny, nx), as ETSpy loads it
        if hasattr(data, "ndim") and data.ndim not in (2, 3, 4) and data.dtype != object:
            raise NotATiltSeriesError(
                f"Invalid number of navigation dimensions for a TomoStack "
                f"({max(data.ndim - 2, 0)}). Must be either 0, 1, or 2. A tilt series needs "
                f"data of shape (n_tilts, ny, nx); got {data.shape}. Stack your projections "
                "into one 3D array first."
            )
        check_array_data(data, "TomoStack")
        super().__init__(data, *args, **kwargs)
        self._additional_slicing_targets = list(_SLICING_TARGETS)
        self._init_tomography_metadata()
        self._name_axes(keep_units=from_signal)
        if tilts is not None:
            self.tilts = tilts
        elif not self._has_valid("tilts"):
            self.tilts = None
        if shifts is not None:
            self.shifts = shifts
        elif not self._has_valid("shifts"):
            self.shifts = None

    def _slicer(self, slices, isNavigation=None, out=None):
        if not isNavigation and self.axes_manager.signal_dimension == 2:
            slices = self._one_pixel_wide(slices)
        token = _SLICED_WITH_STACK.set(True)
        try:
            return super()._slicer(slices, isNavigation, out)
        finally:
            _SLICED_WITH_STACK.reset(token)

    def _one_pixel_wide(self, slices):
        """``isig[5, :]`` keeps a one-pixel-wide TomoStack (a sinogram slab, as ETSpy does)
        instead of dropping the axis and returning a Signal1D."""
        items = list(slices) if isinstance(slices, tuple) else [slices]
        for i, (item, axis) in enumerate(zip(items, self.axes_manager.signal_axes,
                                             strict=False)):
            if isinstance(item, numbers.Number) and not isinstance(item, bool):
                index = int(item) if isinstance(item, numbers.Integral) else \
                    int(axis.value2index(item))
                index %= axis.size
                logger.warning('Slicing a TomoStack signal axis with a single pixel is not '
                               'supported. Returning a single pixel on the "%s" axis instead',
                               axis.name)
                items[i] = slice(index, index + 1)
        return tuple(items) if isinstance(slices, tuple) else items[0]

    # -- axes and per-projection values ------------------------------------------
    def _name_axes(self, keep_units: bool = False) -> None:
        am = self.axes_manager
        if am.navigation_dimension == 2:  # a multi-frame series (ETSpy's names)
            frames = am.navigation_axes[0]
            if frames.name in (Undefined, "", None) or str(frames.name) == "Axis0":
                frames.name = "Frames"
                if frames.units in (Undefined, "", None):
                    frames.units = "images"
        if am.navigation_dimension >= 1:
            nav = am.navigation_axes[-1]
            if nav.name in (Undefined, "", "z", None) or str(nav.name) == "Axis0":
                nav.name = "Projections"
                if nav.units in (Undefined, "", None):
                    nav.units = "degrees"
        if am.signal_dimension == 2:
            am.signal_axes[0].name = "x"
            am.signal_axes[1].name = "y"
            for ax in am.signal_axes:
                if ax.units in (Undefined, "", None) and not keep_units:
                    ax.units = "pixels"

    @property
    def _n_projections(self) -> int:
        nav = self.axes_manager.navigation_shape
        return int(np.prod(nav)) if nav else 1

    def _nav_axis(self):
        axes = self.axes_manager.navigation_axes
        return axes[-1] if axes else None

    def _has_valid(self, key: str) -> bool:
        value = self.metadata.get_item(f"Tomography.{key}")
        width = 1 if key == "tilts" else 2
        if value is None or not hasattr(value, "data"):
            return False
        ok = np.size(value.data) == self._n_projections * width
        if ok and not isinstance(value, TomoTilts if key == "tilts" else TomoShifts):
            nav = tuple(self.axes_manager.navigation_shape[::-1])
            self._set_values(key, np.reshape(value.data, (*nav, width) if len(nav) > 1
                                             else (-1, width)))
        return ok

    def _set_values(self, key: str, values) -> None:
        self.metadata.set_item(f"Tomography.{key}", self._make_values(key, values))

    def _make_values(self, key: str, values) -> TomoTilts | TomoShifts:
        """The checked ``TomoTilts``/``TomoShifts`` for ``values`` (None: zeros), not stored."""
        cls = TomoTilts if key == "tilts" else TomoShifts
        width = cls._width
        n = self._n_projections
        nav = tuple(self.axes_manager.navigation_shape[::-1])  # array order
        expected = (*nav, width)
        if values is None:
            arr = np.zeros(expected if len(nav) > 1 else (n, width))
            if len(nav) > 1:
                return _nav_signal(cls, arr, self.axes_manager.navigation_axes)
        else:
            if hasattr(values, "data") and not isinstance(values, np.ndarray):
                values = values.data
            arr = as_tilt_array(values, key)
            if len(nav) > 1:  # a multi-frame series: (n_tilts, n_frames, width), as ETSpy
                if width == 1 and arr.shape == nav:
                    arr = arr[..., np.newaxis]  # (n_tilts, n_frames) tilts, as ETSpy takes
                if arr.shape != expected:
                    raise (InvalidTiltsError if key == "tilts" else InvalidDataError)(
                        f"Shape of {key} array must be {expected} to match the navigation "
                        f"size of the stack (was {arr.shape})."
                    )
                if not np.isfinite(arr).all():
                    raise InvalidDataError(f"The {key} hold NaN or infinite values.")
                return _nav_signal(cls, arr, self.axes_manager.navigation_axes)
            if key == "tilts":
                if arr.ndim == 2 and arr.shape[1] == 1:
                    arr = arr[:, 0]
                shape = np.shape(values)
                if arr.ndim != 1:
                    raise InvalidTiltsError(
                        f"Shape of tilts array must be ({n}, 1) to match the navigation size "
                        f"of the stack (was {shape}): give a 1D sequence of angles in degrees, "
                        "one per projection."
                    )
                if arr.shape[0] != n:
                    raise MismatchedTiltError(arr.shape[0], n, shape=shape)
                arr = arr[:, None]
            elif arr.shape != (n, 2):
                raise InvalidDataError(
                    f"Shape of shifts array must be ({n}, 2) to match the navigation size of "
                    f"the stack (was {arr.shape}): one (y, x) pair per projection."
                )
            if not np.isfinite(arr).all():
                raise (InvalidTiltsError if key == "tilts" else InvalidDataError)(
                    f"The {key} hold NaN or infinite values: {arr.ravel().tolist()[:10]}..."
                )
        return _nav_signal(cls, arr, self._nav_axis())

    @property
    def tilts(self) -> TomoTilts:
        """Tilt angles in degrees, a ``TomoTilts`` of shape ``(n, 1)`` (ETSpy's form)."""
        return self.metadata.Tomography.tilts

    @tilts.setter
    def tilts(self, values) -> None:
        self._set_values("tilts", values)

    @tilts.deleter
    def tilts(self) -> None:
        """``del stack.tilts`` sets every tilt to zero (as ETSpy)."""
        self._set_values("tilts", None)

    @property
    def shifts(self) -> TomoShifts:
        """Shifts (y, x) applied to each projection in pixels, a [`TomoShifts`][]."""
        return self.metadata.Tomography.shifts

    @shifts.setter
    def shifts(self, values) -> None:
        self._set_values("shifts", values)

    @shifts.deleter
    def shifts(self) -> None:
        """``del stack.shifts`` sets every shift to zero (as ETSpy)."""
        self._set_values("shifts", None)

    def shift_and_tilt_setter(self, mode: str, value) -> TomoTilts | TomoShifts:
        """ETSpy's helper of the ``tilts``/``shifts`` setters: the checked signal for ``value``.

        ``mode`` is ``"tilts"`` or ``"shifts"``; ``value`` an array, a ``TomoTilts``/
        ``TomoShifts``, or None (zeros). Returns the signal that ``stack.tilts = value``
        (or ``stack.shifts = value``) would store, with the stack's projection axis; like
        ETSpy's, it does not store it.
        """
        mode = check_method("mode", mode, ("tilts", "shifts"))
        return self._make_values(mode, value)

    @property
    def tilt_values(self) -> np.ndarray:
        """The tilts as a plain 1D float array (a copy)."""
        return np.asarray(self.tilts.data, dtype=np.float64).reshape(-1).copy()

    @property
    def shift_values(self) -> np.ndarray:
        """The shifts as a plain ``(n, 2)`` float array of (y, x) (a copy)."""
        return np.asarray(self.shifts.data, dtype=np.float64).reshape(-1, 2).copy()

    # -- copying and reshaping -------------------------------------------------
    def deepcopy(self):
        """A full copy: data, axes, metadata (tilts, shifts, history) and all.

        The copy's metadata equal this stack's, history included (as in HyperSpy and ETSpy):
        a copy is the same series, not a processing step, so no line is added.
        """
        return _copy.deepcopy(self)

    def set_tilts(self, start: float, increment: float) -> None:
        """Set tilts to ``start + increment * k`` for each projection ``k`` (exactly ``n`` values).

        Also calibrates the projection axis in degrees, as ETSpy does.
        """
        start, increment = as_float("start", start), as_float("increment", increment)
        n = self._n_projections
        ax = self._nav_axis()
        if ax is not None:
            ax.name, ax.units = "Projections", "degrees"
            ax.offset, ax.scale = float(start), float(increment)
        self.tilts = float(start) + float(increment) * np.arange(n)

    @records()
    def remove_projections(self, projections=None) -> TomoStack:
        """Return a copy without the projections at the given indices (tilts/shifts follow).

        Negative indices count from the end, as in NumPy.
        """
        n = self._n_projections
        keep = np.ones(n, dtype=bool)
        keep[checked_projections(projections, n)] = False
        out = self._deepcopy_with_new_data(np.asarray(self.data)[keep])
        out._nav_axis().size = int(keep.sum())
        out.tilts = self.tilt_values[keep]
        out.shifts = self.shift_values[keep]
        return out

    # -- small helpers ETSpy users rely on (invert, normalize, stats, ... : common.py) --
    def test_correlation(self, images=None):
        """Show two projections and their cross-correlation (a quick check of registration).

        Returns the matplotlib figure.
        """
        import matplotlib.pyplot as plt

        first, second = (0, 1) if images is None else check_pair(images, self._n_projections)
        im1 = np.asarray(self.data[first], dtype=np.float64)
        im2 = np.asarray(self.data[second], dtype=np.float64)
        cc = np.fft.fftshift(np.fft.ifft2(np.fft.fft2(im1) * np.fft.fft2(im2).conj())).real
        fig, axes = plt.subplots(1, 3, figsize=(8, 3))
        for axis, img, title, cmap in zip(
            axes, (im1, im2, cc), ("Reference image", "Offset image", "Cross-correlation"),
            ("gray", "gray", "inferno"), strict=True,
        ):
            axis.imshow(img, cmap=cmap)
            axis.set_title(title)
            axis.set_axis_off()
        return fig

    def extract_sinogram(self, column) -> Signal2D:
        """The sinogram at one column (int index, or float in the x axis's units).

        Returns a Signal2D of shape ``(n_tilts, ny)``: ``stack[:, :, column]``.
        """
        ax = self.axes_manager.signal_axes[0]
        index = checked_column(self, column)
        data = np.asarray(self.data[:, :, index])
        sino = Signal2D(data)
        sino.axes_manager[0].update_from(self.axes_manager.signal_axes[1],
                                         ("name", "scale", "offset", "units"))
        sino.axes_manager[1].update_from(self._nav_axis(), ("name", "scale", "offset", "units"))
        sino.metadata.General.title = (
            f"Sinogram at x = {column} {ax.units}" if isinstance(column, float)
            else f"Sinogram at column {index}"
        )
        return sino

    def plot_sinos(self, *args, **kwargs):
        """Plot the series in sinogram orientation (navigate along x)."""
        axes = [dict(v) for v in self.axes_manager.as_dictionary().values()]
        # (projections, y, x) → navigate x, show (y across, projections down), calibrated
        sig = Signal2D(np.asarray(self.data), axes=axes).swap_axes(1, 0).swap_axes(1, 2)
        sig.metadata.General.title = "Sinograms"
        return sig.plot(*args, navigator="slider", **kwargs)

    def plot_missing_wedge(self, size: int = 128, ax=None):
        """Plot the Fourier coverage of this tilt series (see ``engine.visualize``)."""
        if ax is not None and not hasattr(ax, "figure"):
            raise ArgumentTypeError(f"ax must be a matplotlib Axes or None; got "
                                    f"{type(ax).__name__}.")
        return plot_missing_wedge(self.tilt_values, size=as_int("size", size, minimum=4),
                                  ax=ax)

    # -- hand-offs (engine.io.export) --------------------------------------------
    @records()
    def apply_alignment(self, path, shift_type: str = "fourier"):
        """Apply an IMOD ``.xf`` or AreTomo ``.aln`` alignment (``engine.io.export``)."""
        return extension("apply_alignment")(self, as_path("path", path), shift_type)

    def save_alignment(self, path, overwrite: bool = False, raw_shape=None):
        """Write the alignment as ``.xf``, ``.aln`` or ``.tlt`` (by extension; ``io.export``)."""
        if raw_shape is not None:
            raw_shape = tuple(int(v) for v in as_values("raw_shape", raw_shape, size=2,
                                                        minimum=1))
        return extension("save_alignment")(self, as_path("path", path), overwrite, raw_shape)

    # -- judging the alignment (signals/_quality_verbs.py) ---------------------------------
    def quality(self, rec=None, **kwargs):
        """Per-projection consistency, bad projections, resolution: a ``QualityReport``."""
        return _quality_verbs.quality(self, rec, **kwargs)

    def tilt_axis_scan(self, rotations=None, offsets=None, **kwargs):
        """Data-consistency scan of the tilt-axis rotation and offset: a ``TiltAxisScan``."""
        return _quality_verbs.tilt_axis_scan(self, rotations, offsets, **kwargs)


class RecStack(RecStackMixin, CommonStackMixin, _TomoMetadataMixin, Signal2D):
    """A reconstructed volume of shape ``(nx, thickness, ny)``: one slice per column.

    Navigation runs along the tilt axis (x); each signal image is a slice
    ``(thickness, ny)`` perpendicular to it. ETSpy's ``CommonStack`` verbs (``invert``,
    ``normalize``, ``stats``, ``change_data_type``, ``save_raw``, ``trans_stack``) come
    from [`CommonStackMixin`][etspy_widgets.engine.signals.CommonStackMixin]; on a volume
    ``invert``/``normalize`` scale the whole volume and ``trans_stack`` rotates it about x.
    """

    _per_projection = False
    _history_name = "rec"

    _signal_type = "RecStack"
    _signal_dimension = 2
    _lazy = False

    def __init__(self, data, *args, **kwargs):
        if isinstance(data, Signal2D):
            kwargs.setdefault("axes", data.axes_manager._get_axes_dicts())
            kwargs.setdefault("metadata", data.metadata.deepcopy().as_dictionary())
            data = data.data
        elif not hasattr(data, "shape"):
            data = np.asarray(data)
        if hasattr(data, "ndim") and data.ndim > 3:
            raise InvalidDataError(
                "A RecStack must have a singular (or no) navigation axis. Navigation shape "
                f"was: {tuple(data.shape[:-2][::-1])}. A volume is (nx, ny, nz) data.")
        check_array_data(data, "RecStack")
        super().__init__(data, *args, **kwargs)
        self._init_tomography_metadata()
        am = self.axes_manager
        if am.navigation_dimension == 1 and am.navigation_axes[0].name in (Undefined, ""):
            am.navigation_axes[0].name = "x"
        if am.signal_dimension == 2:
            if am.signal_axes[0].name in (Undefined, ""):
                am.signal_axes[0].name = "y"
            if am.signal_axes[1].name in (Undefined, ""):
                am.signal_axes[1].name = "z"

    def deepcopy(self):
        """A full copy: data, axes and metadata (history included, no line added)."""
        return _copy.deepcopy(self)

    def plot_slices(self, xslice=None, yslice=None, zslice=None, return_fig: bool = True,  # noqa: PLR0917 -- ETSpy's positional order
                    vmin_std=0.1, vmax_std=10, **kwargs):
        """Plot three orthogonal slices through the volume (centre by default).

        Returns the matplotlib figure (``return_fig=False``: None, as ETSpy's default);
        other keyword arguments go to ``imshow`` (e.g. ``cmap="gray"``).
        """
        import matplotlib.pyplot as plt

        xslice, yslice, zslice = check_view_call(self, (xslice, yslice, zslice), vmin_std,
                                                 vmax_std)
        vol = np.asarray(self.data)
        nx, nz, ny = vol.shape
        xs = nx // 2 if xslice is None else int(xslice)
        zs = nz // 2 if zslice is None else int(zslice)
        ys = ny // 2 if yslice is None else int(yslice)
        planes = {
            f"x = {xs} (slice)": vol[xs, :, :],
            f"z = {zs}": vol[:, zs, :],
            f"y = {ys}": vol[:, :, ys],
        }
        mean, std = float(vol.mean()), float(vol.std())
        vmin, vmax = mean - vmin_std * std, mean + vmax_std * std
        fig, axes = plt.subplots(1, 3, figsize=(12, 4))
        kwargs = {"cmap": "afmhot", "vmin": vmin, "vmax": vmax, **kwargs}
        for axis, (title, img) in zip(axes, planes.items(), strict=True):
            axis.imshow(img, **kwargs)
            axis.set_title(title)
            axis.set_axis_off()
        fig.tight_layout()
        return fig if as_bool("return_fig", return_fig) else None

    def plot_3d(self, vmin_std: float = 0.1, vmax_std: float = 10, figsize=(10, 4)):
        """ETSpy's ``plot_3d`` arguments, drawn by [`plot_slices`][]: the three central
        orthogonal slices in a static figure of size ``figsize`` (returned).

        ETSpy showed the same three planes with sliders to move them; here pass the
        positions to ``plot_slices(xslice, yslice, zslice)``, or use ``render()`` for an
        interactive 3D view.
        """
        size = as_values("figsize", figsize, size=2, minimum=0.1, allow_none=True)
        fig = self.plot_slices(vmin_std=vmin_std, vmax_std=vmax_std)
        if size is not None:
            fig.set_size_inches(*size)
        return fig

    # -- projections, rotation and 3D view (engine.visualize, widgets.volume) --
    def _projection(self, axis, kind: str) -> Signal2D:
        index = volume_axis(axis)
        out = Signal2D(project_volume(self.data, index, kind))
        names = [n for n, i in sorted(VOLUME_AXES.items(), key=lambda kv: kv[1]) if i != index]
        out.metadata.General.title = f"{kind.capitalize()} projection along {'xzy'[index]}"
        for sig_ax, name in zip(out.axes_manager.signal_axes, names[::-1], strict=True):
            sig_ax.name = name
        return out

    def max_projection(self, axis="z") -> Signal2D:
        """Maximum-intensity projection along ``'x'``, ``'z'`` (default, the beam) or ``'y'``."""
        return self._projection(axis, "max")

    def mean_projection(self, axis="z") -> Signal2D:
        """Mean projection along ``'x'``, ``'z'`` (default, the beam) or ``'y'``."""
        return self._projection(axis, "mean")

    def rotate_volume(self, rotation_angles=None, cuda: bool | None = False) -> RecStack:
        """Rotate the volume about its centre by ``rotation_angles`` (degrees about x, z, y).

        ETSpy's signature; ``cuda`` is accepted and ignored (CPU spline interpolation).
        """
        if rotation_angles is None:
            raise InvalidArgumentError("rotation_angles=None: give three angles in degrees "
                                       "about x, z and y, e.g. rotate_volume((0, 30, 0)).")
        data, matrix, offset = rotate_volume(self.data, rotation_angles)
        out = self.deepcopy()
        out.data = data.astype(np.asarray(self.data).dtype, copy=False)
        out.rotation_angles = np.asarray(rotation_angles, dtype=np.float64)
        out.rotation_matrix, out.rotation_offset = matrix, offset
        return out

    def render(self, **kwargs):
        """A 3D view of the volume from the viewer registered as ``"volume"``.

        ``import etspy_widgets`` registers ``etspy_widgets.VolumeView`` (ipyvolume); the
        engine itself imports no widget library (``register_viewer``).
        """
        return viewer("volume")(self, **kwargs)


class LazyTomoStack(TomoStack, LazySignal2D):
    """A [`TomoStack`][] whose data is a Dask array, read or computed chunk by chunk.

    ``hs.load(path, lazy=True)`` and ``etspy_widgets.load(path, lazy=True)`` give one;
    ``compute()`` turns it into a [`TomoStack`][] in memory.
    """

    _lazy = True


class LazyRecStack(RecStack, LazySignal2D):
    """A [`RecStack`][] computed chunk by chunk (see ``scale``).

    Saving it to ``.zspy`` writes each chunk as it is computed, so a volume larger than
    memory can be reconstructed.
    """

    _lazy = True


TomoStack._volume_class = RecStack
TomoStack._lazy_volume_class = LazyRecStack
RecStack._series_class = TomoStack

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


def as_tomostack(signal_or_array, tilts=None) -> TomoStack:
    """Return ``signal_or_array`` as a ``TomoStack`` (no copy when it already is one)."""
    if isinstance(signal_or_array, TomoStack) and tilts is None:
        return signal_or_array
    return TomoStack(signal_or_array, tilts=tilts)


__all__ = ["LazyRecStack", "LazyTomoStack", "RecStack", "TomoShifts", "TomoStack", "TomoTilts",
           "as_tomostack", "extension", "register_extension", "register_viewer", "viewer"]
