"""Projectors: built once per geometry, applied to a block of slices in one call.

Geometry (ETSpy's, see ``docs/reconstruction.md``): parallel beam,
``astra.create_proj_geom("parallel", 1.0, n_det, np.deg2rad(tilts))`` and
``astra.create_vol_geom((thickness, n_det))``.

Layouts
-------
Public, batched (slice first):

- a volume block is ``(n_slices, thickness, n_det)``; one slice ``(thickness, n_det)``,
- a sinogram block is ``(n_slices, n_tilts, n_det)``; one sinogram ``(n_tilts, n_det)``.

[`Projector.forward`][] maps the first to the second, [`Projector.back`][] the
second to the first (the exact transpose of the same kernel; no scaling).

Internal, used by the algorithms (slices innermost, "column blocks"):
a volume block is ``(thickness * n_det, k)``, a sinogram block ``(n_tilts * n_det, k)``,
C-ordered float32. A column of a tilt series ``stack.data[:, :, x0:x1]`` reshapes to this
sinogram layout without a copy of the order, which is why the algorithms use it.

Backends
--------
``"astra"``   ASTRA 2D CPU, slice by slice (the reference: what ETSpy runs).
``"cuda"``    ASTRA 2D CUDA, slice by slice (only when ``astra.use_cuda()``).
``"sparse"``  Batched CPU: ASTRA's own system matrix of the same kernel (CSR, float32)
              applied to a block of slices by Numba kernels (gather / scatter).
``"auto"``    ``"cuda"`` when ASTRA sees a GPU, else ``"sparse"``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import astra
import numpy as np

from ..errors import InvalidDataError, check_method
from . import _kernels

BACKENDS = ("auto", "sparse", "astra", "cuda")
KERNELS = ("strip", "linear", "line")

_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_BUILDING: dict = {}  # geometry key → lock held while its projector is being built
_CACHE_SIZE = 4
_ASTRA_LOCK = threading.RLock()  # ASTRA's object managers are not thread-safe


def _inverse(v) -> np.ndarray:
    """``1/v`` where ``|v| > 1e-6``, else 0 (float32)."""
    v = np.asarray(v, dtype=np.float32)
    out = np.zeros_like(v)
    ok = np.abs(v) > 1e-6
    out[ok] = 1.0 / v[ok]
    return out


def cuda_available() -> bool:
    """True when ASTRA was built with CUDA and sees a GPU."""
    try:
        return bool(astra.use_cuda())
    except Exception:  # pragma: no cover - depends on the ASTRA build
        return False


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


def resolve_backend(backend: str = "auto", cuda: bool | None = None) -> str:
    """The backend to use: ``cuda=True/False`` (ETSpy's flag) overrides ``"auto"``."""
    backend = check_method("projector backend", backend, BACKENDS)
    if backend == "auto":
        if cuda is None:
            cuda = cuda_available()
        backend = "cuda" if cuda else "sparse"
    if backend == "cuda" and not cuda_available():
        raise RuntimeError(
            "The CUDA backend was asked for, but ASTRA sees no CUDA device here. "
            "Use cuda=False (or backend='sparse') to reconstruct on the CPU."
        )
    return backend


def fit_sparse(asked: str, geometry: tuple[int, int, int]) -> str:
    """``"sparse"`` when its matrix for ``geometry = (n_tilts, n_det, thickness)`` fits.

    Asked for ``"auto"``: falls back to ``"astra"`` (matrix-free, slower) with a warning when
    the matrix would take more than ``SPARSE_MEMORY_FRACTION`` of the available memory.
    Asked for ``"sparse"``: refused with a clear ``MemoryError`` when it cannot fit at all.
    Call it before building, not for a projector already built (it holds that memory).
    """
    need, free = sparse_matrix_bytes(*geometry), _available_memory()
    gib = 1024**3
    if asked == "auto" and need > SPARSE_MEMORY_FRACTION * free:
        import warnings

        warnings.warn(
            f"The batched CPU projector would need about {need / gib:.1f} GiB for "
            f"{geometry[0]} tilts of {geometry[1]} × {geometry[2]} slices "
            f"({free / gib:.1f} GiB available): using ASTRA's matrix-free CPU projector "
            "instead (slower). Bin the series (stack.rebin(scale=(1, 2, 2))) or use a GPU "
            "for speed.", ResourceWarning, stacklevel=3)
        return "astra"
    if asked != "auto" and need > free:
        raise MemoryError(
            f"backend='sparse' needs about {need / gib:.1f} GiB for its matrix and "
            f"{free / gib:.1f} GiB is available. Use backend='astra' (matrix-free) or bin "
            "the series (stack.rebin(scale=(1, 2, 2)))."
        )
    return "sparse"


def _geometries(tilts, n_det: int, thickness: int):
    proj_geom = astra.create_proj_geom("parallel", 1.0, int(n_det), np.deg2rad(tilts))
    vol_geom = astra.create_vol_geom((int(thickness), int(n_det)))
    return proj_geom, vol_geom


class Projector:
    """A parallel-beam projector for one geometry (tilts, detector width, thickness).

    Subclasses implement [`fp_cols`][] and [`bp_cols`][] (and, for SART, the
    per-projection [`fp_angle_cols`][] / [`bp_angle_cols`][]) on column blocks.
    """

    backend = "base"

    def __init__(self, tilts, n_det: int, thickness: int, kernel: str = "strip"):
        self.tilts = np.asarray(tilts, dtype=np.float64).reshape(-1).copy()
        self.n_det = int(n_det)
        self.thickness = int(thickness)
        self.kernel = kernel
        self.n_angles = self.tilts.size
        self.vol_shape = (self.thickness, self.n_det)
        self.sino_shape = (self.n_angles, self.n_det)
        self.n_pix = self.thickness * self.n_det
        self.n_rays = self.n_angles * self.n_det
        self._norm = None
        self._sums = None

    # -- column-block operators (implemented by the backends) -------------------
    def fp_cols(self, x: np.ndarray) -> np.ndarray:
        """Forward project a ``(n_pix, k)`` block to ``(n_rays, k)``."""
        raise NotImplementedError

    def bp_cols(self, y: np.ndarray) -> np.ndarray:
        """Back project a ``(n_rays, k)`` block to ``(n_pix, k)``."""
        raise NotImplementedError

    def fp_angle_cols(self, a: int, x: np.ndarray) -> np.ndarray:
        """Forward project onto projection ``a`` only: ``(n_pix, k)`` → ``(n_det, k)``."""
        raise NotImplementedError

    def bp_angle_cols(self, a: int, y: np.ndarray) -> np.ndarray:
        """Back project projection ``a`` only: ``(n_det, k)`` → ``(n_pix, k)``."""
        raise NotImplementedError

    def residual_bp(self, x, y, rinv, angle=None):
        """The SIRT/SART step ``Wᵀ (rinv · (y − W x))`` and the squared residual per slice.

        With ``angle``, only that projection's rows (``y`` and ``rinv`` then hold
        ``n_det`` rows). Returns ``(update (n_pix, k), residual² (k,))``.
        """
        fx = self.fp_cols(x) if angle is None else self.fp_angle_cols(angle, x)
        d = y - fx
        res = np.einsum("ij,ij->j", d, d, dtype=np.float64)
        d *= rinv
        upd = self.bp_cols(d) if angle is None else self.bp_angle_cols(angle, d)
        return upd, res

    def sart_update(self, a, x, y, ray_len, pix_w, *, mask=None, relaxation=1.0, eps=1e-3):
        """Apply SART projection ``a`` to ``x`` in place (ASTRA's update; see
        ``csr_sart_update``); returns the squared residual per slice.

        This generic version (ASTRA backends) applies the thresholds to ``R_i`` and
        ``C_j`` separately (1e-6 each) rather than to their product.
        """
        upd, res = self.residual_bp(x, y, _inverse(ray_len), angle=a)
        upd *= _inverse(pix_w)[:, None] * np.float32(relaxation)
        if mask is not None:
            upd *= mask
        x += upd
        return res

    # -- derived quantities -----------------------------------------------------
    def sums(self):
        """``(row_sums, col_sums)``: total ray lengths ``W 1`` and pixel weights ``Wᵀ 1``."""
        if self._sums is None:
            rows = self.fp_cols(np.ones((self.n_pix, 1), np.float32))[:, 0]
            cols = self.bp_cols(np.ones((self.n_rays, 1), np.float32))[:, 0]
            self._sums = (rows, cols)
        return self._sums

    def angle_col_sums(self, a: int) -> np.ndarray:
        """Pixel weights of projection ``a`` alone: ``W_aᵀ 1`` (``n_pix``)."""
        return self.bp_angle_cols(a, np.ones((self.n_det, 1), np.float32))[:, 0]

    def norm(self, iterations: int = 30) -> float:
        """Largest singular value ``‖W‖`` by power iteration (cached)."""
        if self._norm is None:
            rng = np.random.default_rng(0)
            x = rng.random((self.n_pix, 1)).astype(np.float32)
            s = 0.0
            for _ in range(iterations):
                x = self.bp_cols(self.fp_cols(x))
                s = float(np.linalg.norm(x))
                x /= s
            self._norm = float(np.sqrt(s)) * 1.01
        return self._norm

    # -- public batched layout ----------------------------------------------------
    def forward(self, vol: np.ndarray) -> np.ndarray:
        """Project volume slices ``(n_slices, thickness, n_det)`` (or one slice) to
        sinograms ``(n_slices, n_tilts, n_det)`` (or one sinogram)."""
        vol = np.asarray(vol, dtype=np.float32)
        single = vol.ndim == 2
        vol3 = vol[None] if single else vol
        if vol3.shape[1:] != self.vol_shape:
            raise InvalidDataError(
                f"The projector expects slices of shape {self.vol_shape} (thickness, n_det); "
                f"got {vol.shape}."
            )
        k = vol3.shape[0]
        cols = np.ascontiguousarray(vol3.reshape(k, -1).T)
        out = self.fp_cols(cols).T.reshape(k, *self.sino_shape)
        return np.ascontiguousarray(out[0] if single else out)

    def back(self, sino: np.ndarray) -> np.ndarray:
        """Back project sinograms ``(n_slices, n_tilts, n_det)`` (or one) to slices
        ``(n_slices, thickness, n_det)`` (or one)."""
        sino = np.asarray(sino, dtype=np.float32)
        single = sino.ndim == 2
        sino3 = sino[None] if single else sino
        if sino3.shape[1:] != self.sino_shape:
            raise InvalidDataError(
                f"The projector expects sinograms of shape {self.sino_shape} "
                f"(n_tilts, n_det); got {sino.shape}."
            )
        k = sino3.shape[0]
        cols = np.ascontiguousarray(sino3.reshape(k, -1).T)
        out = self.bp_cols(cols).T.reshape(k, *self.vol_shape)
        return np.ascontiguousarray(out[0] if single else out)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.kernel} {self.n_angles} tilts, "
                f"{self.n_det} detector pixels, thickness {self.thickness}>")


