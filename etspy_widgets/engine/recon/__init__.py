"""Reconstruction: projectors, BP/FBP/SIRT/SART/DART/CGLS/TV, recon_error and scale-out.

Array level (no HyperSpy): [`reconstruct_slices`][] and [`get_projector`][].
Layouts: a sinogram block is ``(n_tilts, n_det, n_slices)`` (a column block of the
stack, as stored); the batched projector operators take volume blocks
``(n_slices, thickness, n_det)`` and sinogram blocks ``(n_slices, n_tilts, n_det)``
(slice first); see ``projectors`` and ``docs/reconstruction.md``.

Arrays only: the TomoStack/RecStack verbs that call this package are in ``engine.signals``;
ETSpy's module functions (``run``, ``astra_error``) in ``etspy_widgets.etspy.recon``.
"""

from .algorithms import (
    CGLS,
    DART,
    SART,
    SIRT,
    TV,
    Algorithm,
    ReconstructionCancelled,
    dart_segment,
    get_dart_boundaries,
)
from .api import METHODS, reconstruct_slices
from .filters import FILTERS, filter_sinograms
from .parallel import reconstruct_stack
from .projectors import clear_cache, cuda_available, get_projector

__all__ = [
    "CGLS", "DART", "FILTERS", "METHODS", "SART", "SIRT", "TV", "Algorithm",
    "ReconstructionCancelled", "clear_cache", "cuda_available", "dart_segment",
    "filter_sinograms", "get_dart_boundaries", "get_projector", "reconstruct_slices",
    "reconstruct_stack",
]
