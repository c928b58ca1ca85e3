"""The matrix-free "strip" projector pair: ASTRA's strip weights computed on the fly.

The weight of pixel ``j`` for ray ``i`` is the area of the pixel inside the ray's
one-pixel-wide strip: the very weights ``_sparse.strip_matrix`` stores (the pixel's
trapezoid footprint, ``_sparse._pixel_cdf``), evaluated where they are used instead of
being read from a matrix of ``18 × n_tilts × n_det × thickness`` bytes. No set-up, no
memory beyond the images: the projector of big detectors (4096² × 151 would need a
42 GiB matrix) and of a few slices (a single right-hand side leaves a sparse product
memory-bound).

Column blocks ``(n_pix, k)`` with the slices innermost, as the algorithms use them: each
weight, computed once, multiplies ``k`` contiguous values. Kernels (serial, ``nogil``)
run over ranges of angles (projection: each writes its own rays) or of slice rows (back
projection: each writes its own pixels), split over threads (``_threads``). The SIRT step
``Wᵀ R (y − W x)`` is fused per angle: a pixel's weights are computed once for both
products (``residual_bp``), each thread keeping its own update block.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import UnknownMethodError
from ..geometry import detector_u_jit
from ._base import Projector
from ._sparse import _angle_terms
from ._threads import available_cores, run_ranges, split

#: Fused SIRT step: the largest per-thread update block (bytes) before falling back to
#: separate projection and back projection.
FUSED_BYTES = 256 * 2**20


@numba.njit(inline="always")
def _cdf(t, box, a, h, inv):  # pragma: no cover - compiled
    """``_sparse._pixel_cdf`` without branches: the trapezoid's CDF as
    ``(R(t+h) − R(t+a) − R(t−a) + R(t−h)) / (2 m big)`` with ``R(x) = max(x, 0)²``,
    ``a = (big − m)/2``, ``h = (big + m)/2`` (``inv = 1/(2 m big)``); for an axis-aligned
    ray (``box``: ``m`` < 1e-7) the box's ``clip(t/big + ½, 0, 1)``, as there."""
    if box:
        return min(max(t * inv + 0.5, 0.0), 1.0)
    p = max(t + h, 0.0)
    q = max(t + a, 0.0)
    r = max(t - a, 0.0)
    s = max(t - h, 0.0)
    return (p * p - q * q - r * r + s * s) * inv


@numba.njit(inline="always")
def _terms(trig, a):  # pragma: no cover - compiled
    """Per angle: ``cos θ, sin θ`` and the constants of ``_cdf``."""
    ca, sa, m, big, h = _angle_terms(trig, a)
    box = m < 1e-7
    inv = 1.0 / big if box else 1.0 / (2.0 * m * big)
    return ca, sa, box, 0.5 * (big - m), h, inv


@numba.njit(inline="always")
def _weights(u, box, a, h, inv):  # pragma: no cover - compiled
    """First bin and the three strip weights of a pixel whose centre projects at ``u``
    (from the detector's edge): ``(lo, w0, w1, w2)`` for bins ``lo, lo+1, lo+2`` (the
    footprint is ``m + big ≤ √2`` wide: at most three bins)."""
    lo = int(np.floor(u - h))
    f1 = _cdf(lo + 1 - u, box, a, h, inv)
    f2 = _cdf(lo + 2 - u, box, a, h, inv)
    return lo, f1, f2 - f1, 1.0 - f2


@numba.njit(inline="always")
def _clipped(u, box, a, h, inv, n_det):  # pragma: no cover  # noqa: PLR0917 - compiled
    """``_weights`` with the weights of bins off the detector (or below 1e-9) set to 0 and
    ``lo`` clamped so that ``lo + PAD .. lo + PAD + 2`` index a buffer padded by ``PAD``
    bins on each side: the accumulation loops then need no tests."""
    lo, w0, w1, w2 = _weights(u, box, a, h, inv)
    if lo < -PAD or lo > n_det + PAD - 3:
        return 0, 0.0, 0.0, 0.0
    if w0 <= 1e-9 or lo < 0 or lo >= n_det:
        w0 = 0.0
    if w1 <= 1e-9 or lo + 1 < 0 or lo + 1 >= n_det:
        w1 = 0.0
    if w2 <= 1e-9 or lo + 2 < 0 or lo + 2 >= n_det:
        w2 = 0.0
    return lo, w0, w1, w2


