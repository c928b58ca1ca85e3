"""Reconstruction: BP/FBP/SIRT/SART/DART/CGLS/TV on the projectors of ``engine.project``.

Array level (no HyperSpy): ``slices.reconstruct_slices`` (one block of slices),
``stack.reconstruct_stack`` (a whole series in chunks, threads or Dask),
``lazy.lazy_volume`` (a dask array, block by block) and ``algorithms`` (the iterable
algorithms and their callbacks). ``get_projector``, ``clear_cache``, ``cuda_available``,
``FILTERS`` and ``filter_sinograms`` are re-exported from ``engine.project``.
Layouts: a sinogram block is ``(n_tilts, n_det, n_slices)`` (a column block of the
stack, as stored); the batched projector operators take volume blocks
``(n_slices, thickness, n_det)`` and sinogram blocks ``(n_slices, n_tilts, n_det)``
(slice first); see ``projectors`` and ``docs/reconstruction.md``.

Arrays only: the TomoStack/RecStack verbs that call this package are in ``engine.signals``;
ETSpy's module functions (``run``, ``astra_error``) in ``etspy_widgets.etspy.recon``.
"""

from ..project import clear_cache, cuda_available, get_projector
from ..project.fbp_filters import FILTERS, filter_sinograms
from .algorithms import (
    CGLS,
    DART,
    SART,
    SIRT,
    TV,
    Algorithm,
    Callback,
    ProgressCallback,
    ReconstructionCancelled,
    dart_segment,
    get_dart_boundaries,
)
from .slices import DEFAULT_FILTER, DEFAULT_KERNEL, METHODS, reconstruct_slices
from .stack import DEFAULT_CHUNK, reconstruct_stack

__all__ = [
    "CGLS", "DART", "DEFAULT_CHUNK", "DEFAULT_FILTER", "DEFAULT_KERNEL", "FILTERS", "METHODS",
    "SART", "SIRT", "TV", "Algorithm", "Callback", "ProgressCallback", "ReconstructionCancelled",
    "clear_cache", "cuda_available", "dart_segment", "filter_sinograms",
    "get_dart_boundaries", "get_projector", "reconstruct_slices", "reconstruct_stack",
]
