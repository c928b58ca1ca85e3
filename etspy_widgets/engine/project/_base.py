"""The projector interface: one geometry, applied to a block of slices in one call.

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
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import InvalidDataError
from ..geometry import ParallelGeometry, as_geometry

_EPS = 1e-6
#: SART's per-projection pixel weights ``W_aᵀ 1`` and their inverses (two ``n_pix`` arrays
#: per projection) are kept while both take at most this many bytes (and a quarter of the
#: memory available): 40 MB for 77 × 256², 1.3 GB for 151 × 1024²; 5 GB at 2048² and
#: 20 GB at 4096², where they are computed again at each projection of each sweep instead
#: (one more back projection of one projection).
ANGLE_CACHE_BYTES = 2 * 2**30


def safe_inverse(v) -> np.ndarray:
    """``1/v`` where ``|v| > 1e-6``, else 0 (float32): the SIRT/SART weights."""
    v = np.asarray(v, dtype=np.float32)
    out = np.zeros_like(v)
    ok = np.abs(v) > _EPS
    out[ok] = 1.0 / v[ok]
    return out


class Projector:
    """A parallel-beam projector for one ``ParallelGeometry`` (or ``tilts, n_det,
    thickness``).

    Subclasses implement [`fp_cols`][] and [`bp_cols`][] (and, for SART, the
    per-projection [`fp_angle_cols`][] / [`bp_angle_cols`][]) on column blocks.
    Quantities derived from the operator (row and column sums, per-projection pixel
    weights, the norm) are computed once and kept here, for every algorithm.
    """

    backend = "base"
    threads = 1

    def __init__(self, geometry, n_det: int | None = None, thickness: int | None = None,
                 kernel: str = "strip"):
        self.geometry: ParallelGeometry = as_geometry(geometry, n_det, thickness)
        g = self.geometry
        self.tilts = g.tilts
        self.n_det = g.n_det
        self.thickness = g.thickness
        self.kernel = kernel
        self.n_angles = g.n_angles
        self.vol_shape = g.vol_shape
        self.sino_shape = g.sino_shape
        self.n_pix = g.n_pix
        self.n_rays = g.n_rays
        self._cache: dict = {}
        self._cache_lock = threading.Lock()

    def with_threads(self, threads: int):
        """This projector running each call on ``threads`` threads (a shallow view: the
        geometry, matrices and cached sums are shared)."""
        import copy

        threads = max(1, int(threads))
        if threads == self.threads:
            return self
        view = copy.copy(self)
        view.threads = threads
        return view

    def _per_angle(self, key, a, compute):
        """``_derived((key, a), compute)`` while the per-projection arrays fit
        (``ANGLE_CACHE_BYTES``), else ``compute()`` each time."""
        if self._angle_cache_fits():
            return self._derived((key, int(a)), compute)
        return compute()

    def _angle_cache_fits(self) -> bool:
        def fits():
            import psutil

            need = 2 * 4 * self.n_angles * self.n_pix
            return need <= min(ANGLE_CACHE_BYTES, psutil.virtual_memory().available // 4)

        return self._derived("angle_cache_fits", fits)

    def _derived(self, key, compute):
        """A quantity derived from the operator, computed once (thread-safe)."""
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = compute()
            with self._cache_lock:
                hit = self._cache.setdefault(key, hit)
        return hit

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

    def sirt_update(self, x, y, rinv, cinv):
        """One SIRT step in place, ``x += cinv · Wᵀ (rinv · (y − W x))`` (``cinv``
        ``(n_pix, 1)``: relaxation over the pixel weights); returns the squared residual
        per slice of the iterate it started from. Backends may avoid the update block
        (``MatrixFreeProjector`` writes big blocks' back projection into ``x``)."""
        upd, res = self.residual_bp(x, y, rinv)
        upd *= cinv
        x += upd
        return res

    def sart_update(self, a, x, y, ray_len, pix_w, *, mask=None, relaxation=1.0, eps=1e-3):
        """Apply SART projection ``a`` to ``x`` in place (ASTRA's update; see
        ``_csr.csr_sart_update``); returns the squared residual per slice.

        This generic version applies the thresholds to ``R_i`` and ``C_j`` separately
        (1e-6 each) rather than to their product.
        """
        upd, res = self.residual_bp(x, y, safe_inverse(ray_len), angle=a)
        upd *= self._per_angle("pix_winv", a, lambda: safe_inverse(pix_w))[:, None]
        upd *= np.float32(relaxation)
        if mask is not None:
            upd *= mask
        x += upd
        return res

    def sart_sweep(self, x, y, ray_len, order, *, mask=None, relaxation=1.0, eps=1e-3,
                   lower=None, upper=None):
        """One SART sweep in place: ``sart_update`` of each projection of ``order`` in turn,
        each followed by the clamp of ``x`` to ``[lower, upper]`` (``None``: no bound);
        ``y`` and ``ray_len`` hold every projection's rows. Returns the squared residual
        per slice, summed over the sweep. Backends may fuse it (``MatrixFreeProjector``
        for a few slices: one kernel call per sweep)."""
        n = self.n_det
        res = np.zeros(x.shape[1])
        for a in order:
            rows = slice(int(a) * n, (int(a) + 1) * n)
            res += self.sart_update(int(a), x, y[rows], ray_len[rows],
                                    self.angle_col_sums(a), mask=mask,
                                    relaxation=relaxation, eps=eps)
            if lower is not None:
                np.maximum(x, lower, out=x)
            if upper is not None:
                np.minimum(x, upper, out=x)
        return res

    def prepare(self, k: int) -> None:
        """Get ready for blocks of ``k`` slices (``MatrixFreeProjector`` tabulates its
        weights for a few slices); the algorithms call it before their set-up."""

    # -- derived quantities -----------------------------------------------------
    def sums(self):
        """``(row_sums, col_sums)``: total ray lengths ``W 1`` and pixel weights ``Wᵀ 1``."""
        def compute():
            rows = self.fp_cols(np.ones((self.n_pix, 1), np.float32))[:, 0]
            cols = self.bp_cols(np.ones((self.n_rays, 1), np.float32))[:, 0]
            return (rows, cols)

        return self._derived("sums", compute)

    def angle_col_sums(self, a: int) -> np.ndarray:
        """Pixel weights of projection ``a`` alone: ``W_aᵀ 1`` (``n_pix``, float32; cached
        while they fit: ``ANGLE_CACHE_BYTES``)."""
        return self._per_angle("angle_col_sums", a, lambda: np.ascontiguousarray(
            self.bp_angle_cols(a, np.ones((self.n_det, 1), np.float32))[:, 0],
            dtype=np.float32))

    def norm(self, iterations: int = 30) -> float:
        """Largest singular value ``‖W‖`` by power iteration (cached)."""
        def compute():
            rng = np.random.default_rng(0)
            x = rng.random((self.n_pix, 1)).astype(np.float32)
            s = 0.0
            for _ in range(iterations):
                x = self.bp_cols(self.fp_cols(x))
                s = float(np.linalg.norm(x))
                x /= s
            return float(np.sqrt(s)) * 1.01

        return self._derived("norm", compute)

    # -- public batched layout ----------------------------------------------------
    def _check(self, arr, shape, what):
        arr = np.asarray(arr, dtype=np.float32)
        single = arr.ndim == 2
        arr3 = arr[None] if single else arr
        if arr3.ndim != 3 or arr3.shape[1:] != shape:
            raise InvalidDataError(
                f"The projector expects {what} of shape {shape}; got {arr.shape}.")
        return arr3, single

    def forward(self, vol: np.ndarray) -> np.ndarray:
        """Project volume slices ``(n_slices, thickness, n_det)`` (or one slice) to
        sinograms ``(n_slices, n_tilts, n_det)`` (or one sinogram)."""
        vol3, single = self._check(vol, self.vol_shape, "slices (thickness, n_det)")
        out = self.forward_slices(vol3)
        return np.ascontiguousarray(out[0] if single else out)

    def back(self, sino: np.ndarray) -> np.ndarray:
        """Back project sinograms ``(n_slices, n_tilts, n_det)`` (or one) to slices
        ``(n_slices, thickness, n_det)`` (or one)."""
        sino3, single = self._check(sino, self.sino_shape, "sinograms (n_tilts, n_det)")
        out = self.back_slices(sino3)
        return np.ascontiguousarray(out[0] if single else out)

    def forward_slices(self, vol3: np.ndarray) -> np.ndarray:
        """``forward`` of a checked ``(k, thickness, n_det)`` float32 block."""
        k = vol3.shape[0]
        cols = np.ascontiguousarray(vol3.reshape(k, -1).T)
        return self.fp_cols(cols).T.reshape(k, *self.sino_shape)

    def back_slices(self, sino3: np.ndarray) -> np.ndarray:
        """``back`` of a checked ``(k, n_tilts, n_det)`` float32 block."""
        k = sino3.shape[0]
        cols = np.ascontiguousarray(sino3.reshape(k, -1).T)
        return self.bp_cols(cols).T.reshape(k, *self.vol_shape)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.kernel} {self.n_angles} tilts, "
                f"{self.n_det} detector pixels, thickness {self.thickness}>")