PAD = 2


@numba.njit(nogil=True, fastmath=True, cache=True)
def _fp(x, trig, shape, out, angles):  # pragma: no cover - compiled
    """``out[(a − a0)·n_det + d] = Σ_j w · x[j]`` for angles ``a0 ≤ a < a1``."""
    thickness, n_det = shape
    a0, a1 = angles
    k = x.shape[1]
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    ray = np.empty((n_det + 2 * PAD, k), np.float32)
    for a in range(a0, a1):
        ray[:] = 0.0
        ca, sa, box, ah, h, inv = _terms(trig, a)
        for r in range(thickness):
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5
            for c in range(n_det):
                lo, w0, w1, w2 = _clipped(u0 + c * ca, box, ah, h, inv, n_det)
                j = r * n_det + c
                b = lo + PAD
                for s in range(k):
                    v = x[j, s]
                    ray[b, s] += w0 * v
                    ray[b + 1, s] += w1 * v
                    ray[b + 2, s] += w2 * v
        out[(a - a0) * n_det:(a - a0 + 1) * n_det] = ray[PAD:PAD + n_det]


@numba.njit(nogil=True, fastmath=True, cache=True)
def _bp(y, trig, shape, out, rows):  # pragma: no cover - compiled
    """``out[j] = Σ_i w · y[i]`` for the pixels of slice rows ``r0 ≤ r < r1`` (all angles
    of ``trig``; ``y`` holds their rays)."""
    thickness, n_det = shape
    r0, r1 = rows
    k = y.shape[1]
    n_a = trig.shape[1]
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    padded = np.zeros((n_a, n_det + 2 * PAD, k), np.float32)
    for a in range(n_a):
        padded[a, PAD:PAD + n_det] = y[a * n_det:(a + 1) * n_det]
    out[r0 * n_det:r1 * n_det] = 0.0
    for r in range(r0, r1):
        for a in range(n_a):
            ca, sa, box, ah, h, inv = _terms(trig, a)
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5
            ya = padded[a]
            for c in range(n_det):
                lo, w0, w1, w2 = _clipped(u0 + c * ca, box, ah, h, inv, n_det)
                j = r * n_det + c
                b = lo + PAD
                for s in range(k):
                    out[j, s] += w0 * ya[b, s] + w1 * ya[b + 1, s] + w2 * ya[b + 2, s]


@numba.njit(nogil=True, fastmath=True, cache=True)
def _sirt_step(x, y, rinv, trig, shape, outs, angles):  # pragma: no cover - compiled  # noqa: PLR0917
    """Fused ``upd += Wₐᵀ (rinv · (y − Wₐ x))``, ``res += (y − Wₐ x)²`` for angles
    ``a0 ≤ a < a1``: each pixel's weights computed once, kept for the back projection."""
    thickness, n_det = shape
    upd, res = outs
    a0, a1 = angles
    k = x.shape[1]
    n_pix = thickness * n_det
    per_column = rinv.shape[1] > 1
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    lo_buf = np.empty(n_pix, np.int32)
    w_buf = np.empty((n_pix, 3), np.float32)
    ray = np.empty((n_det + 2 * PAD, k), np.float32)
    for a in range(a0, a1):
        ca, sa, box, ah, h, inv = _terms(trig, a)
        ray[:] = 0.0
        for r in range(thickness):
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5
            for c in range(n_det):
                j = r * n_det + c
                lo, w0, w1, w2 = _clipped(u0 + c * ca, box, ah, h, inv, n_det)
                lo_buf[j] = lo + PAD
                w_buf[j, 0] = w0
                w_buf[j, 1] = w1
                w_buf[j, 2] = w2
                b = lo + PAD
                for s in range(k):
                    v = x[j, s]
                    ray[b, s] += w0 * v
                    ray[b + 1, s] += w1 * v
                    ray[b + 2, s] += w2 * v
        base = a * n_det
        for d in range(n_det):
            for s in range(k):
                diff = y[base + d, s] - ray[d + PAD, s]
                res[s] += diff * diff
                ray[d + PAD, s] = diff * (rinv[base + d, s] if per_column
                                          else rinv[base + d, 0])
        for j in range(n_pix):
            b = lo_buf[j]
            w0 = w_buf[j, 0]
            w1 = w_buf[j, 1]
            w2 = w_buf[j, 2]
            for s in range(k):
                upd[j, s] += w0 * ray[b, s] + w1 * ray[b + 1, s] + w2 * ray[b + 2, s]


