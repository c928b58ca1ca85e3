"""Reconstructions larger than memory: a lazy volume computed block by block with Dask.

``reconstruct_lazy`` returns a ``LazyRecStack``
whose Dask graph holds one task per block of ``chunk_size`` columns; each task reads only
its columns of the tilt series (which may itself be lazy, e.g. ``load(path, lazy=True)``)
and reconstructs them with the same array function as
``TomoStack.reconstruct``.
Saving the result to ``.zspy`` writes each block as it is computed, so peak memory follows
the block, not the volume; with a ``dask.distributed`` client active, the blocks run on
its workers.

>>> rec = reconstruct_lazy(stack, "SIRT", iterations=100)   # doctest: +SKIP
>>> rec.save("volume.zspy")                                  # doctest: +SKIP
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from .errors import InvalidDataError
from .recon.api import check_options, check_tilts

DEFAULT_CHUNK = 32


def _reconstruct_block(block, tilts, method, iterations, options):
    from .recon.parallel import reconstruct_stack

    block = np.asarray(block)
    return reconstruct_stack(block, tilts, method, iterations, ncores=1, client=None,
                             show_progressbar=False, **options)


def reconstruct_lazy(stack, method: str = "FBP", iterations: int = 5, *,
                     thickness: int | None = None, chunk_size: int = DEFAULT_CHUNK,
                     **options):
    """A lazy reconstruction of every column of ``stack``, ``chunk_size`` columns per task.

    Parameters
    ----------
    stack : TomoStack or LazyTomoStack
        The aligned tilt series ``(n_tilts, ny, nx)``.
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
    LazyRecStack
        ``(nx, thickness, ny)``; ``compute()`` it or ``save("x.zspy")`` to stream it out.
    """
    from .signals import LazyRecStack

    data = stack.data
    if getattr(data, "ndim", 0) != 3:
        raise InvalidDataError(
            f"reconstruct_lazy needs a tilt series (n_tilts, ny, nx); got {np.shape(data)}."
        )
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be ≥ 1; got {chunk_size}.")
    n_tilts, ny, nx = data.shape
    method = check_options(method, iterations, options.get("sino_filter", "shepp-logan"),
                           gray_levels=options.get("gray_levels"),
                           dart_iterations=options.get("dart_iterations", 5),
                           p=options.get("p", 0.99))
    tilts = check_tilts(stack.tilt_values, n_tilts)
    thickness = ny if thickness is None else int(thickness)
    options = {"thickness": thickness, **options}
    blocks = []
    for x0 in range(0, nx, int(chunk_size)):
        x1 = min(nx, x0 + int(chunk_size))
        task = dask.delayed(_reconstruct_block, pure=True)(
            data[:, :, x0:x1], tilts, method, iterations, options)
        blocks.append(da.from_delayed(task, shape=(x1 - x0, thickness, ny), dtype=np.float32))
    volume = da.concatenate(blocks, axis=0)
    am = stack.axes_manager
    xax, yax = am.signal_axes[0], am.signal_axes[1]
    axes = [
        {"name": xax.name, "size": nx, "scale": xax.scale, "offset": xax.offset,
         "units": xax.units, "navigate": True},
        {"name": "z", "size": thickness, "scale": yax.scale, "offset": 0.0,
         "units": yax.units, "navigate": False},
        {"name": yax.name, "size": ny, "scale": yax.scale, "offset": yax.offset,
         "units": yax.units, "navigate": False},
    ]
    rec = LazyRecStack(volume, axes=axes)
    title = stack.metadata.get_item("General.title") or ""
    rec.metadata.General.title = f"Reconstruction of {title}" if title else "Reconstruction"
    for line in getattr(stack, "history", []):
        rec.add_history(line)
    return rec
