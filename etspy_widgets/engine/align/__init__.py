"""Alignment on NumPy arrays: registration, tilt axis, projection matching, trial slices.

Everything here takes and returns arrays (``(n, ny, nx)`` stacks, ``(n, 2)`` shifts,
tilts in degrees); the TomoStack verbs that call it are in ``engine.signals``. Signs and
meanings: ``docs/conventions.md``.

Public array functions: [`compute_shifts`][] (the registration dispatcher),
``test_align_slices`` and [`SliceSampler`][] (what the workbench calls on every slider
move), and the tilt-axis measurements ``com_axis``, ``maximage_rotation``, ``offset_search``.
"""

from __future__ import annotations

from ._aligners import (
    ALIGNERS,
    TILT_ALIGNERS,
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
)
from ._dispatch import compute_shifts, projection_matching
from ._register import REGISTER_METHODS, best_slices
from ._register import _row_com as row_com
from ._slices import (
    SLICE_METHODS,
    SliceSampler,
    default_slices,
    reconstruct_sinograms,
    test_align_slices,
)
from ._tiltaxis import com_axis, maximage_rotation, offset_search

TILT_METHODS = tuple(TILT_ALIGNERS)  # ("CoM", "MaxImage", "MassProfile")

__all__ = ["ALIGNERS", "REGISTER_METHODS", "SLICE_METHODS", "TILT_ALIGNERS", "TILT_METHODS",
           "CoMAligner", "CommonLineAligner", "PhaseCorrelationAligner",
           "ProjectionMatchingAligner", "SliceSampler", "StackAligner", "StackRegAligner",
           "TiltAligner", "TiltCOMAligner", "TiltMassProfileAligner", "TiltMaxImageAligner",
           "best_slices", "com_axis", "compute_shifts", "default_slices", "maximage_rotation",
           "offset_search", "projection_matching", "reconstruct_sinograms", "row_com",
           "test_align_slices"]
