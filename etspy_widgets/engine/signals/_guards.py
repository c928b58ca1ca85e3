"""The checks the verbs run on what they are given, before any work (issue 13).

One call at the top of a verb: its keywords (a name that is neither ours nor ETSpy's is
a typo and is refused with the near miss), its values (numbers that are numbers, indices
inside the stack), the memory a result will need, and the slicing of ``inav``/``isig``
(an index outside the stack, or a slice that selects nothing).
"""

from __future__ import annotations

import inspect

import numpy as np

from ..._script import index_text
from ..align import REGISTER_METHODS
from ..align._pm import projection_matching as _pm_signature
from ..align._register import com_shifts, comcl_shifts, pc_shifts
from ..errors import InvalidArgumentError, InvalidIndexError, check_method
from ..validate import (
    as_float,
    as_int,
    check_indices,
    check_keywords,
    check_magnitude,
    check_memory,
)


def _params(func, drop=("data", "tilts", "start", "progress")) -> set[str]:
    return {p for p in inspect.signature(func).parameters if p not in drop}


#: ETSpy 1.3.0's tuning keywords that our methods do not need: accepted (and ignored by
#: ``compute_shifts``) with the method they tune, so ETSpy scripts run unchanged
_ETSPY_REGISTER = {"COM": {"xrange", "p"}, "COM-CL": {"cl_resolution", "cl_div_factor"}}
_DRIFT = {"drift", "drift_degree"}
REGISTER_KEYWORDS = {
    "PC": _params(pc_shifts) | _DRIFT,
    "StackReg": set(_DRIFT),
    "COM": _params(com_shifts),
    "COM-CL": _params(comcl_shifts),
    "PM": _params(_pm_signature) | {"initial"},
}
#: ``tilt_align``'s keywords (ours and ETSpy 1.3.0's)
TILT_ALIGN_KEYWORDS = {"CoM": {"slices", "nslices"},
                       "MaxImage": {"limit", "delta", "plot_results", "also_shift",
                                    "shift_limit"},
                       "MassProfile": {"slices", "nslices", "limit", "refine_limit"}}


def check_register_call(stack, method, kwargs: dict) -> None:
    """``stack_register``'s keywords and the values that would fail deep inside."""
    method = check_method("registration method", method, REGISTER_METHODS)
    check_keywords(f"stack_register(method={method!r})", kwargs,
                   REGISTER_KEYWORDS[method] | _ETSPY_REGISTER.get(method, set()))
    nx = np.shape(stack.data)[-1]
    slices = kwargs.get("slices")
    if method == "COM" and slices is not None and not isinstance(slices, str):
        check_indices("slices", slices, nx, "columns (x) in each projection")
    for name in ("com_ref_index", "cl_ref_index"):
        if kwargs.get(name) is not None:
            check_indices(name, kwargs[name], np.shape(stack.data)[0], "projections")
    if method == "PM" and "levels" in kwargs:
        levels = kwargs["levels"]
        seq = np.atleast_1d(np.asarray(levels, dtype=object)).tolist()
        if not seq:
            raise InvalidArgumentError(f"levels must be binning factors ≥ 1, coarse to fine, "
                                       f"e.g. levels=(4, 2, 1); got {levels!r}.")
        for k, v in enumerate(seq):
            as_int(f"levels[{k}]" if np.ndim(levels) else "levels", v, minimum=1)
    for name in ("upsample_factor", "iterations", "sirt_iterations", "upsample", "nslices",
                 "max_size"):
        if name in kwargs and kwargs[name] is not None and name in REGISTER_KEYWORDS[method]:
            as_int(name, kwargs[name], minimum=1)


def check_tilt_align_call(stack, method, kwargs: dict) -> None:
    """``tilt_align``'s keywords (a typo is refused with the near miss) and their values."""
    method = check_method("tilt alignment method", method, tuple(TILT_ALIGN_KEYWORDS))
    check_keywords(f"tilt_align(method={method!r})", kwargs,
                   set().union(*TILT_ALIGN_KEYWORDS.values()))
    slices = kwargs.get("slices")
    if slices is not None:
        check_indices("slices", slices, np.shape(stack.data)[-1],
                      "columns (x) in each projection")
    if kwargs.get("nslices") is not None:
        as_int("nslices", kwargs["nslices"], minimum=1)
    for name in ("limit", "delta", "shift_limit"):
        if name in kwargs:
            as_float(name, kwargs[name], minimum=0)


def check_reconstruct_call(stack, thresh, ncores, thickness, chunk_size) -> None:
    """``reconstruct``'s numbers, the data's magnitude and the memory of the volume."""
    as_float("thresh", thresh)
    as_int("ncores", ncores, minimum=1, allow_none=True)
    as_int("chunk_size", chunk_size, minimum=1, allow_none=True)
    _, ny, nx = np.shape(stack.data)
    depth = as_int("thickness", thickness, minimum=1, allow_none=True) or ny
    if getattr(stack, "_lazy", False):  # written block by block: never all in memory
        return
    check_memory(4 * nx * depth * ny, f"A volume of {nx} × {depth} × {ny} (float32)",
                 f"Use a smaller thickness (got {thickness}), bin the stack "
                 "(stack.rebin(scale=(1, 2, 2))) or reconstruct lazily (load(..., lazy=True)).")
    check_magnitude(np.asarray(stack.data), "projections")


def checked_slice(signal, slices, is_navigation, do):
    """Run HyperSpy's slicer (``do()``), translating its IndexError and refusing an empty
    result: ``stack.inav[999]``, ``stack.isig[500:600, :]``, ``stack.isig[20:5, :]``."""
    kind = "inav" if is_navigation else "isig"
    am = signal.axes_manager
    axes = am.navigation_axes if is_navigation else am.signal_axes
    sizes = " × ".join(f"{a.size} ({a.name})" for a in axes) or "none"
    try:
        text = index_text(slices)
    except Exception:
        text = repr(slices)
    try:
        result = do()
    except IndexError as err:
        raise InvalidIndexError(
            f"{kind}[{text}] is outside the stack: its {kind} axes are {sizes} ({err}). "
            f"Give indices in 0..size-1 (integers) or calibrated values (floats).") from err
    return result, kind, text, sizes


def refuse_empty(result, kind: str, text: str, sizes: str) -> None:
    """An ``inav``/``isig`` that selects nothing (``isig[20:5, :]``) is refused."""
    if 0 in np.shape(result.data):
        raise InvalidIndexError(
            f"{kind}[{text}] selects nothing (an empty stack of shape "
            f"{tuple(np.shape(result.data))}); its {kind} axes are {sizes}. Give start < stop "
            "inside the axes.")


__all__ = ["REGISTER_KEYWORDS", "TILT_ALIGN_KEYWORDS", "check_reconstruct_call",
           "check_register_call", "check_tilt_align_call", "checked_slice", "refuse_empty"]
