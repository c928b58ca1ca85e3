"""OME-Zarr (OME-NGFF 0.4) images: a multiscale volume or tilt series, read and written.

Written by ourselves with ``zarr`` (the project pins zarr < 3; the ``ome-zarr`` package
versions that support zarr 2, < 0.11, are only a test dependency, used as an independent
reader). The layout follows https://ngff.openmicroscopy.org/0.4/ :

* a Zarr v2 group whose ``.zattrs`` hold ``multiscales``: one entry with ``version``
  ``"0.4"``, ``axes`` (``name``, ``type``, ``unit`` from UDUNITS-2: ``nanometer``,
  ``angstrom``, ``micrometer``, ``degree``), and ``datasets`` from the full resolution down,
  each with its ``coordinateTransformations`` (a ``scale`` and then a ``translation``);
* arrays ``0``, ``1``, ... with ``dimension_separator`` ``"/"`` (required by 0.4);
* level ``k`` is the mean of ``2 × 2 × 2`` blocks of level ``k - 1`` over the spatial axes
  (``type = "mean"``), its voxel ``2^k`` times larger, its first voxel centre moved by
  ``(2^k - 1) / 2`` full-resolution voxels (the translation).

A tilt series has one custom ``angle`` axis before its two spatial ones (0.4 orders custom
axes before space) that is never downsampled; its tilts are kept under ``etspy_widgets``.
Each level is written chunk by chunk (``dask.array.store``): level 0 from the (possibly
lazy) signal, each further level from the level just written, so a volume larger than
memory never has to be computed at once.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import TomoFileError

NGFF_VERSION = "0.4"
_UDUNITS = {"nm": "nanometer", "Å": "angstrom", "A": "angstrom", "µm": "micrometer",
            "um": "micrometer", "pm": "picometer", "m": "meter", "degrees": "degree",
            "deg": "degree"}
_FROM_UDUNITS = {"nanometer": "nm", "angstrom": "Å", "micrometer": "µm", "picometer": "pm",
                 "meter": "m", "degree": "degrees"}


def default_levels(shape, spatial, smallest: int = 32, most: int = 6) -> int:
    """Halve the spatial axes until the smallest would fall under ``smallest`` voxels."""
    low = min(shape[i] for i in spatial)
    return max(1, min(most, 1 + math.floor(math.log2(max(low, 1) / smallest)))
               if low >= smallest else 1)


def multiscales_metadata(axes, scale, levels, spatial, name="") -> dict:
    """The NGFF 0.4 ``multiscales`` entry for ``levels`` mean-downsampled levels."""
    datasets = []
    for k in range(levels):
        factor = [2**k if i in spatial else 1 for i in range(len(axes))]
        datasets.append({
            "path": str(k),
            "coordinateTransformations": [
                {"type": "scale", "scale": [float(s * f) for s, f in zip(scale, factor,
                                                                         strict=True)]},
                {"type": "translation",
                 "translation": [float(s * (f - 1) / 2) for s, f in zip(scale, factor,
                                                                        strict=True)]},
            ],
        })
    return {"version": NGFF_VERSION, "name": name, "axes": axes, "datasets": datasets,
            "type": "mean",
            "metadata": {"description": "mean of 2x2x2 blocks of the previous level",
                         "method": "dask.array.coarsen(numpy.mean)"}}


def write_omezarr(signal, path, kind: str, tilts=None, *, levels=None, chunks: int = 64) -> None:
    """Write ``signal`` (a volume or a tilt series) as OME-Zarr at ``path`` (a new folder)."""
    import dask.array as da
    import zarr

    data = signal.data
    ordered = sorted(signal.axes_manager._axes, key=lambda a: a.index_in_array)
    if kind == "series":
        spatial = (1, 2)
        axes = [{"name": "angle", "type": "angle", "unit": "degree"}]
        scale = [1.0]
        names = ["y", "x"]
        for ax, name in zip(ordered[1:], names, strict=True):
            axes.append(_axis(name, ax))
            scale.append(float(ax.scale))
    else:
        spatial = (0, 1, 2)
        axes = [_axis(n, ax) for n, ax in zip(("z", "y", "x"), ordered, strict=True)]
        scale = [float(ax.scale) for ax in ordered]
    if levels is None:
        levels = default_levels(data.shape, spatial)
    arr = da.asarray(data)
    block = tuple(1 if (kind == "series" and i == 0) else min(chunks, n)
                  for i, n in enumerate(arr.shape))
    root = zarr.group(store=zarr.DirectoryStore(str(path)), overwrite=True)
    for k in range(levels):
        if k:
            prev = da.from_zarr(root[str(k - 1)])
            source = da.coarsen(np.mean, prev, {i: 2 for i in spatial}, trim_excess=True)
            source = source.astype(data.dtype) if np.issubdtype(data.dtype, np.floating) \
                else source
        else:
            source = arr
        target = root.create_dataset(str(k), shape=source.shape, dtype=source.dtype,
                                     chunks=tuple(min(b, n) for b, n in zip(block, source.shape,
                                                                            strict=True)),
                                     dimension_separator="/", overwrite=True)
        da.store(source.rechunk(target.chunks), target, lock=False)
    title = str(signal.metadata.get_item("General.title", "") or "")
    root.attrs["multiscales"] = [multiscales_metadata(axes, scale, levels, spatial, title)]
    ours = {"kind": kind, "axes": [str(ax.name) for ax in ordered]}
    if tilts is not None:
        ours["tilts"] = [float(t) for t in tilts]
    root.attrs["etspy_widgets"] = ours


def _axis(name, ax) -> dict:
    entry = {"name": name, "type": "space"}
    unit = _UDUNITS.get(str(ax.units))
    if unit is not None:
        entry["unit"] = unit
    return entry


def is_omezarr(path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / ".zattrs").is_file() and (path / ".zgroup").is_file()


def read_omezarr(path, level: int = 0):
    """``(dask array, axes, scale, ours)`` of one level of the first multiscale image.

    Raises
    ------
    TomoFileError
        If the folder is not an OME-Zarr image (no ``multiscales`` in its ``.zattrs``).
    """
    import dask.array as da
    import zarr

    try:
        root = zarr.open_group(str(path), mode="r")
        multiscales = root.attrs["multiscales"]
    except (KeyError, ValueError, zarr.errors.GroupNotFoundError) as err:
        raise TomoFileError(
            f"{path} is not an OME-Zarr image: no Zarr group with 'multiscales' metadata "
            f"({err}). OME-Zarr written by ome-zarr-py, napari or bioformats2raw has it."
        ) from err
    image = multiscales[0]
    datasets = image["datasets"]
    if not 0 <= level < len(datasets):
        raise TomoFileError(f"{path} has {len(datasets)} resolution levels; got level={level}.")
    entry = datasets[level]
    data = da.from_zarr(root[entry["path"]])
    ndim = data.ndim
    axes = image.get("axes") or [{"name": n, "type": "space"} for n in "tczyx"[-ndim:]]
    axes = [{"name": a} if isinstance(a, str) else a for a in axes]  # NGFF 0.3 wrote names
    scale = [1.0] * ndim
    for tr in entry.get("coordinateTransformations", []):
        if tr.get("type") == "scale":
            scale = [float(s) for s in tr["scale"]]
    return data, axes, scale, dict(root.attrs.get("etspy_widgets", {}))


def axis_units(axis: dict) -> str:
    return _FROM_UDUNITS.get(str(axis.get("unit", "")), str(axis.get("unit", "")) or "pixels")
