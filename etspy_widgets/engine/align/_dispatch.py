"""The registration dispatcher: one method name → the ``(n, 2)`` shifts to apply.

Above ``_register`` (pairwise and mass-invariant methods) and ``_pm`` (projection
matching), so neither imports the other: a projection matching that starts from a named
method gets that method's shifts from here.
"""

from __future__ import annotations

from ..errors import check_method
from . import _pm
from ._aligners import ALIGNERS
from ._register import REGISTER_METHODS, check_stack, check_start


def compute_shifts(data, tilts, method: str = "PC", start=None, progress=None, **kwargs):
    """The ``(n, 2)`` (y, x) shifts to apply to ``data`` for one registration method.

    The method is its class (``_aligners.ALIGNERS``: ``PhaseCorrelationAligner``...);
    see ``TomoStack.stack_register`` for the methods and their keyword arguments.
    """
    method = check_method("registration method", method, REGISTER_METHODS)
    data = check_stack(data)
    aligner = ALIGNERS[method](data, check_start(start, data.shape[0]), tilts=tilts,
                               progress=progress, **kwargs)
    return aligner.calculate_shifts()


def projection_matching(data, tilts, start=None, *, initial="COM-CL", **kwargs) -> dict:
    """Projection matching (``_pm.projection_matching``) from a named method's shifts.

    ``initial`` is a registration method name, an ``(n, 2)`` array of shifts to refine, or
    None (zeros). See ``TomoStack.stack_register(method="PM")`` for the keywords.
    """
    if isinstance(initial, str):
        initial = compute_shifts(data, tilts, initial, start)
    return _pm.projection_matching(data, tilts, start=start, initial=initial, **kwargs)


__all__ = ["compute_shifts", "projection_matching"]