class MatrixFreeProjector(Projector):
    """Matrix-free CPU projector of the "strip" kernel (``backend="matrix-free"``).

    Equal to the sparse backend's strip matrix to float32 rounding (the same weights),
    hence to ASTRA's ``strip`` to ~1e-5. ``threads``: threads per call (default every
    available core; ``with_threads(n)`` gives a view sharing the cached sums).
    """

    backend = "matrix-free"

    def __init__(self, geometry, n_det=None, thickness=None, kernel="strip", *,
                 threads: int | None = None):
        if kernel != "strip":
            raise UnknownMethodError("matrix-free kernel", kernel, ["strip"])
        super().__init__(geometry, n_det, thickness, "strip")
        self.threads = available_cores() if threads is None else max(1, int(threads))
        self._trig = np.ascontiguousarray(self.geometry.trig)
        self._shape = (self.thickness, self.n_det)


    def _work(self, k, n_angles=None):
        return self.n_pix * (self.n_angles if n_angles is None else n_angles) * k

    def _fp_range(self, x, a0, a1):
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty(((a1 - a0) * self.n_det, x.shape[1]), np.float32)
        edges = split(a1 - a0, self.threads, self._work(x.shape[1], a1 - a0)) + a0

        def call(_, j0, j1):
            lo, hi = (j0 - a0) * self.n_det, (j1 - a0) * self.n_det
            _fp(x, self._trig, self._shape, out[lo:hi],
                np.array([j0, j1], np.int64))

        run_ranges(call, edges)
        return out

    def _bp_range(self, y, a0, a1):
        y = np.ascontiguousarray(y, dtype=np.float32)
        trig = np.ascontiguousarray(self._trig[:, a0:a1])
        out = np.empty((self.n_pix, y.shape[1]), np.float32)
        edges = split(self.thickness, self.threads, self._work(y.shape[1], a1 - a0))
        run_ranges(lambda _, r0, r1: _bp(y, trig, self._shape, out,
                                         np.array([r0, r1], np.int64)), edges)
        return out

    def fp_cols(self, x):
        return self._fp_range(x, 0, self.n_angles)

    def bp_cols(self, y):
        return self._bp_range(y, 0, self.n_angles)

    def fp_angle_cols(self, a, x):
        return self._fp_range(x, int(a), int(a) + 1)

    def bp_angle_cols(self, a, y):
        return self._bp_range(y, int(a), int(a) + 1)

    def residual_bp(self, x, y, rinv, angle=None):
        k = np.shape(x)[1]
        edges = split(self.n_angles, self.threads, self._work(k))
        n_parts = len(edges) - 1
        if angle is not None or self.n_pix * k * 4 * n_parts > FUSED_BYTES:
            return super().residual_bp(x, y, rinv, angle)
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        rinv = np.ascontiguousarray(rinv, dtype=np.float32)

        def call(_, a0, a1):
            upd = np.zeros((self.n_pix, k), np.float32)
            res = np.zeros(k, np.float64)
            _sirt_step(x, y, rinv, self._trig, self._shape, (upd, res),
                       np.array([a0, a1], np.int64))
            return upd, res

        parts = run_ranges(call, edges)
        upd, res = parts[0]
        for u, r in parts[1:]:
            upd += u
            res += r
        return upd, res
