"""3D view of reconstructions with ipyvolume: volume rendering, isosurface, slice planes.

[`VolumeView`][] shows one volume (a colour map) or several in one scene,
each in its own colour (the EDX case: Cr, Ni, Si in red, green, blue). A
volume too large to send in one message (ipyvolume sends 4 bytes per voxel and
messages past ~10 MB are unreliable) is block-averaged by an integer factor
first; the factor is shown under the view and kept in ``VolumeView.downsample``.

Everything the view shows is a trait, so it can be checked without a browser:
``original_shape``, ``sent_shape``, ``downsample``, ``sent_bytes``, ``iso_level``,
``slice_x``/``slice_z``/``slice_y`` and the ``show_*`` switches.

Volumes use a RecStack's ``(nx, nz, ny)`` order. ipyvolume draws array axes
``(0, 1, 2)`` as its ``(z, y, x)``; the axis labels say which is which.

Several volumes are sent as one: ipyvolume 0.6.3 draws nothing at all when a
figure holds two or more volumes (seen in headless Chromium here), so each voxel
goes into the value band of its strongest element ([`composite_volume`][]) and
the transfer function colours each band (``composite_transfer_function``).
Voxels where two elements meet are interpolated across bands, which can tint a
one-voxel rim; the slice planes and isosurfaces use the separate volumes.
"""

from __future__ import annotations

import uuid
import warnings

import ipyvolume as ipv
import ipywidgets as widgets
import numpy as np
import traitlets
from skimage import measure

from ..engine.errors import InvalidArgumentError, InvalidDataError, InvalidIndexError

#: ipyvolume's message size limit in practice; we stay under it with a margin
DEFAULT_MAX_BYTES = 8_000_000

DEFAULT_COLORS = ("red", "lime", "blue", "yellow", "magenta", "cyan")

_AXIS_LABELS = ("y", "z", "x")  # ipyvolume's x, y, z are the volume's y, z, x


