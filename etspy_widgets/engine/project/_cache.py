"""``get_projector``: one projector per (geometry, backend, kernel), built once and cached."""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections import OrderedDict

from ..errors import check_method
from ..geometry import ParallelGeometry, as_geometry
from ._astra import AstraProjector, cuda_available
from ._base import Projector
from ._free import FEW_SLICES, MatrixFreeProjector
from ._pixel import PixelProjector
from ._sparse import SparseProjector

BACKENDS = ("auto", "cpu", "sparse", "matrix-free", "astra", "astra-cuda", "cuda")
KERNELS = ("strip", "linear", "line", "pixel")

_LOG = logging.getLogger("etspy_widgets.engine.project")
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_BUILDING: dict = {}  # cache key → lock held while its projector is being built
_CACHE_SIZE = 4

# The sparse backend holds its system matrix: about 18 bytes per (tilt, slice pixel) for the
# strip kernel (2.2 nonzeros of 8 bytes each; measured 2.79 GB at 151 × 1024², 11.2 GB at
# 151 × 2048²). "auto" picks ASTRA's matrix-free CPU projector instead when the matrix
# would take more than this fraction of the memory available.
SPARSE_BYTES_PER_RAY_PIXEL = 18
SPARSE_MEMORY_FRACTION = 0.8


def sparse_matrix_bytes(n_tilts: int, n_det: int, thickness: int) -> int:
    """Estimated memory of the sparse backend's matrix for one geometry, in bytes."""
    return int(SPARSE_BYTES_PER_RAY_PIXEL * n_tilts * n_det * thickness)


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def resolve_backend(backend: str = "auto") -> str:
    """The backend to use: ``"auto"`` is ``"astra-cuda"`` when ASTRA sees a GPU, else
    ``"sparse"``; ``"cpu"`` is ``"sparse"`` (``"auto"`` without the GPU); ``"cuda"`` is
    another name of ``"astra-cuda"``. ``fit_sparse`` then checks the memory."""
    backend = check_method("projector backend", backend, BACKENDS)
    if backend == "cuda":
        backend = "astra-cuda"
    if backend == "auto":
        backend = "astra-cuda" if cuda_available() else "sparse"
    if backend == "cpu":
        backend = "sparse"
    if backend == "astra-cuda" and not cuda_available():
        raise RuntimeError(
            "The CUDA backend was asked for, but ASTRA sees no CUDA device here. "
            "Use backend='sparse' (cuda=False) to reconstruct on the CPU."
        )
    return backend


def fit_sparse(asked: str, geometry, kernel: str = "strip") -> str:
    """The CPU backend for ``geometry`` (a ``ParallelGeometry`` or
    ``(n_tilts, n_det, thickness)``): ``"sparse"`` when its matrix fits in memory.

    Measured (``benchmarks/bench_projectors.py``): with the matrix built,
    the sparse backend is the fastest CPU projector for one slice and for blocks of 32;
    the matrix-free strip pair needs no memory and no set-up. So ``"auto"`` (or ``"cpu"``)
    takes ``"sparse"`` unless the matrix would take more than ``SPARSE_MEMORY_FRACTION``
    of the available memory; then ``"matrix-free"`` (the same strip weights, computed on
    the fly; ``"astra"`` for the ``"linear"``/``"line"`` kernels), with a
    ``ResourceWarning`` that says so. An explicit ``"sparse"`` that cannot fit at all is
    refused with a ``MemoryError``. Call it before building, not for a projector already
    built (it holds that memory).
    """
    if isinstance(geometry, ParallelGeometry):
        geometry = (geometry.n_angles, geometry.n_det, geometry.thickness)
    need, free = sparse_matrix_bytes(*geometry), _available_memory()
    gib = 1024**3
    automatic = asked in ("auto", "cpu")
    if automatic and need > SPARSE_MEMORY_FRACTION * free:
        chosen = "matrix-free" if kernel == "strip" else "astra"
        what = ("the matrix-free strip projector (backend='matrix-free': the same weights, "
                "computed on the fly)" if chosen == "matrix-free"
                else "ASTRA's matrix-free CPU projector (backend='astra', slower)")
        warnings.warn(
            f"backend='auto': the sparse CPU projector would need about {need / gib:.1f} GiB "
            f"for {geometry[0]} tilts of {geometry[1]} × {geometry[2]} slices "
            f"({free / gib:.1f} GiB available): using {what} instead. Bin the series "
            "(stack.rebin(scale=(1, 2, 2))) or use a GPU for speed.",
            ResourceWarning, stacklevel=3)
        return chosen
    if not automatic and need > free:
        raise MemoryError(
            f"backend='sparse' needs about {need / gib:.1f} GiB for its matrix and "
            f"{free / gib:.1f} GiB is available. Use backend='matrix-free' (no matrix) or "
            "bin the series (stack.rebin(scale=(1, 2, 2))).")
    if automatic:
        _LOG.info("backend=%r: the sparse CPU projector (%.2f GiB matrix for %d tilts of "
                  "%d × %d; %.1f GiB available)", asked, need / gib, *geometry, free / gib)
    return "sparse"


