"""Checks of what the public entry points are given, with errors that say what to do.

Every check raises one of ``engine.errors``' classes (which subclass the built-in class
ETSpy code catches), naming the argument, the value and the fix. The plausibility
checks ([`check_tilt_plausibility`][], [`check_magnitude`][]) refuse inputs that
cannot be right (radians given as degrees, all tilts equal, data that overflows float32).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable

import numpy as np

from .errors import (
    ArgumentTypeError,
    ImplausibleTiltsError,
    InsufficientMemoryError,
    InvalidArgumentError,
    InvalidDataError,
    InvalidIndexError,
    InvalidTiltsError,
    NonFiniteResultError,
    UnknownKeywordError,
)

#: The largest absolute value a stack may hold: reconstructions run in float32 (max 3.4e38)
#: and sum over projections and pixels, so data beyond this overflows to inf/NaN.
MAX_MAGNITUDE = 1e30


def show_value(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_float(name: str, value, *, minimum=None, maximum=None, finite: bool = True) -> float:
    """``value`` as a float; refuse strings, NaN (``finite``) and out-of-range values."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise InvalidArgumentError(f"{name} must be a number; got {show_value(value)}. Pass a "
                                   f"number, e.g. {name}=0.")
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"{name} must be a number; got {show_value(value)}.") from err
    if finite and not np.isfinite(out):
        raise InvalidArgumentError(f"{name} must be a finite number; got {out}. Pass a "
                                   "finite value.")
    if minimum is not None and out < minimum:
        raise InvalidArgumentError(f"{name} must be ≥ {minimum}; got {out}.")
    if maximum is not None and out > maximum:
        raise InvalidArgumentError(f"{name} must be ≤ {maximum}; got {out}.")
    return out