def _astra_matrix(tilts, n_det, thickness, kernel):
    """ASTRA's own system matrix of ``kernel`` as float32 CSR arrays (slow for big slices:
    ``astra.matrix.get`` copies element by element in Python)."""
    with _ASTRA_LOCK:
        proj_geom, vol_geom = _geometries(tilts, n_det, thickness)
        pid = astra.create_projector(kernel, proj_geom, vol_geom)
        try:
            mid = astra.projector.matrix(pid)
            try:
                w = astra.matrix.get(mid)
            finally:
                astra.matrix.delete(mid)
        finally:
            astra.projector.delete(pid)
    w = w.tocsr()
    w.sort_indices()
    return (w.indptr.astype(np.int64), w.indices.astype(np.int32),
            w.data.astype(np.float32), w.shape[0])


class SparseProjector(Projector):
    """Batched CPU backend: ASTRA's system matrix of the kernel, applied to many slices.

    For the "strip" kernel the matrix is computed here (exact pixel/strip intersection
    areas, ``strip_matrix``, equal to ASTRA's to ~2e-5; ``builder="astra"``
    takes ASTRA's own); for "linear" and "line" it is ASTRA's.
    The matrix ``W`` (rays × pixels) is kept reordered by 32×32 pixel tiles
    (``csr_to_tiled``): projection gathers and back projection scatters in
    one streaming pass over it, with the tile's block of slices in cache; no transpose is
    stored. The row-ordered CSR is rebuilt on demand for per-projection operators (SART).
    """

    backend = "sparse"

    def __init__(self, tilts, n_det, thickness, kernel="strip", *, builder="native"):
        super().__init__(tilts, n_det, thickness, kernel)
        self.builder = builder
        if self.kernel == "strip" and self.builder == "native":
            # straight into the tiled layout: no CSR copy alongside it while building
            self._tiled = _kernels.strip_tiled(self.tilts, self.thickness, self.n_det)
        else:
            csr = self._build_csr()
            self._tiled = _kernels.csr_to_tiled(csr[0], csr[1], csr[2], self.n_det,
                                                _kernels.TILE)
            del csr
        self._nnz = int(self._tiled[2].size)
        self._csr = None  # rebuilt on demand (per-projection operators: SART, DART)
        self._csr_lock = threading.Lock()
        self._pix_winv = {}

    def _build_csr(self):
        if self.kernel == "strip" and self.builder == "native":
            indptr, indices, data = _kernels.strip_matrix(self.tilts, self.thickness, self.n_det)
            return (indptr, indices, data, self.n_rays)
        return _astra_matrix(self.tilts, self.n_det, self.thickness, self.kernel)

    @property
    def _w(self):
        """The CSR arrays ``(indptr, indices, data, n_rows)``, built when first needed."""
        with self._csr_lock:
            if self._csr is None:
                self._csr = self._build_csr()
            return self._csr

    @property
    def matrix(self):
        """The system matrix ``W`` (rays × pixels) as a scipy CSR matrix."""
        from scipy.sparse import csr_matrix

        indptr, indices, data, n_rows = self._w
        return csr_matrix((data, indices, indptr), shape=(n_rows, self.n_pix), copy=False)

    @property
    def nnz(self) -> int:
        return self._nnz

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix (tiled layout, and the CSR if it was needed)."""
        held = sum(a.nbytes for a in self._tiled)
        if self._csr is not None:
            held += sum(a.nbytes for a in self._csr[:3])
        return int(held)

    def fp_cols(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((self.n_rays, x.shape[1]), np.float32)
        _kernels.tiled_gather(self._tiled, x, out)
        return out

    def bp_cols(self, y):
        y = np.ascontiguousarray(y, dtype=np.float32)
        out = np.empty((self.n_pix, y.shape[1]), np.float32)
        _kernels.tiled_scatter(self._tiled, y, out)
        return out

    def residual_bp(self, x, y, rinv, angle=None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        rinv = np.ascontiguousarray(rinv, dtype=np.float32)
        upd = np.empty((self.n_pix, x.shape[1]), np.float32)
        res = np.zeros(x.shape[1], np.float64)
        if angle is None:
            fx = self.fp_cols(x)
            _kernels.weighted_residual(fx, y, rinv, res)
            _kernels.tiled_scatter(self._tiled, fx, upd)
        else:
            csr = self._angle_rows(angle)
            _kernels.csr_residual_bp(csr[:3], x, y, rinv, (upd, res))
        return upd, res

    def sart_update(self, a, x, y, ray_len, pix_w, *, mask=None, relaxation=1.0, eps=1e-3):
        csr = self._angle_rows(a)
        pix_winv = self._pix_winv.get(a)
        if pix_winv is None:
            pix_winv = self._pix_winv.setdefault(a, _inverse(pix_w))
        res = np.zeros(x.shape[1], np.float64)
        m = (np.zeros((0, 0), np.float32) if mask is None
             else np.ascontiguousarray(mask, dtype=np.float32))
        _kernels.csr_sart_update(csr[:3], x, np.ascontiguousarray(y, dtype=np.float32),
                                 (np.ascontiguousarray(ray_len, dtype=np.float32),
                                  np.ascontiguousarray(pix_w, dtype=np.float32), pix_winv, m),
                                 (np.float32(relaxation), np.float32(eps), res))
        return res

    def _angle_rows(self, a):
        indptr, indices, data, _ = self._w
        n = self.n_det
        return (indptr[a * n:(a + 1) * n + 1], indices, data, n)

    def fp_angle_cols(self, a, x):
        return _kernels.matmat(self._angle_rows(a), x)

    def bp_angle_cols(self, a, y):
        return _kernels.rmatmat(self._angle_rows(a), self.n_pix, y)


class AstraProjector(Projector):
    """ASTRA's own 2D projectors, one slice at a time (CPU reference, or CUDA)."""

    backend = "astra"

    def __init__(self, tilts, n_det, thickness, kernel="strip", cuda=False):
        super().__init__(tilts, n_det, thickness, kernel)
        self.cuda = bool(cuda)
        if self.cuda:
            self.backend = "cuda"
        self._ops = {}

    def _op(self, a=None, rebuild=False):
        key = a
        with _ASTRA_LOCK:
            if rebuild:
                self._ops.pop(key, None)
            if key not in self._ops:
                tilts = self.tilts if a is None else self.tilts[a:a + 1]
                proj_geom, vol_geom = _geometries(tilts, self.n_det, self.thickness)
                kind = "cuda" if self.cuda else self.kernel
                pid = astra.create_projector(kind, proj_geom, vol_geom)
                self._ops[key] = (pid, astra.OpTomo(pid))
            return self._ops[key][1]

    def _apply(self, a, x, n_out, transpose):
        x = np.asarray(x, dtype=np.float32)
        out = np.empty((n_out, x.shape[1]), dtype=np.float32)
        with _ASTRA_LOCK:
            op = self._op(a)
            for s in range(x.shape[1]):
                try:
                    res = op.BP(x[:, s]) if transpose else op.FP(x[:, s])
                except Exception:  # astra.clear() elsewhere freed our projector: rebuild
                    op = self._op(a, rebuild=True)
                    res = op.BP(x[:, s]) if transpose else op.FP(x[:, s])
                out[:, s] = np.asarray(res).ravel()
        return out

    def fp_cols(self, x):
        return self._apply(None, x, self.n_rays, False)

    def bp_cols(self, y):
        return self._apply(None, y, self.n_pix, True)

    def fp_angle_cols(self, a, x):
        return self._apply(a, x, self.n_det, False)

    def bp_angle_cols(self, a, y):
        return self._apply(a, y, self.n_pix, True)

    def __del__(self):  # free ASTRA's objects with the projector
        try:
            with _ASTRA_LOCK:
                for pid, _ in self._ops.values():
                    astra.projector.delete(pid)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def get_projector(tilts, n_det: int, thickness: int | None = None, backend: str = "auto",
                  *, kernel: str = "strip", cuda: bool | None = None,
                  builder: str = "native") -> Projector:
    """The projector of a geometry, built once and cached (the last few geometries).

    Parameters
    ----------
    tilts : array-like
        Tilt angles in degrees, one per projection.
    n_det : int
        Detector pixels across the tilt axis (the stack's ``ny``).
    thickness : int, optional
        Rows of each reconstructed slice; default ``n_det``.
    backend : {"auto", "sparse", "astra", "cuda"}
        See the module docstring.
    kernel : {"strip", "linear", "line"}
        ASTRA's projection kernel ("strip" is what ETSpy reconstructs with).
    cuda : bool, optional
        ETSpy's flag; with ``backend="auto"``, ``True``/``False`` force CUDA/CPU.
    builder : {"native", "astra"}
        Sparse backend, "strip" kernel: our exact-area matrix (fast to build) or ASTRA's
        own (its float32 areas, bit-for-bit ASTRA's results; slow to build for big slices).

    Returns
    -------
    Projector
        With ``.forward(vol)`` ``(n_slices, thickness, n_det)`` → ``(n_slices, n_tilts, n_det)``
        and ``.back(sino)`` the other way.
    """
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    thickness = int(n_det if thickness is None else thickness)
    if thickness < 1 or int(n_det) < 1:
        raise InvalidDataError(f"thickness and n_det must be ≥ 1; got {thickness}, {n_det}.")
    kernel = check_method("projection kernel", kernel, KERNELS)
    asked = check_method("projector backend", backend, BACKENDS)
    backend = resolve_backend(asked, cuda)
    builder = check_method("matrix builder", builder, ("native", "astra"))
    key = _cache_key(backend, kernel, builder, n_det=n_det, thickness=thickness, tilts=tilts)
    with _CACHE_LOCK:
        proj = _CACHE.get(key)
    if proj is None and backend == "sparse":
        backend = fit_sparse(asked, (tilts.size, int(n_det), thickness))
        key = _cache_key(backend, kernel, builder, n_det=n_det, thickness=thickness, tilts=tilts)
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
                proj = SparseProjector(tilts, n_det, thickness, kernel, builder=builder)
            else:
                proj = AstraProjector(tilts, n_det, thickness, kernel, cuda=backend == "cuda")
            with _CACHE_LOCK:
                _CACHE[key] = proj
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        finally:
            with _CACHE_LOCK:
                _BUILDING.pop(key, None)
    return proj


def _cache_key(backend, kernel, builder, *, n_det, thickness, tilts) -> tuple:
    """What identifies a built projector in the cache (``tilts`` as float64 degrees)."""
    return (backend, kernel, builder, int(n_det), int(thickness), tilts.tobytes())


def is_cached(tilts, n_det: int, thickness: int | None = None, backend: str = "sparse", *,
              kernel: str = "strip", builder: str = "native") -> bool:
    """Whether the projector of this geometry and (resolved) backend is built already."""
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    thickness = int(n_det if thickness is None else thickness)
    kernel = check_method("projection kernel", kernel, KERNELS)
    key = _cache_key(backend, kernel, builder, n_det=n_det, thickness=thickness, tilts=tilts)
    with _CACHE_LOCK:
        return key in _CACHE


def clear_cache() -> None:
    """Forget every cached projector (frees their matrices)."""
    with _CACHE_LOCK:
        _CACHE.clear()