def few_slices_backend(asked: str, backend: str, geometry: ParallelGeometry, kernel: str,
                       n_slices: int | None) -> str:
    """``"matrix-free"`` instead of an automatic ``"sparse"`` for blocks of at most
    ``FEW_SLICES`` slices of the "strip" kernel, whether or not that geometry's matrix is
    built already.

    Measured (``benchmarks/bench_projectors.py --sections steps,few``): for one to three
    slices the matrix-free pair's weight table (``MatrixFreeProjector.strip_table``: 12
    bytes per pixel and angle, built in a fraction of the matrix's time) runs SIRT, SART
    (one fused sweep), CGLS and TV faster than building the sparse matrix and using it; a
    single right-hand side leaves the matrix memory-bound (8 bytes per nonzero, 2.2
    nonzeros per pixel and angle) even when built. With the matrix built already, 2-3
    slices of all but SART are as fast or faster on it: the matrix-free projector then
    hands them to it (``MatrixFreeProjector._sparse_twin``).
    """
    if (n_slices is None or n_slices > FEW_SLICES or kernel != "strip"
            or backend != "sparse" or asked not in ("auto", "cpu")):
        return backend
    if _key("matrix-free", kernel, "native", geometry) not in _CACHE:
        _LOG.info("backend=%r: the matrix-free strip projector for %d slice(s) (tabulated "
                  "weights; no matrix)", asked, n_slices)
    return "matrix-free"


def _key(backend, kernel, builder, geometry: ParallelGeometry) -> tuple:
    """What identifies a built projector in the cache."""
    return (backend, kernel, builder, geometry.key)


def _resolve(geometry, backend, kernel):
    kernel = check_method("projection kernel", kernel, KERNELS)
    asked = check_method("projector backend", backend, BACKENDS)
    if kernel == "pixel":
        if asked not in ("auto", "cpu", "sparse"):
            raise ValueError(
                f"kernel='pixel' is the matrix-free CPU projector of this package; it has "
                f"no backend {backend!r}. Use backend='auto' with it, or an ASTRA kernel "
                "('strip', 'linear', 'line') with that backend.")
        return "pixel", kernel, asked
    return resolve_backend(asked), kernel, asked


