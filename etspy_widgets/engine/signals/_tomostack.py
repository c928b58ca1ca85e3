"""The tilt series: [`TomoStack`][] and [`LazyTomoStack`][] (navigation = projections).

Tilts and shifts are ``metadata.Tomography.tilts`` / ``shifts`` ([`TomoTilts`][],
[`TomoShifts`][], ``_base``), sliced, copied and saved with the stack. The verbs come from
the mixins of ``_align_verbs`` and ``_recon_verbs``; the shared metadata, history and atomic
``save`` from ``_base._TomoMetadataMixin``; the slicing guards from ``_guards``.
"""

from __future__ import annotations

import copy as _copy
import logging
import numbers

import numpy as np
from hyperspy._signals.signal2d import Signal2D
from hyperspy.signals import LazySignal2D
from traits.api import Undefined

from ..errors import (
    ArgumentTypeError,
    InvalidDataError,
    InvalidTiltsError,
    MismatchedTiltError,
    NotATiltSeriesError,
    check_method,
)
from ..validate import as_float, as_int, as_path, as_tilt_array, as_values
from ..visualize import plot_missing_wedge
from . import _quality_verbs
from ._align_verbs import AlignMixin
from ._base import (
    _SLICED_WITH_STACK,
    _SLICING_TARGETS,
    TomoShifts,
    TomoTilts,
    _nav_signal,
    _TomoMetadataMixin,
    extension,
)
from ._guards import check_array_data, check_pair, checked_column, checked_projections
from ._history import records
from ._recon_verbs import ReconMixin

logger = logging.getLogger(__name__)


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


class LazyTomoStack(TomoStack, LazySignal2D):
    """A [`TomoStack`][] whose data is a Dask array, read or computed chunk by chunk.

    ``hs.load(path, lazy=True)`` and ``etspy_widgets.load(path, lazy=True)`` give one;
    ``compute()`` turns it into a [`TomoStack`][] in memory.
    """

    _lazy = True


def as_tomostack(signal_or_array, tilts=None) -> TomoStack:
    """Return ``signal_or_array`` as a ``TomoStack`` (no copy when it already is one)."""
    if isinstance(signal_or_array, TomoStack) and tilts is None:
        return signal_or_array
    return TomoStack(signal_or_array, tilts=tilts)


__all__ = ["LazyTomoStack", "TomoStack", "as_tomostack"]
