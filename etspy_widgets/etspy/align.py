"""ETSpy's ``etspy.align``: the aligner classes and the module functions.

The classes (``PhaseCorrelationAligner``... ``TiltMaxImageAligner``) are the methods
``stack_register`` and ``tilt_align`` run (``etspy_widgets.engine.align._aligners``).

``align_to_other``, ``apply_shifts``, ``shift_crop``, ``get_best_slices``, ``get_coms`` with
ETSpy's names and arguments. ``cuda`` is accepted (ETSpy's signature) and ignored:
registration runs on the CPU.
"""

from __future__ import annotations

import numpy as np

from ..engine.align import (
    CoMAligner,
    CommonLineAligner,
    PhaseCorrelationAligner,
    ProjectionMatchingAligner,
    StackAligner,
    StackRegAligner,
    TiltAligner,
    TiltCOMAligner,
    TiltMassProfileAligner,
    TiltMaxImageAligner,
    best_slices,
    row_com,
)
from ..engine.errors import InvalidDataError
from ..engine.transform import shift_stack


def align_to_other(stack, other, shift_type: str = "fourier", cuda: bool = False):
    """ETSpy's ``align_to_other``: ``stack.align_other(other, shift_type)``.

    Returns an aligned copy of ``other`` with ``stack``'s shifts, crop and tilt-axis
    transform replayed (see ``TomoStack.align_other``); ``cuda`` is ignored.
    """
    return stack.align_other(other, shift_type=shift_type, cuda=cuda)


def apply_shifts(stack, shifts, method: str = "fourier", cuda: bool = False, **kwargs):
    """ETSpy's ``apply_shifts``: a copy of ``stack`` with ``(n, 2)`` (y, x) ``shifts`` applied.

    ``method`` is ``"fourier"`` or ``"interp"`` (``order=`` for the latter, default 3);
    ``shifts`` may be a ``TomoShifts`` or an array. The shifts are added to the copy's
    ``shifts``. ``cuda`` is ignored.
    """
    values = np.asarray(getattr(shifts, "data", shifts), dtype=np.float64)
    n = stack.data.shape[0]
    if values.shape != (n, 2):  # a flat 2n array is ambiguous ((y, x) pairs or columns?)
        raise InvalidDataError(
            f"Number of shifts ({values.shape[0] if values.ndim else values.size}) is not "
            f"consistent with number of images in the stack ({n}): give an ({n}, 2) array "
            f"of (y, x) shifts; got shape {values.shape}."
        )
    values = values.reshape(n, 2)
    if not kwargs:
        return stack.apply_shifts(values, method)
    data = shift_stack(stack._float_data(), values, method, **kwargs)
    out = stack._with_data(data)
    out.shifts = stack.shift_values + values
    return out


def shift_crop(stack):
    """ETSpy's ``shift_crop``: ``stack.shift_crop()`` (crop to the area every shift kept)."""
    return stack.shift_crop()


def get_best_slices(stack, nslices: int) -> np.ndarray:
    """ETSpy's ``get_best_slices``: the columns best suited to centre-of-mass tracking.

    Columns with the highest ratio of mass to its variation over tilt (Sanders et al.
    2015), as ``stack_register("COM", slices=None)`` chooses them. Returns at most
    ``nslices`` column indices, sorted; the outer tenth of the columns on each side is
    never chosen (ETSpy's returned them by decreasing score, edges included).
    """
    return best_slices(np.asarray(stack.data, dtype=np.float64), nslices)


def get_coms(stack, slices) -> np.ndarray:
    """ETSpy's ``get_coms``: centre of mass across the tilt axis of the columns ``slices``.

    Returns an ``(n_tilts, len(slices))`` array in pixels from the image centre (row
    ``(ny - 1) / 2``); ETSpy's used a coordinate running from ``-ny//2`` to ``ny//2`` over
    ``ny`` rows, i.e. a scale of ``ny / (ny - 1)`` pixels.
    """
    data = np.asarray(stack.data, dtype=np.float64)
    cols = data[:, :, np.atleast_1d(np.asarray(slices))]  # (n, ny, k)
    return row_com(np.moveaxis(cols, 1, 2)) - (data.shape[1] - 1) / 2


__all__ = ["CoMAligner", "CommonLineAligner", "PhaseCorrelationAligner",
           "ProjectionMatchingAligner", "StackAligner", "StackRegAligner", "TiltAligner",
           "TiltCOMAligner", "TiltMassProfileAligner", "TiltMaxImageAligner", "align_to_other",
           "apply_shifts", "get_best_slices", "get_coms", "shift_crop"]
