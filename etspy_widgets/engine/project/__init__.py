"""Projectors: one family behind one interface, for one ``ParallelGeometry``.

[`get_projector`][] returns a [`Projector`][] (``forward``/``back`` on slice-first
blocks, ``fp_cols``/``bp_cols`` on the algorithms' column blocks), built once per geometry
(``engine.geometry.ParallelGeometry``) and cached:

- ``backend="sparse"`` (kernels ``"strip"``, ``"linear"``, ``"line"``):
  ``SparseProjector`` (``_sparse``), the system matrix applied by batched Numba kernels
  (``_csr``);
- ``backend="matrix-free"`` (kernel ``"strip"``): ``MatrixFreeProjector`` (``_free``), the
  same strip weights computed on the fly (no matrix: big detectors, a few slices);
- ``kernel="pixel"``: ``PixelProjector`` (``_pixel``), the pixel-driven linear pair,
  matrix-free;
- ``backend="astra"``, ``"astra-cuda"``: ``AstraProjector`` (``_astra``), ASTRA's
  projectors slice by slice; every ASTRA call lives in that module.

FBP filters (ASTRA's, computed here) are in ``fbp_filters``.
"""

from ._astra import AstraProjector, cuda_available
from ._base import Projector, safe_inverse
from ._cache import (
    BACKENDS,
    KERNELS,
    SPARSE_MEMORY_FRACTION,
    clear_cache,
    fit_sparse,
    get_projector,
    is_cached,
    resolve_backend,
    sparse_matrix_bytes,
)
from ._free import MatrixFreeProjector
from ._pixel import PixelProjector
from ._sparse import SparseProjector, strip_matrix, strip_tiled
from .fbp_filters import FILTERS, filter_response, filter_sinograms

__all__ = [
    "BACKENDS", "FILTERS", "KERNELS", "SPARSE_MEMORY_FRACTION", "AstraProjector",
    "MatrixFreeProjector", "PixelProjector", "Projector", "SparseProjector",
    "clear_cache", "cuda_available", "filter_response", "filter_sinograms",
    "fit_sparse", "get_projector", "is_cached", "resolve_backend", "safe_inverse",
    "sparse_matrix_bytes", "strip_matrix", "strip_tiled",
]
