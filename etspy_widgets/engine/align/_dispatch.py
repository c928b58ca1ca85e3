"""The registration dispatcher: one method name → the ``(n, 2)`` shifts to apply.

Above ``_register`` (pairwise and mass-invariant methods) and ``_pm`` (projection
matching), so neither imports the other: a projection matching that starts from a named
method gets that method's shifts from here.
"""

from __future__ import annotations

from ..errors import check_method
from . import _pm
from ._register import (
    REGISTER_METHODS,
    check_stack,
    check_start,
    com_shifts,
    comcl_shifts,
    drift_correct,
    pc_shifts,
    stackreg_shifts,
)

# ETSpy's tuning knobs that our implementations do not need (no integer search window,
# no iterative sub-pixel line search): accepted and ignored so ETSpy code runs unchanged
_ETSPY_ONLY = {"COM": ("xrange", "p"), "COM-CL": ("cl_resolution", "cl_div_factor")}


def compute_shifts(data, tilts, method: str = "PC", start=None, progress=None, **kwargs):
    """The ``(n, 2)`` (y, x) shifts to apply to ``data`` for one registration method.

    See ``TomoStack.stack_register`` for the methods and their keyword arguments.
    """
    method = check_method("registration method", method, REGISTER_METHODS)
    data = check_stack(data)
    start = check_start(start, data.shape[0])
    for name in _ETSPY_ONLY.get(method, ()):  # accepted so ETSpy scripts run; not needed
        kwargs.pop(name, None)
    drift = kwargs.pop("drift", "com")
    drift_degree = kwargs.pop("drift_degree", 6)
    if method == "PC":
        shifts = pc_shifts(data, start, progress=progress, **kwargs)
    elif method == "StackReg":
        shifts = stackreg_shifts(data, start, progress=progress)
    elif method == "COM":
        return com_shifts(data, tilts, start, **kwargs)
    elif method == "COM-CL":
        return comcl_shifts(data, tilts, start, **kwargs)
    else:
        return projection_matching(data, tilts, start=start, **kwargs)["shifts"]
    if drift == "com":
        shifts = drift_correct(shifts, data, tilts, start, degree=drift_degree)
    elif drift is not None:
        raise ValueError(f"drift must be 'com' or None; got {drift!r}.")
    return shifts


def projection_matching(data, tilts, start=None, *, initial="COM-CL", **kwargs) -> dict:
    """Projection matching (``_pm.projection_matching``) from a named method's shifts.

    ``initial`` is a registration method name, an ``(n, 2)`` array of shifts to refine, or
    None (zeros). See ``TomoStack.stack_register(method="PM")`` for the keywords.
    """
    if isinstance(initial, str):
        initial = compute_shifts(data, tilts, initial, start)
    return _pm.projection_matching(data, tilts, start=start, initial=initial, **kwargs)


__all__ = ["compute_shifts", "projection_matching"]
