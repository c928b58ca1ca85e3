"""Reconstruction: projectors, BP/FBP/SIRT/SART/DART/CGLS/TV, recon_error and scale-out.

Array level (no HyperSpy): [`reconstruct_slices`][] and [`get_projector`][].
Layouts: a sinogram block is ``(n_tilts, n_det, n_slices)`` (a column block of the
stack, as stored); the batched projector operators take volume blocks
``(n_slices, thickness, n_det)`` and sinogram blocks ``(n_slices, n_tilts, n_det)``
(slice first); see ``projectors`` and ``docs/reconstruction.md``.

``ReconMixin`` carries the verbs of a TomoStack (``reconstruct``, ``recon_error``),
``RecStackMixin`` those of a RecStack (``forward_project``).

ETSpy's module functions: ``run`` and ``astra_error`` (``functions``), ``dart_segment`` and
``get_dart_boundaries`` (``algorithms``).
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
from .functions import astra_error, run
from .parallel import reconstruct_stack
from .projectors import clear_cache, cuda_available, get_projector
from .verbs import ReconMixin, RecStackMixin

__all__ = [
    "CGLS", "DART", "FILTERS", "METHODS", "SART", "SIRT", "TV", "Algorithm", "RecStackMixin",
    "ReconMixin", "ReconstructionCancelled", "astra_error", "clear_cache", "cuda_available",
    "dart_segment", "filter_sinograms", "get_dart_boundaries", "get_projector",
    "reconstruct_slices", "reconstruct_stack", "run",
]