def get_projector(tilts, n_det: int | None = None, thickness: int | None = None,
                  backend: str = "auto", *, kernel: str = "strip",
                  builder: str = "native", n_slices: int | None = None) -> Projector:
    """The projector of a geometry, built once and cached (the last few geometries).

    Parameters
    ----------
    tilts : array-like or ParallelGeometry
        Tilt angles in degrees, one per projection (or the whole geometry).
    n_det : int
        Detector pixels across the tilt axis (the stack's ``ny``).
    thickness : int, optional
        Rows of each reconstructed slice; default ``n_det``.
    backend : {"auto", "cpu", "sparse", "matrix-free", "astra", "astra-cuda", "cuda"}
        ``"sparse"``: the batched CPU projector (the system matrix, Numba kernels);
        ``"matrix-free"``: the same "strip" weights computed on the fly (no matrix);
        ``"astra"``: ASTRA's CPU projector slice by slice (the reference, matrix-free);
        ``"astra-cuda"`` (or ``"cuda"``): ASTRA's GPU projector; ``"auto"``: the GPU when
        ASTRA sees one, else ``"sparse"`` (``"matrix-free"`` when the matrix would not
        fit: ``fit_sparse``); ``"cpu"``: ``"auto"`` without the GPU.
    kernel : {"strip", "linear", "line", "pixel"}
        ASTRA's projection kernel ("strip" is what ETSpy reconstructs with), or
        ``"pixel"``: the pixel-driven linear pair of ``_pixel`` (matrix-free, CPU).
    builder : {"native", "astra"}
        Sparse backend, "strip" kernel: our exact-area matrix (fast to build) or ASTRA's
        own (its float32 areas, bit-for-bit ASTRA's results; slow to build for big slices).
    n_slices : int, optional
        How many slices the caller reconstructs at once: with ``"auto"``/``"cpu"`` and at
        most ``FEW_SLICES`` (3) of them, the matrix-free strip pair (tabulated weights) is
        taken instead of the sparse matrix (``few_slices_backend``; with
        ``builder="native"``). The reconstruction functions pass it for the iterative
        methods (SIRT, SART, CGLS, TV, DART).

    Returns
    -------
    Projector
        With ``.forward(vol)`` ``(n_slices, thickness, n_det)`` → ``(n_slices, n_tilts, n_det)``
        and ``.back(sino)`` the other way.
    """
    geometry = as_geometry(tilts, n_det, thickness)
    backend, kernel, asked = _resolve(geometry, backend, kernel)
    builder = check_method("matrix builder", builder, ("native", "astra"))
    if builder == "native":
        backend = few_slices_backend(asked, backend, geometry, kernel, n_slices)
    key = _key(backend, kernel, builder, geometry)
    with _CACHE_LOCK:
        proj = _CACHE.get(key)
    if proj is None and backend == "sparse":
        backend = fit_sparse(asked, geometry, kernel)
        key = _key(backend, kernel, builder, geometry)
    with _CACHE_LOCK:
        proj = _CACHE.get(key)
        if proj is not None:
            _CACHE.move_to_end(key)
            return proj
        building = _BUILDING.setdefault(key, threading.Lock())
    # one build per geometry: threads asking for it meanwhile wait for that build instead of
    # each building (and holding) a copy of a matrix that can take gigabytes
    with building:
        with _CACHE_LOCK:
            proj = _CACHE.get(key)
            if proj is not None:
                _CACHE.move_to_end(key)
                return proj
        try:
            if backend == "sparse":
                proj = SparseProjector(geometry, kernel=kernel, builder=builder)
            elif backend == "pixel":
                proj = PixelProjector(geometry)
            elif backend == "matrix-free":
                proj = MatrixFreeProjector(geometry, kernel=kernel, twin=functools.partial(
                    built_projector, "sparse", kernel, "native", geometry))
            else:
                proj = AstraProjector(geometry, kernel=kernel, cuda=backend == "astra-cuda")
            with _CACHE_LOCK:
                _CACHE[key] = proj
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        finally:
            with _CACHE_LOCK:
                _BUILDING.pop(key, None)
    return proj


def built_projector(backend: str, kernel: str, builder: str, geometry):
    """The projector of ``geometry`` and that (resolved) backend when it is built already,
    else ``None`` (builds nothing; the cache order is left as it is)."""
    with _CACHE_LOCK:
        return _CACHE.get(_key(backend, kernel, builder, geometry))


def is_cached(tilts, n_det: int | None = None, thickness: int | None = None,
              backend: str = "sparse", *, kernel: str = "strip",
              builder: str = "native") -> bool:
    """Whether the projector of this geometry and (resolved) backend is built already."""
    geometry = as_geometry(tilts, n_det, thickness)
    kernel = check_method("projection kernel", kernel, KERNELS)
    if kernel == "pixel":
        backend = "pixel"
    return built_projector(backend, kernel, builder, geometry) is not None


def clear_cache() -> None:
    """Forget every cached projector (frees their matrices)."""
    with _CACHE_LOCK:
        _CACHE.clear()
