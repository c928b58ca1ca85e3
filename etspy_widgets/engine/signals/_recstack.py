"""The volume: [`RecStack`][] and [`LazyRecStack`][] (navigation = x, one slice per column).

Its verbs come from ``_recon_verbs.RecStackMixin`` and ``_common.CommonStackMixin``; the
metadata, history and atomic ``save`` from ``_base._TomoMetadataMixin``. This module also
ties the two classes together (``TomoStack._volume_class``, ``RecStack._series_class``), so
the verb modules never import the classes they decorate.
"""

from __future__ import annotations

import copy as _copy

import numpy as np
from hyperspy._signals.signal2d import Signal2D
from hyperspy.signals import LazySignal2D
from traits.api import Undefined

from ..errors import InvalidArgumentError, InvalidDataError
from ..validate import as_bool, as_values
from ..visualize import VOLUME_AXES, project_volume, rotate_volume, volume_axis
from ._base import _TomoMetadataMixin, viewer
from ._common import CommonStackMixin
from ._guards import check_array_data, check_view_call
from ._recon_verbs import RecStackMixin
from ._tomostack import TomoStack


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


class LazyRecStack(RecStack, LazySignal2D):
    """A [`RecStack`][] computed chunk by chunk (see ``scale``).

    Saving it to ``.zspy`` writes each chunk as it is computed, so a volume larger than
    memory can be reconstructed.
    """

    _lazy = True


TomoStack._volume_class = RecStack
TomoStack._lazy_volume_class = LazyRecStack
RecStack._series_class = TomoStack


__all__ = ["LazyRecStack", "RecStack"]
