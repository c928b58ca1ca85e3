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
from ..errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvalidIndexError,
    NotATiltSeriesError,
    check_method,
)
from ..validate import (
    as_bool,
    as_float,
    as_int,
    as_path,
    check_index,
    check_indices,
    check_keywords,
    check_magnitude,
    check_memory,
    show_value,
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


def checked_projections(projections, n: int) -> list[int]:
    """``remove_projections``' indices: a non-empty list of integers inside the ``n``
    projections (negative from the end), that leaves at least one."""
    if projections is None or (not isinstance(projections, str)
                               and np.size(np.asarray(projections, dtype=object)) == 0):
        raise InvalidArgumentError(  # ETSpy's sentence first
            f"No projections provided (projections={show_value(projections)}): pass a list of "
            "indices, e.g. remove_projections([0, 5]).")
    if isinstance(projections, (str, bytes)):
        raise InvalidIndexError(
            f"projections must be integer indices; got {show_value(projections)}. Pass a "
            "list of indices, e.g. remove_projections([0, 5]).")
    idx = check_indices("projections", projections, n, "projections")
    if len(set(idx)) >= n:
        raise InvalidArgumentError(
            f"remove_projections({show_value(projections)}) would remove every one of the {n} "
            "projections; keep at least one.")
    return idx


def checked_column(stack, column) -> int:
    """``extract_sinogram``'s column: an int index or a float position on the x axis."""
    if isinstance(column, (bool, np.bool_)) or not isinstance(
            column, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(  # ETSpy's sentence first
            f'"column" argument must be either a float or an integer (was {type(column)}): '
            "one column, an int index or a float position in the x axis's units.")
    ax = stack.axes_manager.signal_axes[0]
    if isinstance(column, (float, np.floating)):
        if not np.isfinite(column):
            raise InvalidArgumentError(f"column must be a finite position; got {column}. "
                                       f"Give an index in 0..{ax.size - 1} or a position on "
                                       f"the x axis ({ax.low_value:g}..{ax.high_value:g}).")
        try:
            return int(ax.value2index(float(column)))
        except ValueError as err:
            raise InvalidIndexError(
                f"column={column} is outside the x axis ({ax.low_value:g} to "
                f"{ax.high_value:g} {ax.units}); give a position inside it or an int "
                f"index in 0..{ax.size - 1}.") from err
    return check_index("column", column, ax.size, "columns (x) in each projection")


def check_manual_align_call(stack, nslice, xshift, yshift) -> tuple[int, int, int]:
    """``manual_align``'s split and whole-pixel shifts, inside the stack and the image."""
    n, ny, nx = np.shape(stack.data)
    nslice = as_int("nslice", nslice)
    if not 0 < nslice < n:
        raise InvalidIndexError(f"nslice={nslice} does not split the {n} projections: give "
                                f"the first projection of the second part, 1..{n - 1}.")
    xshift, yshift = as_int("xshift", xshift), as_int("yshift", yshift)
    for name, value, size, what in (("xshift", xshift, nx, "columns"),
                                    ("yshift", yshift, ny, "rows")):
        if abs(value) >= size:
            raise InvalidArgumentError(
                f"{name}={value} is larger than the image ({size} {what}); give a shift of "
                f"at most {size - 1} pixels.")
    return nslice, xshift, yshift


def check_rebin_call(stack, new_shape, scale, dtype) -> None:
    """``rebin``'s ``new_shape``/``scale`` (one of them, one value per axis, the projection
    axis unchanged) and ``dtype``, before HyperSpy's own checks."""
    shape = stack.axes_manager.shape  # navigation first: (n_projections, nx, ny)
    example = f"e.g. stack.rebin(scale=(1, 2, 2)) or new_shape=({shape[0]}, ...)"
    if (new_shape is None) == (scale is None):
        raise InvalidArgumentError(f"rebin needs exactly one of new_shape and scale; got "
                                   f"new_shape={show_value(new_shape)}, scale={show_value(scale)}. "
                                   f"{example}.")
    name, values = ("scale", scale) if scale is not None else ("new_shape", new_shape)
    if isinstance(values, (str, bytes)) or np.ndim(np.asarray(values, dtype=object)) != 1 \
            or len(values) != len(shape):
        raise InvalidArgumentError(f"{name} must give one value per axis ({len(shape)}: "
                                   f"projections, x, y); got {show_value(values)}. {example}.")
    for k, (value, size) in enumerate(zip(values, shape, strict=True)):
        if name == "scale":
            factor = as_float(f"scale[{k}]", value)
            if factor <= 0 or factor > size:
                raise InvalidArgumentError(f"scale[{k}]={value} must be a factor in (0, "
                                           f"{size}] for an axis of {size}. {example}.")
        else:
            as_int(f"new_shape[{k}]", value, minimum=1, maximum=size)
    first = values[0]
    if float(first) != (1 if name == "scale" else shape[0]):
        raise InvalidArgumentError(
            f"rebin would merge projections ({name}[0]={first}); bin only the image axes, "
            f"{example}.")
    if dtype is not None:
        try:
            np.dtype(dtype)
        except TypeError as err:
            raise InvalidArgumentError(f"dtype={show_value(dtype)} is not a NumPy data type; give "
                                       "e.g. dtype='float32' or None.") from err


def check_test_align_call(stack, args: dict) -> None:
    """``test_align``'s numbers (its slices are checked where they are used)."""
    for name in ("tilt_shift", "tilt_rotation", "thresh", "vmin_std", "vmax_std"):
        as_float(name, args[name])
    as_int("thickness", args["thickness"], minimum=1, allow_none=True)
    as_int("iterations", args["iterations"], minimum=1)
    as_bool("constrain", args["constrain"])


def check_slices_memory(stack, slices, thickness) -> None:
    """``test_align``'s slices (at least one) and the memory of their reconstruction."""
    if len(slices) == 0:
        raise InvalidIndexError("slices is empty: give the columns to reconstruct, e.g. "
                                "slices=[100, 200, 300], or None for three default ones.")
    ny = np.shape(stack.data)[1]
    depth = ny if thickness is None else int(thickness)
    check_memory(8 * len(slices) * depth * ny, f"{len(slices)} trial slices of {depth} × "
                 f"{ny}", f"Use a smaller thickness (got {thickness}).")


def check_view_call(volume, slices, vmin_std, vmax_std) -> tuple:
    """``plot_slices``' positions (inside the volume, None for the centre) and contrast."""
    shape = np.shape(volume.data)
    if len(shape) != 3:
        raise InvalidArgumentError(f"plot_slices needs a volume (nx, thickness, ny); got "
                                   f"shape {shape}.")
    nx, nz, ny = shape
    xslice, yslice, zslice = slices
    out = [None if v is None else check_index(name, v, size, what) for name, v, size, what in (
        ("xslice", xslice, nx, "slices (x)"), ("yslice", yslice, ny, "columns (y)"),
        ("zslice", zslice, nz, "rows (z)"))]
    as_float("vmin_std", vmin_std)
    as_float("vmax_std", vmax_std)
    return tuple(out)


def check_array_data(data, cls_name: str) -> None:
    """A signal's data: a numeric array (not text or objects) of at least 2 dimensions that
    holds something (``TomoStack("abc")``, ``RecStack(5)``, an empty array are refused)."""
    kind = getattr(getattr(data, "dtype", None), "kind", "O")
    shape = tuple(getattr(data, "shape", ()))
    if kind == "O" and shape == (1,) and data[0] is None:
        return  # HyperSpy's placeholder while it copies a signal (the data come after)
    if kind not in "biuf" or len(shape) < 2 or 0 in shape:
        what = "a tilt series (n_tilts, ny, nx)" if cls_name == "TomoStack" else \
            "a volume (nx, thickness, ny)"
        raise NotATiltSeriesError(
            f"A {cls_name} needs {what} of real numbers; got "
            f"{getattr(getattr(data, 'dtype', None), 'name', type(data).__name__)} data of "
            f"shape {shape}. Pass a numeric NumPy array, e.g. np.asarray(data, "
            "dtype=np.float32).")


def check_pair(images, n: int) -> tuple[int, int]:
    """``test_correlation``'s two projection indices."""
    idx = check_indices("images", images, n, "projections")
    if len(idx) != 2:
        raise InvalidArgumentError(f"images must be two projection indices, e.g. "
                                   f"images=[0, 1]; got {show_value(images)}.")
    return idx[0], idx[1]


def check_save_call(filename, extension, file_format) -> None:
    """``save``'s path (None for the title), ``extension`` and ``file_format`` (names)."""
    if filename is not None:
        as_path("filename", filename)
    for name, value in (("extension", extension), ("file_format", file_format)):
        if value is not None and not (isinstance(value, str) and value.strip(". ")):
            raise ArgumentTypeError(f"{name} must be a format name such as 'hspy', 'zspy' or "
                                    f"'mrc'; got {show_value(value)}.")


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


__all__ = [
    "REGISTER_KEYWORDS",
    "TILT_ALIGN_KEYWORDS",
    "check_manual_align_call",
    "check_rebin_call",
    "check_reconstruct_call",
    "check_register_call",
    "check_test_align_call",
    "check_tilt_align_call",
    "check_view_call",
    "checked_column",
    "checked_projections",
    "checked_slice",
    "refuse_empty",
]