def tile_bytes(shape) -> int:
    """Bytes ipyvolume 0.6 sends for a volume of this shape (RGBA tiles of 2D slices).

    Mirrors ``ipyvolume.serialize``: slices are tiled into a texture whose width
    is a power of two between 256 and 16384 pixels, 4 bytes per texel.
    """
    nz, ny, nx = (int(s) for s in shape)
    approx_rows = round(np.sqrt(nz))
    width = int(max(256, min(16384, 2 ** int(np.ceil(np.log2(max(1, approx_rows * ny)))))))
    columns = max(1, width // nx)
    rows = int(np.ceil(nz / columns))
    return int(rows * ny * max(width, nx) * 4)


def downsample_factor(shape, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The smallest integer factor whose block-averaged volume fits in ``max_bytes``."""
    if max_bytes < 256 * 4:
        raise InvalidArgumentError(f"max_bytes must be at least 1024; got {max_bytes}.")
    factor = 1
    while tile_bytes(_reduced_shape(shape, factor)) > max_bytes:
        factor += 1
    return factor


def _reduced_shape(shape, factor: int) -> tuple[int, ...]:
    return tuple(int(np.ceil(s / factor)) for s in shape)


def block_mean(volume: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor³`` blocks (edges padded by replication); float32."""
    data = np.asarray(volume, dtype=np.float32)
    if factor == 1:
        return data
    pad = [(0, (-s) % factor) for s in data.shape]
    if any(p for _, p in pad):
        data = np.pad(data, pad, mode="edge")
    a, b, c = (s // factor for s in data.shape)
    return data.reshape(a, factor, b, factor, c, factor).mean(axis=(1, 3, 5))


def _rgb(color) -> np.ndarray:
    from matplotlib.colors import to_rgb

    try:
        return np.asarray(to_rgb(color), dtype=np.float32)
    except ValueError as err:
        raise InvalidArgumentError(
            f"Unknown colour {color!r}: give a matplotlib colour name or hex, e.g. 'red' or "
            "'#ff8800'."
        ) from err


def transfer_function_rgba(color=None, cmap: str = "afmhot", threshold: float = 0.1,
                           opacity: float = 0.2, n: int = 256) -> np.ndarray:
    """RGBA table of a transfer function: transparent below ``threshold``, then a ramp.

    Parameters
    ----------
    color : matplotlib colour, optional
        One colour for the whole range (several volumes in one scene); else ``cmap``.
    cmap : str
        Matplotlib colour map for a single volume.
    threshold : float
        Fraction of the data range below which voxels are fully transparent.
    opacity : float
        Opacity reached at the top of the range.
    n : int
        Table length.

    Returns
    -------
    numpy.ndarray, shape ``(n, 4)``, float32 in [0, 1]
    """
    if not 0 <= threshold < 1:
        raise InvalidArgumentError(
            f"threshold is a fraction of the data range in [0, 1); got {threshold}.")
    if not 0 < opacity <= 1:
        raise InvalidArgumentError(f"opacity must be in (0, 1]; got {opacity}.")
    x = np.linspace(0, 1, n, dtype=np.float32)
    rgba = np.empty((n, 4), dtype=np.float32)
    if color is not None:
        rgba[:, :3] = _rgb(color)
    else:
        import matplotlib

        rgba[:, :3] = matplotlib.colormaps[cmap](x)[:, :3]
    rgba[:, 3] = opacity * np.clip((x - threshold) / (1 - threshold), 0, 1)
    return rgba


#: fraction of each band left empty at both ends, so that the linear filtering of the
#: transfer-function texture never blends one band's opaque end into the next band
_BAND_GUARD = 0.1


def composite_volume(volumes, ranges, threshold: float = 0.0) -> np.ndarray:
    """One volume holding several: each voxel in the value band of its strongest element.

    With ``n`` volumes, band ``k`` is ``[k/n, (k+1)/n)``; a voxel whose largest
    normalised value ``v`` (in [0, 1], from ``ranges``) belongs to volume ``k`` gets
    ``(k + g + (1 − 2g)·v)/n`` (``g`` a guard at both ends of the band); voxels
    with ``v ≤ threshold`` get 0 (transparent).
    [`composite_transfer_function`][] colours each band.
    """
    n = len(volumes)
    norm = np.stack([np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
                     for v, (lo, hi) in zip(volumes, ranges, strict=True)])
    best = np.argmax(norm, axis=0)
    value = np.take_along_axis(norm, best[None], axis=0)[0]
    out = (best + _BAND_GUARD + (1 - 2 * _BAND_GUARD) * value) / n
    out[value <= threshold] = 0.0
    return out.astype(np.float32)


def composite_transfer_function(colors, threshold: float = 0.1, opacity: float = 0.2,
                                n: int = 1024) -> np.ndarray:
    """RGBA table for ``composite_volume``: band ``k`` in colour ``k``, alpha ramping
    from ``threshold`` to ``opacity`` inside the band, zero in the band guards."""
    k = len(colors)
    per = n // k
    x = (np.arange(per) + 0.5) / per  # position inside a band
    inner = np.clip((x - _BAND_GUARD) / (1 - 2 * _BAND_GUARD), 0, 1)
    alpha = opacity * np.clip((inner - threshold) / (1 - threshold), 0, 1)
    alpha[(x < _BAND_GUARD) | (x > 1 - _BAND_GUARD)] = 0
    rgba = np.zeros((per * k, 4), dtype=np.float32)
    for i, color in enumerate(colors):
        rgba[i * per:(i + 1) * per, :3] = _rgb(color)
        rgba[i * per:(i + 1) * per, 3] = alpha
    return rgba


def _as_volumes(volumes, names):
    if isinstance(volumes, dict):
        names = list(volumes) if names is None else list(names)
        volumes = list(volumes.values())
    elif not isinstance(volumes, (list, tuple)):
        volumes = [volumes]
    arrays = []
    for vol in volumes:
        data = np.asarray(getattr(vol, "data", vol))
        if data.ndim != 3 or min(data.shape) < 2:
            raise InvalidDataError(
                f"VolumeView needs 3D volumes (nx, nz, ny) with every side ≥ 2; got shape "
                f"{data.shape}. Reconstruct a volume first (stack.reconstruct(...))."
            )
        if not np.isfinite(data).all():
            raise InvalidDataError(
                "The volume holds NaN or infinite values; replace them first, e.g. "
                "np.nan_to_num(volume)."
            )
        arrays.append(data)
    if not arrays:
        raise InvalidDataError("VolumeView got no volume to show.")
    if len({a.shape for a in arrays}) != 1:
        raise InvalidDataError(
            f"Volumes shown together must have the same shape; got {[a.shape for a in arrays]}."
        )
    if names is None:
        names = [
            str((getattr(v, "metadata", None) and v.metadata.get_item("General.title")) or "")
            or f"volume {i}" for i, v in enumerate(volumes)
        ]
    if len(names) != len(arrays):
        raise InvalidArgumentError(f"Got {len(names)} names for {len(arrays)} volumes.")
    return arrays, [str(n) for n in names]


class VolumeView(widgets.VBox):
    """Volume rendering, isosurface and orthogonal slice planes of one or more volumes.

    Parameters
    ----------
    volumes : RecStack, numpy.ndarray, list or dict of them
        Volume(s) of shape ``(nx, nz, ny)``, all the same shape. A dict maps
        names (shown in the legend) to volumes.
    colors : list of colours, optional
        One colour per volume; default red, lime, blue, ... when there are
        several volumes, a colour map (``cmap``) for a single one.
    cmap : str
        Colour map of a single volume.
    threshold, opacity : float
        Transfer function: transparent below ``threshold`` (a fraction of each
        volume's range), ramping to ``opacity`` at its maximum.
    iso_level : float, optional
        Isosurface level in data units (of volume ``iso_target``); default the
        Otsu threshold. The isosurface shows when ``show_isosurface`` is True.
    max_bytes : int
        Largest message per volume; larger volumes are block-averaged.
    downsample : int, optional
        Force a block-average factor instead of choosing one from ``max_bytes``.
    width, height : int
        Size of the 3D canvas in pixels.

    Examples
    --------
    >>> view = VolumeView(rec)                                       # doctest: +SKIP
    >>> VolumeView({"Cr": cr, "Ni": ni, "Si": si})                   # doctest: +SKIP
    """

    original_shape = traitlets.Tuple(help="shape of the volumes given (nx, nz, ny)")
    sent_shape = traitlets.Tuple(help="shape of the arrays sent to the browser")
    downsample = traitlets.Int(1, help="block-average factor applied before sending")
    sent_bytes = traitlets.Int(0, help="bytes ipyvolume sends per volume")
    max_bytes = traitlets.Int(DEFAULT_MAX_BYTES)
    names = traitlets.List(traitlets.Unicode())
    iso_level = traitlets.Float(0.0, help="isosurface level, data units")
    iso_target = traitlets.Int(0, help="index of the volume the isosurface is drawn from")
    show_volume = traitlets.Bool(True)
    show_isosurface = traitlets.Bool(False)
    show_slices = traitlets.Bool(False)
    slice_x = traitlets.Int(0, help="index along axis 0 (x, the tilt axis), original voxels")
    slice_z = traitlets.Int(0, help="index along axis 1 (z, the beam), original voxels")
    slice_y = traitlets.Int(0, help="index along axis 2 (y), original voxels")

    def __init__(self, volumes, names=None, *, colors=None, cmap: str = "afmhot",
                 threshold: float = 0.1, opacity: float = 0.2, iso_level: float | None = None,
                 iso_target: int = 0, show_isosurface: bool = False, show_slices: bool = False,
                 max_bytes: int = DEFAULT_MAX_BYTES, downsample: int | None = None,
                 width: int = 480, height: int = 480, **kwargs):
        super().__init__(**kwargs)
        arrays, names = _as_volumes(volumes, names)
        if colors is None:
            colors = [None] if len(arrays) == 1 else list(DEFAULT_COLORS[: len(arrays)])
        colors = list(colors)
        if len(colors) != len(arrays):
            raise InvalidArgumentError(f"Got {len(colors)} colours for {len(arrays)} volumes.")
        if len(arrays) > 1 and any(c is None for c in colors):
            raise InvalidArgumentError("Give one colour per volume.")
        if not 0 <= iso_target < len(arrays):
            raise InvalidIndexError(
                f"iso_target {iso_target} out of range for {len(arrays)} volumes.")
        shape = arrays[0].shape
        factor = downsample_factor(shape, max_bytes) if downsample is None else int(downsample)
        if factor < 1:
            raise InvalidArgumentError(f"downsample must be a positive integer; got {downsample}.")
        self._sent = [block_mean(a, factor) for a in arrays]
        self._ranges = [(float(s.min()), float(s.max())) for s in self._sent]
        self.colors = colors
        self.cmap = cmap
        self.tf_rgba = [transfer_function_rgba(c, cmap, threshold, opacity) for c in colors]
        self._threshold = float(threshold)
        self.tf_rgba_composite = composite_transfer_function(colors, threshold, opacity) \
            if len(arrays) > 1 else None
        with self.hold_trait_notifications():
            self.max_bytes = int(max_bytes)
            self.names = names
            self.original_shape = tuple(int(s) for s in shape)
            self.downsample = factor
            self.sent_shape = tuple(int(s) for s in self._sent[0].shape)
            self.sent_bytes = tile_bytes(self.sent_shape)
            self.iso_target = int(iso_target)
            self.slice_x, self.slice_z, self.slice_y = (s // 2 for s in shape)
        self._build_figure(width, height)
        self._slice_meshes = self._make_slice_meshes()
        self._iso_mesh = None
        if iso_level is None:
            from skimage.filters import threshold_otsu

            iso_level = float(threshold_otsu(self._sent[self.iso_target]))
        self._check_level(iso_level)
        self.iso_level = float(iso_level)
        self.show_isosurface = bool(show_isosurface)
        self.show_slices = bool(show_slices)
        self._update_isosurface()
        self._update_visibility()
        self.status = widgets.HTML(self._status_text())
        self.children = [self.figure, self._make_controls(), self.status]

    # -- scene ---------------------------------------------------------------
    def _build_figure(self, width: int, height: int) -> None:
        nx, nz, ny = self.original_shape
        extent = [(0, ny), (0, nz), (0, nx)]  # ipyvolume x, y, z = array axes 2, 1, 0
        self.figure = ipv.figure(key=uuid.uuid4().hex, width=int(width), height=int(height),
                                 controls=False)
        if len(self._sent) == 1:
            rendered = [(self._sent[0], self.tf_rgba[0], self._ranges[0], self.names[0])]
        else:
            # ipyvolume 0.6.3 draws nothing when a figure holds two or more volumes (seen
            # in Chromium here): send one volume whose value bands are the elements
            rendered = [(composite_volume(self._sent, self._ranges, self._threshold),
                         self.tf_rgba_composite,
                         (0.0, 1.0), " + ".join(self.names))]
        self.volumes = []
        for sent, rgba, (lo, hi), name in rendered:
            tf = ipv.TransferFunction(rgba=rgba)
            with warnings.catch_warnings():
                # ipyvolume normalises zero gradients (flat regions) to NaN before casting
                warnings.filterwarnings("ignore", "invalid value", RuntimeWarning)
                vol = ipv.volshow(sent, tf=tf, data_min=lo, data_max=hi if hi > lo else lo + 1,
                                  controls=False, max_shape=max(sent.shape), extent=extent,
                                  lighting=False, description=name)
            vol.lighting = False
            self.volumes.append(vol)
        side = max(self.original_shape)
        self.figure.xlim, self.figure.ylim, self.figure.zlim = (
            ((s - side) / 2, (s + side) / 2) for s in (ny, nz, nx)
        )
        self.figure.xlabel, self.figure.ylabel, self.figure.zlabel = _AXIS_LABELS
        with self.figure:
            ipv.view(azimuth=35, elevation=25)

    def _voxel_to_scene(self, index, axis: int):
        """Scene coordinate of the centre of sent voxel ``index`` along array ``axis``."""
        scale = self.original_shape[axis] / self.sent_shape[axis]
        return (np.asarray(index, dtype=np.float32) + 0.5) * scale

    def _plane_colors(self, planes) -> np.ndarray:
        """RGB per vertex: a colour map for one volume, additive colours for several."""
        rgb = np.zeros((*planes[0].shape, 3), dtype=np.float32)
        for plane, color, (lo, hi) in zip(planes, self.colors, self._ranges, strict=True):
            norm = np.clip((plane - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
            if color is None:
                import matplotlib

                rgb += matplotlib.colormaps[self.cmap](norm)[..., :3].astype(np.float32)
            else:
                rgb += norm[..., None] * _rgb(color)
        return np.clip(rgb, 0, 1)

    def _plane(self, axis: int):
        """Vertices (x, y, z scene arrays), triangles and colours of one slice plane."""
        index = {0: self.slice_x, 1: self.slice_z, 2: self.slice_y}[axis]
        if not 0 <= index < self.original_shape[axis]:
            raise InvalidIndexError(
                f"Slice {index} is outside axis {axis} of size {self.original_shape[axis]}."
            )
        sent_index = min(index // self.downsample, self.sent_shape[axis] - 1)
        planes = [np.take(s, sent_index, axis=axis) for s in self._sent]
        other = [a for a in range(3) if a != axis]
        grids = np.meshgrid(*(self._voxel_to_scene(np.arange(self.sent_shape[a]), a)
                              for a in other), indexing="ij")
        coords = [None, None, None]
        for a, g in zip(other, grids, strict=True):
            coords[a] = g
        coords[axis] = np.full(grids[0].shape, (index + 0.5), dtype=np.float32)
        rows, cols = grids[0].shape
        idx = np.arange(rows * cols).reshape(rows, cols)
        quads = np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1)
        triangles = np.concatenate([quads[..., [0, 1, 2]].reshape(-1, 3),
                                    quads[..., [0, 2, 3]].reshape(-1, 3)]).astype(np.uint32)
        colors = self._plane_colors(planes).reshape(-1, 3)
        # scene x, y, z = array axes 2, 1, 0
        x, y, z = (coords[a].ravel().astype(np.float32) for a in (2, 1, 0))
        return x, y, z, triangles, colors

    def _make_slice_meshes(self):
        meshes = []
        for axis, name in zip((0, 1, 2), ("x", "z", "y"), strict=True):
            x, y, z, triangles, colors = self._plane(axis)
            mesh = ipv.Mesh(x=x, y=y, z=z, triangles=triangles, color=colors,
                            description=f"slice {name}", visible=False)
            meshes.append(mesh)
        self.figure.meshes = [*self.figure.meshes, *meshes]
        return meshes

    def _check_level(self, level: float) -> None:
        lo, hi = self._ranges[self.iso_target]
        if not lo < level < hi:
            raise InvalidArgumentError(
                f"Isosurface level {level:g} is outside the range of volume "
                f"{self.names[self.iso_target]!r} ({lo:g} to {hi:g}); pick a level inside it."
            )

    def isosurface_vertices(self) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (in original voxel index units, array order) and faces of the isosurface."""
        verts, faces = measure.marching_cubes(self._sent[self.iso_target], self.iso_level)[:2]
        scale = np.asarray(self.original_shape) / np.asarray(self.sent_shape)
        return (verts + 0.5) * scale - 0.5, faces

    def _update_isosurface(self) -> None:
        if not self.show_isosurface:
            if self._iso_mesh is not None:
                self._iso_mesh.visible = False
            return
        verts, faces = self.isosurface_vertices()
        x, y, z = ((verts[:, a] + 0.5).astype(np.float32) for a in (2, 1, 0))
        color = self.colors[self.iso_target] or "orange"
        if self._iso_mesh is None:
            self._iso_mesh = ipv.Mesh(x=x, y=y, z=z, triangles=faces.astype(np.uint32),
                                      color=color, description="isosurface")
            self.figure.meshes = [*self.figure.meshes, self._iso_mesh]
        else:
            with self._iso_mesh.hold_sync():
                self._iso_mesh.x, self._iso_mesh.y, self._iso_mesh.z = x, y, z
                self._iso_mesh.triangles = faces.astype(np.uint32)
        self._iso_mesh.visible = True

    def _update_visibility(self) -> None:
        for vol in self.volumes:
            vol.visible = self.show_volume
        for mesh in self._slice_meshes:
            mesh.visible = self.show_slices

    # -- trait reactions -------------------------------------------------------
    @traitlets.validate("iso_level")
    def _valid_level(self, proposal):
        if getattr(self, "_sent", None) is not None:
            self._check_level(proposal["value"])
        return proposal["value"]

    @traitlets.observe("iso_level", "show_isosurface")
    def _on_iso(self, change):
        if getattr(self, "figure", None) is not None:
            self._update_isosurface()

    @traitlets.observe("show_volume", "show_slices")
    def _on_show(self, change):
        if getattr(self, "figure", None) is not None:
            self._update_visibility()

    @traitlets.observe("slice_x", "slice_z", "slice_y")
    def _on_slice(self, change):
        if getattr(self, "_slice_meshes", None) is None:
            return
        axis = {"slice_x": 0, "slice_z": 1, "slice_y": 2}[change["name"]]
        x, y, z, _, colors = self._plane(axis)
        mesh = self._slice_meshes[axis]
        with mesh.hold_sync():
            mesh.x, mesh.y, mesh.z, mesh.color = x, y, z, colors

    # -- controls --------------------------------------------------------------
    def _status_text(self) -> str:
        shape = "×".join(map(str, self.sent_shape))
        if self.downsample > 1:
            orig = "×".join(map(str, self.original_shape))
            what = f"downsampled ×{self.downsample} from {orig}"
        else:
            what = "full resolution"
        return (f"<small>Showing {shape} voxels ({what}), "
                f"{self.sent_bytes / 1e6:.1f} MB per volume: {', '.join(self.names)}</small>")

    def _make_controls(self) -> widgets.Widget:
        toggles = []
        for name, label in (("show_volume", "volume"), ("show_isosurface", "isosurface"),
                            ("show_slices", "slices")):
            box = widgets.Checkbox(value=getattr(self, name), description=label, indent=False,
                                   layout=widgets.Layout(width="110px"))
            traitlets.link((self, name), (box, "value"))
            toggles.append(box)
        lo, hi = self._ranges[self.iso_target]
        step = (hi - lo) / 200
        level = widgets.FloatSlider(value=self.iso_level, min=lo + step, max=hi - step,
                                    step=step, description="iso level",
                                    continuous_update=False, readout_format=".3g")
        traitlets.link((self, "iso_level"), (level, "value"))
        sliders = []
        for name, axis in (("slice_x", 0), ("slice_z", 1), ("slice_y", 2)):
            slider = widgets.IntSlider(value=getattr(self, name), min=0,
                                       max=self.original_shape[axis] - 1,
                                       description=name.replace("_", " "),
                                       continuous_update=False)
            traitlets.link((self, name), (slider, "value"))
            sliders.append(slider)
        self.controls = {"level": level, "slices": sliders, "toggles": toggles}
        return widgets.VBox([widgets.HBox(toggles), level, widgets.HBox(sliders[:2]),
                             sliders[2]])


def render(volumes, **kwargs) -> VolumeView:
    """Build a [`VolumeView`][] (see its parameters); display it as the cell's result."""
    return VolumeView(volumes, **kwargs)


__all__ = ["VolumeView", "block_mean", "composite_transfer_function", "composite_volume",
           "downsample_factor", "render", "tile_bytes", "transfer_function_rgba"]