def as_int(name: str, value, *, minimum=None, maximum=None, allow_none: bool = False):
    """``value`` as an int (integral floats accepted); refuse strings, bools, fractions."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and float(value).is_integer():
        ok, value = True, int(value)
    if not ok:
        raise InvalidArgumentError(
            f"{name} must be an integer; got {show_value(value)}. Pass a whole number, e.g. "
            f"{name}={minimum if minimum is not None else 1}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be ≥ {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{name} must be ≤ {maximum}; got {value}.")
    return value


def as_bool(name: str, value) -> bool:
    """A flag: ``True``/``False`` (NumPy's too) or the integers 0 and 1."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    raise InvalidArgumentError(f"{name} must be True or False; got {show_value(value)}.")


def as_values(name: str, values, *, size=None, minimum=None, allow_none: bool = False):
    """A sequence of finite numbers as a 1D float array (``size`` of them, if given)."""
    if values is None and allow_none:
        return None
    what = f"{size} numbers" if size else "a list of numbers"
    if isinstance(values, (str, bytes)) or np.ndim(np.asarray(values, dtype=object)) != 1:
        raise InvalidArgumentError(f"{name} must be {what}; got {show_value(values)}.")
    out = np.array([as_float(f"{name}[{k}]", v, minimum=minimum)
                    for k, v in enumerate(values)], dtype=np.float64)
    if (size and out.size != size) or out.size == 0:
        raise InvalidArgumentError(f"{name} must be {what}; got {show_value(values)}.")
    return out


def as_path(name: str, value):
    """A file path: a ``str`` or ``os.PathLike`` (a number, a list, None are refused)."""
    if isinstance(value, (str, os.PathLike)) and str(value):
        return value
    raise ArgumentTypeError(f"{name} must be a file path (a str or pathlib.Path); got "
                            f"{type(value).__name__} {show_value(value)}. Give e.g. "
                            f"{name}='out.hspy'.")


def as_dtype(name: str, value) -> np.dtype:
    """A NumPy data type (``"float32"``, ``np.uint16``...)."""
    if value is None or isinstance(value, (bool, np.bool_, int, float, list, np.ndarray)):
        ok = False
    else:
        try:
            out = np.dtype(value)
            ok = out.fields is None and out.kind in "biufc"
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise ArgumentTypeError(f"{name} must be a NumPy number type; got "
                                f"{show_value(value)}. Give e.g. {name}='float32' or "
                                "np.uint16.")
    return out


def as_tilt_array(values, name: str = "tilts") -> np.ndarray:
    """Tilt angles (degrees) — or shifts (pixels) — as a float array; a string or
    non-numbers is refused."""
    unit = "degrees" if "tilt" in name else "(y, x) pixels"
    if isinstance(values, (str, bytes)):
        raise InvalidTiltsError(
            f"{name} must be numbers ({unit}), one per projection; got the string "
            f"{show_value(values)}. Read a file with np.loadtxt(path) or pass a list.")
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidTiltsError(
            f"{name} must be numbers ({unit}), one per projection; got {show_value(values)} "
            f"({err}).") from err


def check_keywords(where: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a keyword that is not in ``known``, suggesting the nearest known name."""
    known = sorted(set(known))
    for key in given:
        if key in known:
            continue
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise UnknownKeywordError(
            f"{where} got an unexpected keyword {key!r}.{hint} Its keywords are: "
            f"{', '.join(known)}.")


def check_index(name: str, index, size: int, what: str = "projections") -> int:
    """An integer index into ``size`` items (negative from the end)."""
    try:
        i = as_int(name, index)
    except InvalidArgumentError as err:
        raise InvalidIndexError(str(err)) from err
    if not -size <= i < size:
        raise InvalidIndexError(
            f"{name}={i} is out of range: there are {size} {what} (valid 0..{size - 1}, or "
            f"-{size}..-1 from the end).")
    return i % size


def check_indices(name: str, indices, size: int, what: str) -> list[int]:
    """A list of integer indices, each checked with [`check_index`][]."""
    values = np.atleast_1d(np.asarray(indices, dtype=object)).tolist()
    return [check_index(f"{name}[{k}]", v, size, what) for k, v in enumerate(values)]


def check_tilt_plausibility(tilts) -> None:
    """Refuse tilt sets that cannot be right in degrees (see docs/troubleshooting).

    - radians by mistake: every |tilt| ≤ 1.6 (π/2 ≈ 1.571) with a span > 0.5 — a real
      series in degrees spanning less than 3.2° cannot be reconstructed anyway;
    - all tilts equal (not all zero: that is "unset", refused by ``check_tilts``);
    - a span of more than 360°.
    """
    t = np.asarray(tilts, dtype=np.float64).reshape(-1)
    if t.size < 2 or not np.isfinite(t).all():
        return
    span = float(t.max() - t.min())
    if np.abs(t).max() <= 1.6 and span > 0.5:
        raise ImplausibleTiltsError(
            f"The tilts look like radians: all within ±1.6 (from {t.min():.3g} to "
            f"{t.max():.3g}) but the tilts are degrees. Convert them: "
            "stack.tilts = np.degrees(stack.tilt_values).")
    if span == 0 and t[0] != 0:
        raise ImplausibleTiltsError(
            f"All {t.size} tilts are {t[0]:g}°: a reconstruction needs different angles. "
            "Set the real tilts, e.g. stack.set_tilts(start, increment).")
    if span > 360:
        raise ImplausibleTiltsError(
            f"The tilts span {span:g}° (from {t.min():g} to {t.max():g}), more than a full "
            "turn. Check the tilt file: the angles are degrees, one per projection.")


def check_magnitude(data, what: str = "data") -> None:
    """Refuse data whose values overflow float32 arithmetic (beyond ±1e30)."""
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fc" or data.size == 0:
        return
    peak = float(np.nanmax(np.abs(data)))
    if peak > MAX_MAGNITUDE:
        raise InvalidDataError(
            f"The {what} reach {peak:.3g}, beyond what float32 reconstructions can sum "
            f"(±{MAX_MAGNITUDE:g}); the result would be inf/NaN. Scale the data first, e.g. "
            "stack.data = stack.data / abs(stack.data).max().")


def check_finite_result(volume, what: str = "reconstruction") -> None:
    """Refuse a NaN/inf result (never returned silently). Lazy arrays are not computed."""
    if not isinstance(volume, np.ndarray) or volume.dtype.kind not in "fc":
        return
    # slab by slab along the first axis (≤ 64 MiB of booleans at a time): a whole-volume
    # ``isfinite`` mask was a quarter of the volume again (1 GiB for a 4 GiB block)
    v = volume if volume.ndim else volume.reshape(1)
    step = max(1, (64 << 20) // max(1, v[:1].size))  # views: no copy of the volume
    bad = 0
    for i in range(0, v.shape[0], step):
        finite = np.isfinite(v[i:i + step])
        bad += int(finite.size - np.count_nonzero(finite))
    if bad:
        raise NonFiniteResultError(
            f"The {what} produced {bad} NaN or infinite value(s) of {volume.size}; it was "
            "not returned. Check the input for extreme values (stack.data.max()) and the "
            "options (thresh, iterations), or try method='FBP'.")


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``; the physical size elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def check_memory(nbytes: int, what: str, fix: str) -> None:
    """Refuse, before allocating, a result of ``nbytes`` that cannot fit in memory."""
    free = available_memory()
    if nbytes > free:
        raise InsufficientMemoryError(
            f"{what} needs {nbytes / 2**30:.1f} GiB and {free / 2**30:.1f} GiB of memory is "
            f"available; nothing was allocated. {fix}")


def check_signal(name: str, value, cls_name: str = "TomoStack") -> None:
    """Refuse an argument that is not a signal with ``data`` (a string, a list...)."""
    data = getattr(value, "data", None)
    if data is None or not hasattr(value, "axes_manager"):
        raise ArgumentTypeError(
            f"{name} must be a {cls_name}; got {type(value).__name__} {show_value(value)}. Load "
            f"one first, e.g. {name} = etw.load('file.mrc').")


__all__ = [
    "MAX_MAGNITUDE",
    "as_bool",
    "as_dtype",
    "as_float",
    "as_int",
    "as_path",
    "as_tilt_array",
    "as_values",
    "available_memory",
    "check_finite_result",
    "check_index",
    "check_indices",
    "check_keywords",
    "check_magnitude",
    "check_memory",
    "check_signal",
    "check_tilt_plausibility",
    "show_value",
]
