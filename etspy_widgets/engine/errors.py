"""Exceptions raised by etspy-widgets, each saying what was wrong and what to do.

All derive from the built-in class a caller would expect (``ValueError``,
``OSError``...), so ``except ValueError`` keeps working for code written
against ETSpy.
"""

from __future__ import annotations

import errno

import numpy as np


class TomographyError(Exception):
    """Base class of every error raised by etspy-widgets."""


class MismatchedTiltError(TomographyError, ValueError):
    """The number of tilts does not match the number of projections."""

    def __init__(self, num_tilts: int, num_projections: int, shape=None):
        # ETSpy's sentence first when the array's shape is known (code written against it
        # matches it)
        lead = "" if shape is None else (
            f"Shape of tilts array must be ({num_projections}, 1) to match the navigation "
            f"size of the stack (was {tuple(shape)}). ")
        super().__init__(
            f"{lead}Got {num_tilts} tilt values for a stack of {num_projections} projections. "
            "Give exactly one tilt angle (in degrees) per projection, e.g. "
            "stack.set_tilts(start, increment) or load(path, tilts=array)."
        )
        self.num_tilts = num_tilts
        self.num_projections = num_projections


class InvalidTiltsError(TomographyError, ValueError):
    """Tilt values that are not a finite one-dimensional array."""


class InvalidDataError(TomographyError, ValueError):
    """Image data that cannot be used (NaN/inf values, wrong dimensions, empty)."""


# ETSpy 1.3.0's choices for the names that are ETSpy's arguments, in its order and words:
# the message begins with ETSpy's sentence (code and tests written against ETSpy match it),
# then names what this package accepts besides
ETSPY_CHOICES = {
    "registration method": ("StackReg", "PC", "COM", "COM-CL"),
    "alignment method": ("CoM", "MaxImage"),
    "reconstruction algorithm": ("FBP", "SIRT", "SART", "DART"),
    "filter method": ("median", "bpf", "both", "sobel"),
    "interpolation method": ("linear", "cubic", "nearest", "none"),
    "noise type": ("gaussian", "poissonian", "shot"),
    "accuracy level": ("low", "medium", "high"),
    "filter type": ("ram-lak", "shepp-logan", "hanning", "hann", "cosine", "cos"),
}


def format_choices(choices) -> str:
    """``["a", "b", or "c"]`` (ETSpy's way of listing choices)."""
    quoted = [f'"{c}"' if isinstance(c, str) else str(c) for c in choices]
    if len(quoted) == 1:
        return f"[{quoted[0]}]"
    head = ", ".join(quoted[:-1]) + ("," if len(quoted) > 2 else "")
    return f"[{head} or {quoted[-1]}]"


class NotATiltSeriesError(InvalidDataError, TypeError):
    """Data whose dimensions cannot be a tilt series (``load(np.zeros(10))``).

    A ``ValueError`` and a ``TypeError`` (ETSpy's ``load`` raised the latter for input it
    could not read).
    """


class UnknownMethodError(TomographyError, ValueError, TypeError):
    """A method, filter or algorithm name that is not one of the choices.

    A ``ValueError`` and a ``TypeError``: ETSpy raised the one or the other (``TypeError``
    for an unknown registration method), and code catching either keeps working.
    """

    def __init__(self, kind: str, name: object, choices):
        choices = list(choices)
        lowered = {str(c).lower() for c in choices}
        etspy = [c for c in ETSPY_CHOICES.get(kind, ()) if str(c).lower() in lowered]
        shown = etspy or choices
        message = f'Invalid {kind} "{name}". Must be one of {format_choices(shown)}.'
        extra = [c for c in choices if str(c).lower() not in {str(e).lower() for e in shown}]
        if extra:
            message += f" This package also accepts {format_choices(extra).strip('[]')}."
        super().__init__(message)
        self.name = name
        self.choices = choices


class TomoFileError(TomographyError, OSError):
    """A file that cannot be read as a tilt series (truncated, wrong format, missing sidecar)."""


class DataNotFoundError(TomographyError, FileNotFoundError):
    """ETSpy's published test data could not be found on this machine."""


class ChecksumError(TomographyError, OSError):
    """A downloaded file whose SHA-256 is not the one recorded for it."""


class Cancelled(TomographyError, KeyboardInterrupt):
    """Work stopped because its ``cancel`` event was set; nothing was changed or written.

    The one cancellation class of the project: the reconstruction's
    ``ReconstructionCancelled`` and the actions' cancellation derive from it, so
    ``except Cancelled`` catches every one (and ``except KeyboardInterrupt`` too).
    """


class OutputExistsError(TomographyError, FileExistsError):
    """The output exists and ``overwrite`` was not given."""


class OutputPathError(TomographyError, OSError):
    """An output path that cannot be written: a folder, a pipe, a missing or read-only folder."""


class DiskFullError(TomographyError, OSError):
    """The disk filled up during a write; the temporary was removed, nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.errno = errno.ENOSPC


class InvalidArgumentError(TomographyError, ValueError):
    """An argument with a value of the wrong kind or out of range (names it and the value)."""


class ArgumentTypeError(TomographyError, TypeError):
    """An argument of the wrong type (a string where a stack is needed, ...)."""


class UnknownKeywordError(TomographyError, TypeError):
    """A keyword that is neither ours nor ETSpy's (a typo): names the near miss."""


class InvalidIndexError(TomographyError, IndexError):
    """An index or slice outside the stack, or one that selects nothing."""


class NotReadyError(TomographyError, RuntimeError):
    """An action that cannot run in the current state (a job still running, no volume yet,
    no Jupyter front end): the message says what to do first."""


class InsufficientMemoryError(TomographyError, MemoryError):
    """A result that would not fit in memory, refused before anything was allocated."""


class ImplausibleTiltsError(InvalidTiltsError):
    """Tilts that cannot be right in degrees (radians by mistake, all equal, span > 360°)."""


class NonFiniteResultError(InvalidDataError):
    """A computation that produced NaN or infinite values (refused, never returned)."""


def check_method(kind: str, name: str, choices) -> str:
    """Return the canonical spelling of ``name`` from ``choices`` (case-insensitive).

    Raises
    ------
    UnknownMethodError
        If ``name`` is not one of ``choices``.
    """
    if isinstance(name, str):
        for choice in choices:
            if name.lower() == choice.lower():
                return choice
    raise UnknownMethodError(kind, name, choices)


def check_finite(data, what: str = "data") -> None:
    """Raise [`InvalidDataError`][] when ``data`` holds NaN or infinite values.

    Lazy (Dask) arrays are not checked here: they are checked chunk by chunk
    where they are computed.
    """
    if not isinstance(data, np.ndarray):
        return
    if data.dtype.kind not in "fc":  # integers can't be NaN; text/objects: refused elsewhere
        return
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        where = np.argwhere(~finite)[0].tolist()
        raise InvalidDataError(
            f"The {what} holds {bad} NaN or infinite value(s) (first at index {where}). "
            "Replace them first, e.g. stack.data = np.nan_to_num(stack.data), or remove "
            "the affected projections with stack.remove_projections([...])."
        )
