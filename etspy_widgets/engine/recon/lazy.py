"""Reconstructions larger than memory: a lazy volume, one Dask task per block of slices.

[`lazy_volume`][] returns a ``dask.array`` ``(nx, thickness, ny)`` whose graph holds one
task per block of ``chunk_size`` columns; each task reads only its columns of the tilt
series (which may itself be lazy, e.g. ``load(path, lazy=True).data``) and reconstructs
them with the same array function as ``TomoStack.reconstruct`` (``reconstruct_stack``).
Storing the result (``.zspy`` through a ``LazyRecStack``, ``dask.array.to_zarr``) writes
each block as it is computed, so peak memory follows the block, not the volume; with a
``dask.distributed`` client active, the blocks run on its workers.

>>> vol = lazy_volume(stack.data, stack.tilts, "SIRT", iterations=100)  # doctest: +SKIP
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from ..errors import InvalidDataError
from ..validate import check_finite_result
from .slices import DEFAULT_FILTER, check_options, check_tilts
from .stack import DEFAULT_CHUNK, reconstruct_stack


def _reconstruct_block(block, tilts, method, iterations, options, *, x0=0):
    block = np.asarray(block)
    volume = reconstruct_stack(block, tilts, method, iterations, ncores=1, client=None,
                               show_progressbar=False, **options)
    # each block is checked as it is computed (storing or computing the volume raises
    # before a NaN block is written), so the volume is never computed twice
    check_finite_result(volume, f"{method} reconstruction (lazy, slices {x0} to "
                                f"{x0 + volume.shape[0] - 1})")
    return volume


def lazy_volume(data, tilts, method: str = "FBP", iterations: int = 5, *,
                thickness: int | None = None, chunk_size: int = DEFAULT_CHUNK, **options):
    """A lazy reconstruction of every column of ``data``, ``chunk_size`` columns per task.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        The aligned tilt series ``(n_tilts, ny, nx)``.
    tilts : array-like
        Tilt angles in degrees.
    method, iterations, thickness
        As for ``TomoStack.reconstruct``.
    chunk_size : int
        Columns (slices) per task; memory per task is about
        ``chunk_size × (n_tilts + thickness) × ny × 4`` bytes plus the projector.
    **options
        Further keywords of ``reconstruct_stack``
        (``constrain``, ``thresh``, ``sino_filter``, ``backend``, ``kernel``, ...).

    Returns
    -------
    dask.array.Array
        float32 ``(nx, thickness, ny)``. A block whose reconstruction holds NaN or inf
        raises ``NonFiniteResultError`` when it is computed (``compute()``, ``save``,
        ``to_zarr``): nothing non-finite is returned or written.
    """
    if getattr(data, "ndim", 0) != 3:
        raise InvalidDataError(
            f"A lazy reconstruction needs a tilt series (n_tilts, ny, nx); got "
            f"{np.shape(data)}.")
    if int(chunk_size) < 1:
        raise InvalidDataError(f"chunk_size must be ≥ 1; got {chunk_size}.")
    n_tilts, ny, nx = data.shape
    method = check_options(method, iterations, options.get("sino_filter", DEFAULT_FILTER),
                           gray_levels=options.get("gray_levels"),
                           dart_iterations=options.get("dart_iterations", 5),
                           p=options.get("p", 0.99))
    tilts = check_tilts(tilts, n_tilts)
    thickness = ny if thickness is None else int(thickness)
    options = {"thickness": thickness, **options}
    blocks = []
    for x0 in range(0, nx, int(chunk_size)):
        x1 = min(nx, x0 + int(chunk_size))
        task = dask.delayed(_reconstruct_block, pure=True)(
            data[:, :, x0:x1], tilts, method, iterations, options, x0=x0)
        blocks.append(da.from_delayed(task, shape=(x1 - x0, thickness, ny), dtype=np.float32))
    return da.concatenate(blocks, axis=0)
