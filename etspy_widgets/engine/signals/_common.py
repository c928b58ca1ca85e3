"""ETSpy's ``CommonStack`` verbs, shared by ``TomoStack`` and ``RecStack``.

``invert``, ``normalize``, ``stats``, ``change_data_type``, ``save_raw`` and ``trans_stack``
work on the data of either signal: a tilt series ``(n_tilts, ny, nx)`` or a volume
``(nx, thickness, ny)``. Where a tilt series and a volume need different meanings, the class
attribute ``_per_projection`` chooses:

* a tilt series (``True``): ``invert`` and ``normalize`` work projection by projection
  (each projection has its own exposure); ``trans_stack`` is a tilt-axis correction and is
  composed into ``metadata.Tomography`` (``tiltaxis``, ``yshift``, ``xshift``).
* a volume (``False``): ``invert`` and ``normalize`` use the whole volume's minimum, mean
  and standard deviation (per-slice scaling would make the slices disagree); ``trans_stack``
  rotates every ``(z, y)`` slice about its centre, i.e. the volume about the tilt axis (x),
  and leaves ``metadata.Tomography`` alone (there it describes the tilt series the volume
  was reconstructed from).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, check_target
from ..errors import check_method
from ..transform import compose_rigid, rotate_shift_stack
from ..validate import as_dtype, as_float, as_path
from ._history import records
from ._rigid import get_rigid, set_rigid

_INTERP = {"nearest": 0, "none": 0, "linear": 1, "cubic": 3}


class CommonStackMixin:
    """Verbs that ETSpy's ``CommonStack`` gives both ``TomoStack`` and ``RecStack``."""

    _per_projection = True  # a tilt series; RecStack sets False
    _history_name = "stack"  # the variable the history lines assign; RecStack: "rec"

    def __new__(cls, *args, **kwargs):
        if cls is CommonStackMixin:  # ETSpy's abstract CommonStack, by that name too
            raise NotImplementedError(
                "CommonStack should not be instantiated directly. Use one of its sub-classes "
                "instead (TomoStack or RecStack).")
        return super().__new__(cls)

    # -- helpers ---------------------------------------------------------------
    def _with_data(self, data):
        """A deep copy holding ``data`` (same shape or a new one)."""
        data = np.asarray(data)
        out = self._deepcopy_with_new_data(data)
        if data.shape != self.data.shape:
            out.get_dimensions_from_data()
        return out

    def _float_data(self) -> np.ndarray:
        data = np.asarray(self.data)
        return data if data.dtype.kind == "f" else data.astype(np.float32)

    def _scale_axes(self):
        """Axes over which ``invert``/``normalize`` take their min, mean and std."""
        return (1, 2) if self._per_projection else None

    # -- contrast --------------------------------------------------------------
    @records()
    def invert(self):
        """Return a copy with inverted contrast: ``max + min − x`` (bright field → dark field).

        Per projection for a tilt series, over the whole volume for a ``RecStack``.
        """
        data = np.asarray(self.data, dtype=np.float32)
        axes = self._scale_axes()
        hi = data.max(axis=axes, keepdims=True)
        lo = data.min(axis=axes, keepdims=True)
        out = self.deepcopy()
        out.data = hi + lo - data
        return out

    @records()
    def normalize(self, width: float = 3):
        """Return a copy scaled to ``(x − min) / (mean + width·std)``.

        Per projection for a tilt series, over the whole volume for a ``RecStack``.
        """
        width = as_float("width", width)
        data = np.asarray(self.data, dtype=np.float32)
        axes = self._scale_axes()
        lo = data.min(axis=axes, keepdims=True)
        mean = data.mean(axis=axes, keepdims=True)
        std = data.std(axis=axes, keepdims=True)
        out = self.deepcopy()
        out.data = (data - lo) / (mean + width * std)
        return out

    def stats(self) -> dict:
        """Print and return mean, standard deviation, maximum and minimum of the data."""
        data = np.asarray(self.data)
        result = {"mean": float(data.mean()), "std": float(data.std()),
                  "max": float(data.max()), "min": float(data.min())}
        for key, value in result.items():
            print(f"{key.capitalize()}: {value:.2f}" if key == "std" else  # ETSpy's formats
                  f"{key.capitalize()}: {value:.1f}")
        return result

    # -- data type and raw files -------------------------------------------------
    def change_data_type(self, dtype) -> None:
        """Change the data type in place (HyperSpy's ``change_dtype``), as ETSpy names it."""
        self.change_dtype(as_dtype("dtype", dtype))

    def save_raw(self, filename=None, overwrite: bool = False) -> Path:
        """Save the data as a raw (Ripple ``.rpl`` + ``.raw``) pair, named with shape and dtype.

        Returns the path of the ``.rpl`` file.
        """
        from hyperspy._signals.signal2d import Signal2D

        if filename is None:
            filename = self.metadata.get_item("General.title") or self._history_name
        path = Path(as_path("filename", filename))
        data = np.asarray(self.data)
        if data.dtype in (np.int8, np.int16):  # Ripple has no signed 8/16-bit type
            data = data.astype(np.float32)  # exact for these; the name says what was written
        shape = "x".join(str(s) for s in data.shape)
        path = path.with_name(f"{path.stem}_{shape}_{data.dtype.name}.rpl")
        raw = path.with_suffix(".raw")
        check_target(raw, overwrite)
        # both files under temporary names in the same folder, moved into place when complete
        with atomic_path(path, overwrite=overwrite) as tmp:
            try:
                Signal2D(data).save(os.fspath(tmp), overwrite=True)
                os.replace(tmp.with_suffix(".raw"), raw)
            finally:
                tmp.with_suffix(".raw").unlink(missing_ok=True)
        return path

    # -- rigid transform of every image -------------------------------------------
    @records()
    def trans_stack(self, xshift: float = 0.0, yshift: float = 0.0, angle: float = 0.0,
                    interpolation: str = "linear"):
        """Rotate every image by ``angle`` degrees about its centre, then shift it.

        Same sign as ``shifts`` for both axes: content moves by ``+yshift`` rows and
        ``+xshift`` columns (ETSpy 1.3.0 moved it by ``-yshift``). On a tilt series the
        transform is composed into ``metadata.Tomography`` (tiltaxis, yshift, xshift). On a
        ``RecStack`` every ``(z, y)`` slice is transformed: a rotation of the volume about
        the tilt axis (x), ``yshift`` along z and ``xshift`` along y.
        """
        name = check_method("interpolation method", interpolation, tuple(_INTERP))
        xshift, yshift = as_float("xshift", xshift), as_float("yshift", yshift)
        angle = as_float("angle", angle)
        data = rotate_shift_stack(self._float_data(), angle, yshift, xshift, _INTERP[name])
        out = self._with_data(data)
        if self._per_projection:
            set_rigid(out.metadata, compose_rigid(get_rigid(self.metadata),
                                                  (angle, yshift, xshift)))
        return out


__all__ = ["CommonStackMixin"]
