"""``reconstruct_lazy``: the lazy volume of ``recon.lazy`` wrapped as a ``LazyRecStack``.

The array part lives in [`etspy_widgets.engine.recon.lazy`][]; this wrapping (axes,
title, history) belongs with the signals' verbs and moves there.

>>> rec = reconstruct_lazy(stack, "SIRT", iterations=100)   # doctest: +SKIP
>>> rec.save("volume.zspy")                                  # doctest: +SKIP
"""

from __future__ import annotations

from .recon.lazy import lazy_volume
from .recon.stack import DEFAULT_CHUNK


def reconstruct_lazy(stack, method: str = "FBP", iterations: int = 5, *,
                     thickness: int | None = None, chunk_size: int = DEFAULT_CHUNK,
                     **options):
    """A lazy reconstruction of every column of ``stack``, ``chunk_size`` columns per task.

    ``stack``: a TomoStack or LazyTomoStack ``(n_tilts, ny, nx)``; the other parameters
    are those of [`lazy_volume`][etspy_widgets.engine.recon.lazy.lazy_volume].

    Returns
    -------
    LazyRecStack
        ``(nx, thickness, ny)``; ``compute()`` it or ``save("x.zspy")`` to stream it out.
    """
    from .signals import LazyRecStack

    volume = lazy_volume(stack.data, stack.tilt_values, method, iterations,
                         thickness=thickness, chunk_size=chunk_size, **options)
    nx, thickness, ny = volume.shape
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
