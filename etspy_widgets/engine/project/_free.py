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
from . import _csr
from ._base import Projector
from ._sparse import _angle_terms
from ._sums import strip_sums
from ._threads import available_cores, run_ranges, split

#: Fused SIRT step: the largest per-thread update block (bytes) before falling back to
#: separate projection and back projection.
FUSED_BYTES = 256 * 2**20
#: Blocks of at most this many slices take the tabulated weights (``strip_table``).
FEW_SLICES = 3
#: Blocks of these sizes go to the sparse matrix instead when it is built already
#: (``MatrixFreeProjector._sparse_twin``), except SART.
SPARSE_TWIN_SLICES = (2, 3)
#: The largest weight table kept per geometry (bytes; also at most a quarter of the memory
#: available): 12 bytes per pixel and angle (60 MB for 77 × 256², 389 MB for 90 × 600²,
#: 1.9 GB for 151 × 1024²).
TABLE_BYTES = 4 * 2**30


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
def _bp(y, trig, shape, out, rows, scale):  # pragma: no cover  # noqa: PLR0917 - compiled
    """``out[j] = Σ_i w · y[i]`` for the pixels of slice rows ``r0 ≤ r < r1`` (all angles
    of ``trig``; ``y`` holds their rays); with a non-empty ``scale`` (``n_pix``),
    ``out[j] += scale[j] · Σ_i w · y[i]`` instead (the SIRT update in place)."""
    thickness, n_det = shape
    r0, r1 = rows
    k = y.shape[1]
    n_a = trig.shape[1]
    add = scale.size > 0
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    padded = np.zeros((n_a, n_det + 2 * PAD, k), np.float32)
    for a in range(n_a):
        padded[a, PAD:PAD + n_det] = y[a * n_det:(a + 1) * n_det]
    row = np.empty((n_det, k), np.float32)
    for r in range(r0, r1):
        row[:] = 0.0
        for a in range(n_a):
            ca, sa, box, ah, h, inv = _terms(trig, a)
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5
            ya = padded[a]
            for c in range(n_det):
                lo, w0, w1, w2 = _clipped(u0 + c * ca, box, ah, h, inv, n_det)
                b = lo + PAD
                rc = row[c]
                for s in range(k):
                    rc[s] += w0 * ya[b, s] + w1 * ya[b + 1, s] + w2 * ya[b + 2, s]
        for c in range(n_det):
            j = r * n_det + c
            if add:
                f = scale[j]
                for s in range(k):
                    out[j, s] += f * row[c, s]
            else:
                for s in range(k):
                    out[j, s] = row[c, s]


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


# -- few slices: the strip weights tabulated once per geometry ------------------------------
# For one to a few slices the on-the-fly weights cost more than the products they feed, and
# a sparse matrix is memory-bound (8 bytes per nonzero, 2.2 nonzeros per pixel and angle,
# read twice per SIRT step). The table keeps, per angle and pixel, the first bin (int32)
# and the first two weights (float32; the third is 1 − w0 − w1, the pixel's unit area):
# 12 bytes per pixel and angle, read once per fused step, pixels in storage order. Bins off
# the detector land in a padded ray buffer and are zeroed before the back projection, which
# is exactly the sparse matrix's clipping.


@numba.njit(nogil=True, cache=True)
def _build_table(trig, shape, pad, table, sums, angles):  # pragma: no cover  # noqa: PLR0917
    """Fill ``lo_t[a, j]`` (first bin + ``pad``) and ``w_t[a, j] = (w0, w1)`` for angles
    ``a0 ≤ a < a1``: the weights of ``_weights`` before any clipping; and, on the way, the
    operator's sums: ``rows[a·n_det + d] = Σ_j w`` (these angles' rays: written by this
    range alone) and ``cols[j] += Σ_a w`` over these angles (this range's own array),
    counting the bins on the detector with weights above 1e-9, as the sparse matrix."""
    thickness, n_det = shape
    lo_t, w_t = table
    rows, cols = sums
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    for a in range(angles[0], angles[1]):
        ca, sa, box, ah, h, inv = _terms(trig, a)
        base = a * n_det
        for r in range(thickness):
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5
            for c in range(n_det):
                lo, w0, w1, _ = _weights(u0 + c * ca, box, ah, h, inv)
                j = r * n_det + c
                lo_t[a, j] = lo + pad
                w_t[a, j, 0] = w0
                w_t[a, j, 1] = w1
                w2 = np.float32(1.0) - np.float32(w0) - np.float32(w1)
                for q in range(3):
                    d = lo + q
                    wq = w0 if q == 0 else (w1 if q == 1 else w2)
                    if 0 <= d < n_det and wq > 1e-9:
                        rows[base + d] += wq
                        cols[j] += wq


@numba.njit(nogil=True, fastmath=True, cache=True)
def _table_sirt1(x, y, rinv, table, geo, outs, angles):  # pragma: no cover  # noqa: PLR0917
    """The fused SIRT step of one slice on the table, for angles ``a0 ≤ a < a1``:
    ``upd = Σₐ Wₐᵀ (rinv · (y − Wₐ x))`` (overwritten), ``res[0] += Σ (y − W x)²``."""
    lo_t, w_t = table
    n_det, pad, width = geo
    upd, res = outs
    n_pix = x.shape[0]
    ray = np.zeros(width, np.float32)
    for j in range(n_pix):
        upd[j] = 0.0
    acc = 0.0
    for a in range(angles[0], angles[1]):
        lo = lo_t[a]
        w = w_t[a]
        for d in range(width):
            ray[d] = 0.0
        for j in range(n_pix):
            b = lo[j]
            v = x[j]
            w0 = w[j, 0]
            w1 = w[j, 1]
            ray[b] += w0 * v
            ray[b + 1] += w1 * v
            ray[b + 2] += (1.0 - w0 - w1) * v
        base = a * n_det
        for d in range(n_det):
            diff = y[base + d] - ray[pad + d]
            acc += diff * diff
            ray[pad + d] = diff * rinv[base + d]
        for d in range(pad):
            ray[d] = 0.0
        for d in range(pad + n_det, width):
            ray[d] = 0.0
        for j in range(n_pix):
            b = lo[j]
            w0 = w[j, 0]
            w1 = w[j, 1]
            upd[j] += w0 * ray[b] + w1 * ray[b + 1] + (1.0 - w0 - w1) * ray[b + 2]
    res[0] += acc


@numba.njit(inline="always")
def _table_rays(x, lo, w, ray):  # pragma: no cover - compiled
    """``ray = W_a x`` for one angle's table row (``lo``, ``w``): a block ``(n_pix, k)``
    (slices innermost) onto the padded detector ``ray (width, k)``, overwritten."""
    ray[:] = 0.0
    for j in range(x.shape[0]):
        b = lo[j]
        w0 = w[j, 0]
        w1 = w[j, 1]
        w2 = 1.0 - w0 - w1
        xj = x[j]
        for s in range(x.shape[1]):
            v = xj[s]
            ray[b, s] += w0 * v
            ray[b + 1, s] += w1 * v
            ray[b + 2, s] += w2 * v


@numba.njit(nogil=True, fastmath=True, cache=True)
def _table_sirt(x, y, rinv, table, geo, outs, angles):  # pragma: no cover  # noqa: PLR0917
    """``_table_sirt1`` for a block ``(n_pix, k)`` (slices innermost); ``rinv`` is
    ``(n_rays, 1)`` or ``(n_rays, k)``."""
    lo_t, w_t = table
    n_det, pad, width = geo
    upd, res = outs
    n_pix, k = x.shape
    per_column = rinv.shape[1] > 1
    ray = np.zeros((width, k), np.float32)
    upd[:] = 0.0
    for a in range(angles[0], angles[1]):
        lo = lo_t[a]
        w = w_t[a]
        _table_rays(x, lo, w, ray)
        base = a * n_det
        for d in range(n_det):
            for s in range(k):
                diff = y[base + d, s] - ray[pad + d, s]
                res[s] += diff * diff
                ray[pad + d, s] = diff * (rinv[base + d, s] if per_column
                                          else rinv[base + d, 0])
        ray[:pad] = 0.0
        ray[pad + n_det:] = 0.0
        for j in range(n_pix):
            b = lo[j]
            w0 = w[j, 0]
            w1 = w[j, 1]
            w2 = 1.0 - w0 - w1
            uj = upd[j]
            for s in range(k):
                uj[s] += w0 * ray[b, s] + w1 * ray[b + 1, s] + w2 * ray[b + 2, s]


#: Pixels per block of the tabulated projection and back projection: a block of the iterate
#: (or of the result) stays in cache while every angle of the range passes over it.
TABLE_BLOCK = 2048


@numba.njit(nogil=True, fastmath=True, cache=True)
def _table_fp(x, table, geo, out, angles):  # pragma: no cover - compiled
    """``out[(a − a0)·n_det + d] = (W x)`` on the table for angles ``a0 ≤ a < a1``
    (``x`` ``(n_pix, k)``), by blocks of ``TABLE_BLOCK`` pixels, each passed by every
    angle of the range into its own padded rays."""
    lo_t, w_t = table
    n_det, pad, width = geo
    n_pix, k = x.shape
    a0, a1 = angles
    ray = np.zeros((a1 - a0, width, k), np.float32)
    for j0 in range(0, n_pix, TABLE_BLOCK):
        j1 = min(j0 + TABLE_BLOCK, n_pix)
        for a in range(a0, a1):
            lo = lo_t[a]
            w = w_t[a]
            ra = ray[a - a0]
            if k == 1:
                for j in range(j0, j1):
                    b = lo[j]
                    v = x[j, 0]
                    w0 = w[j, 0]
                    w1 = w[j, 1]
                    ra[b, 0] += w0 * v
                    ra[b + 1, 0] += w1 * v
                    ra[b + 2, 0] += (1.0 - w0 - w1) * v
            else:
                for j in range(j0, j1):
                    b = lo[j]
                    w0 = w[j, 0]
                    w1 = w[j, 1]
                    w2 = 1.0 - w0 - w1
                    xj = x[j]
                    for s in range(k):
                        v = xj[s]
                        ra[b, s] += w0 * v
                        ra[b + 1, s] += w1 * v
                        ra[b + 2, s] += w2 * v
    for a in range(a0, a1):
        o = (a - a0) * n_det
        for d in range(n_det):
            for s in range(k):
                out[o + d, s] = ray[a - a0, pad + d, s]


@numba.njit(nogil=True, fastmath=True, cache=True)
def _table_bp(ypad, table, out, pixels):  # pragma: no cover - compiled
    """``out[j] = (Wᵀ y)[j]`` on the table for pixels ``j0 ≤ j < j1``; ``ypad``
    ``(n_angles, width, k)`` holds each projection's rays at ``pad``, zeros around. By
    blocks of ``TABLE_BLOCK`` pixels, each summed over every angle while in cache."""
    lo_t, w_t = table
    n_a, _, k = ypad.shape
    for jb in range(pixels[0], pixels[1], TABLE_BLOCK):
        je = min(jb + TABLE_BLOCK, pixels[1])
        for j in range(jb, je):
            for s in range(k):
                out[j, s] = 0.0
        for a in range(n_a):
            lo = lo_t[a]
            w = w_t[a]
            ya = ypad[a]
            if k == 1:
                for j in range(jb, je):
                    b = lo[j]
                    w0 = w[j, 0]
                    w1 = w[j, 1]
                    out[j, 0] += (w0 * ya[b, 0] + w1 * ya[b + 1, 0]
                                  + (1.0 - w0 - w1) * ya[b + 2, 0])
            else:
                for j in range(jb, je):
                    b = lo[j]
                    w0 = w[j, 0]
                    w1 = w[j, 1]
                    w2 = 1.0 - w0 - w1
                    oj = out[j]
                    for s in range(k):
                        oj[s] += w0 * ya[b, s] + w1 * ya[b + 1, s] + w2 * ya[b + 2, s]


@numba.njit(nogil=True, fastmath=True, cache=True)
def _table_sart(x, y, weights, table, geo, order, params):  # pragma: no cover  # noqa: PLR0917
    """One SART sweep over the projections ``order``, in place, on the table: per
    projection ``a``, ``d = y_a − W_a x`` (``res += d²``), then
    ``x_j += λ Σ_i w_ij d_i / (C_j R_i)`` where ``|C_j R_i| > eps`` and pixel ``j`` is
    free in ``mask``, ``C = W_aᵀ 1`` (computed from the weights), then the clamp to
    ``[lower, upper]``: ``_csr.csr_sart_update`` and ``SART``'s clamp, fused.

    ``weights = (ray_len (n_rays, 1|k), mask (n_pix, k) or (0, 0))``; ``params =
    (relaxation, eps, lower, upper, res)`` (``lower``/``upper`` ``±inf``: none).
    """
    lo_t, w_t = table
    n_det, pad, width = geo
    ray_len, mask = weights
    relax, eps, lower, upper, res = params
    n_pix, k = x.shape
    wide = ray_len.shape[1] > 1
    use_mask = mask.shape[0] > 0
    kr = ray_len.shape[1]
    ray = np.zeros((width, k), np.float32)
    rl = np.zeros((width, kr), np.float32)
    on = np.zeros(width, np.float32)
    on[pad:pad + n_det] = 1.0
    for a in order:
        lo = lo_t[a]
        w = w_t[a]
        _table_rays(x, lo, w, ray)
        base = a * n_det
        for d in range(n_det):
            for s in range(kr):
                rl[pad + d, s] = ray_len[base + d, s]
            for s in range(k):
                diff = y[base + d, s] - ray[pad + d, s]
                res[s] += diff * diff
                r = ray_len[base + d, s if wide else 0]
                ray[pad + d, s] = diff * relax / r if r != 0 else 0.0
        ray[:pad] = 0.0
        ray[pad + n_det:] = 0.0
        for j in range(n_pix):
            b = lo[j]
            w0 = w[j, 0]
            w1 = w[j, 1]
            w2 = 1.0 - w0 - w1
            e0 = w0 if w0 > 1e-9 else 0.0
            e1 = w1 if w1 > 1e-9 else 0.0
            e2 = w2 if w2 > 1e-9 else 0.0
            c = e0 * on[b] + e1 * on[b + 1] + e2 * on[b + 2]
            xj = x[j]
            if c > 1e-6:
                cinv = 1.0 / c
                for s in range(k):
                    if use_mask and mask[j, s] == 0:
                        continue
                    q = 0 if kr == 1 else s
                    acc = 0.0
                    g = c * rl[b, q]
                    if g > eps or g < -eps:
                        acc += e0 * ray[b, s]
                    g = c * rl[b + 1, q]
                    if g > eps or g < -eps:
                        acc += e1 * ray[b + 1, s]
                    g = c * rl[b + 2, q]
                    if g > eps or g < -eps:
                        acc += e2 * ray[b + 2, s]
                    xj[s] += acc * cinv
            for s in range(k):
                xj[s] = min(max(xj[s], lower), upper)


class MatrixFreeProjector(Projector):
    """Matrix-free CPU projector of the "strip" kernel (``backend="matrix-free"``).

    Equal to the sparse backend's strip matrix to float32 rounding (the same weights),
    hence to ASTRA's ``strip`` to ~1e-5. ``threads``: threads per call (default every
    available core; ``with_threads(n)`` gives a view sharing the cached sums). ``twin``:
    a function that returns the built sparse projector of the geometry, or ``None``
    (``_sparse_twin``).
    """

    backend = "matrix-free"

    def __init__(self, geometry, n_det=None, thickness=None, kernel="strip", *,
                 threads: int | None = None, twin=None):
        if kernel != "strip":
            raise UnknownMethodError("matrix-free kernel", kernel, ["strip"])
        super().__init__(geometry, n_det, thickness, "strip")
        self.threads = available_cores() if threads is None else max(1, int(threads))
        self._trig = np.ascontiguousarray(self.geometry.trig)
        self._shape = (self.thickness, self.n_det)
        # () -> the built sparse projector of this geometry, or None (``get_projector``
        # passes its cache's lookup; ``_sparse_twin``)
        self._twin = twin


    # -- the weight table of few-slice blocks --------------------------------------------
    @property
    def table_bytes(self) -> int:
        """Memory the weight table of this geometry takes (whether built or not)."""
        return 12 * self.n_angles * self.n_pix

    def _table_fits(self) -> bool:
        import psutil

        avail = psutil.virtual_memory().available
        return self.table_bytes <= min(TABLE_BYTES, avail // 4)

    def strip_table(self):
        """``((lo (n_angles, n_pix) int32, w (n_angles, n_pix, 2) float32), (n_det, pad,
        width))``: the first bin (offset by ``pad``) and first two strip weights of every
        pixel at every angle, built once (in parallel over angles) and kept; ``None`` when
        it would not fit (``TABLE_BYTES``)."""
        hit = self._cache.get("table")
        if hit is not None:
            return hit
        if not self._table_fits():
            return None
        return self._derived("table", self._build_strip_table)

    def _build_strip_table(self):
        g = self.geometry
        cos, sin = g.trig
        cx, cy = (self.n_det - 1) / 2.0, (self.thickness - 1) / 2.0
        corners = [(c - cx) * cos - (r - cy) * sin + cx + 0.5
                   for c in (0, self.n_det - 1) for r in (0, self.thickness - 1)]
        lo_min = int(np.floor(np.min(corners) - 1.0))
        lo_max = int(np.floor(np.max(corners) + 1.0))
        pad = max(0, -lo_min) + 1
        width = pad + max(self.n_det, lo_max + 3) + 1
        lo_t = np.empty((self.n_angles, self.n_pix), np.int32)
        w_t = np.empty((self.n_angles, self.n_pix, 2), np.float32)
        rows = np.zeros(self.n_rays, np.float32)
        edges = split(self.n_angles, self.threads, self._work(1))

        def call(_, a0, a1):
            cols = np.zeros(self.n_pix, np.float32)
            _build_table(self._trig, self._shape, pad, (lo_t, w_t), (rows, cols),
                         np.array([a0, a1], np.int64))
            return cols

        parts = run_ranges(call, edges)
        cols = parts[0]
        for c in parts[1:]:
            cols += c
        with self._cache_lock:  # the operator's sums, for free (``Projector.sums``)
            self._cache.setdefault("sums", (rows, cols))
        return (lo_t, w_t), (self.n_det, pad, width)

    def prepare(self, k):
        if k <= FEW_SLICES:
            self.strip_table()

    def _table_or_none(self, k):
        """The weight table when it is built and ``k`` slices are few."""
        return self._cache.get("table") if k <= FEW_SLICES else None

    def _sparse_twin(self, k):
        """The sparse projector of this geometry, when its matrix is built already and the
        block has 2 or 3 slices (``SPARSE_TWIN_SLICES``): then it projects, back projects
        and takes the SIRT step (the same strip weights, to float32 rounding), faster
        than the table; ``None`` otherwise.

        Measured on the needle (77 × 256², 2 threads, median of 5, interleaved;
        ``bench_projectors.py --sections few``): 2 slices SIRT-20 418 against 434 ms on
        the table, CGLS-20 438 against 526, TV-20 418 against 481; 3 slices 436/472,
        477/563, 438/546. One slice stays on the table (SIRT-20 190 against 323 ms), and
        SART on the table at any few (its fused sweep: 196 against 582 ms for 3 slices).
        """
        if k not in SPARSE_TWIN_SLICES or self._twin is None:
            return None
        twin = self._twin()
        return None if twin is None else twin.with_threads(self.threads)

    def _table_fp(self, tab, x):
        table, geo = tab
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((self.n_rays, x.shape[1]), np.float32)
        edges = split(self.n_angles, self.threads, self._work(x.shape[1]))

        def call(_, a0, a1):
            _table_fp(x, table, geo, out[a0 * self.n_det:a1 * self.n_det],
                      np.array([a0, a1], np.int64))

        run_ranges(call, edges)
        return out

    def _table_bp(self, tab, y):
        table, (n_det, pad, width) = tab
        k = np.shape(y)[1]
        ypad = np.zeros((self.n_angles, width, k), np.float32)
        ypad[:, pad:pad + n_det] = np.asarray(y, dtype=np.float32).reshape(
            self.n_angles, n_det, k)
        out = np.empty((self.n_pix, k), np.float32)
        edges = split(self.n_pix, self.threads, self._work(k))
        run_ranges(lambda _, j0, j1: _table_bp(ypad, table, out,
                                               np.array([j0, j1], np.int64)), edges)
        return out

    def sart_sweep(self, x, y, ray_len, order, *, mask=None, relaxation=1.0, eps=1e-3,
                   lower=None, upper=None):
        k = x.shape[1]
        tab = self.strip_table() if k <= FEW_SLICES else None
        if tab is None:
            return super().sart_sweep(x, y, ray_len, order, mask=mask,
                                      relaxation=relaxation, eps=eps, lower=lower,
                                      upper=upper)
        table, geo = tab
        y = np.ascontiguousarray(y, dtype=np.float32)
        ray_len = np.ascontiguousarray(ray_len, dtype=np.float32)
        mask = (np.zeros((0, 0), np.float32) if mask is None
                else np.ascontiguousarray(mask, dtype=np.float32))
        order = np.ascontiguousarray(order, dtype=np.int64)
        lo = -np.inf if lower is None else float(lower)
        hi = np.inf if upper is None else float(upper)
        # slices are independent: one thread per group of slices
        edges = split(k, self.threads, self._work(k))

        def call(_, s0, s1):
            whole = s0 == 0 and s1 == k
            xs = x if whole and x.flags.c_contiguous else np.ascontiguousarray(x[:, s0:s1])
            wide = ray_len.shape[1] > 1
            res = np.zeros(s1 - s0, np.float64)
            _table_sart(xs, y if whole else np.ascontiguousarray(y[:, s0:s1]),
                        (ray_len if whole or not wide
                         else np.ascontiguousarray(ray_len[:, s0:s1]),
                         mask if whole or mask.shape[0] == 0
                         else np.ascontiguousarray(mask[:, s0:s1])),
                        table, geo, order,
                        (np.float32(relaxation), np.float32(eps), np.float32(lo),
                         np.float32(hi), res))
            if xs is not x:
                x[:, s0:s1] = xs
            return res

        return np.concatenate(run_ranges(call, edges))

    def _table_step(self, tab, x, y, rinv):
        """The fused SIRT step on the table, angles split over the threads (each its own
        update block, summed)."""
        table, geo = tab
        k = x.shape[1]
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        rinv = np.ascontiguousarray(rinv, dtype=np.float32)
        edges = split(self.n_angles, self.threads, self._work(k))

        def call(_, a0, a1):
            rng = np.array([a0, a1], np.int64)
            res = np.zeros(k, np.float64)
            if k == 1:
                upd = np.empty(self.n_pix, np.float32)
                _table_sirt1(x[:, 0], y[:, 0], rinv[:, 0], table, geo, (upd, res), rng)
                return upd[:, None], res
            upd = np.empty((self.n_pix, k), np.float32)
            _table_sirt(x, y, rinv, table, geo, (upd, res), rng)
            return upd, res

        parts = run_ranges(call, edges)
        upd, res = parts[0]
        for u, r in parts[1:]:
            upd += u
            res += r
        return upd, res

    def sums(self):
        """``(W 1, Wᵀ 1)`` in closed form (``_sums.strip_sums``: strip areas of the slice
        rectangle and the detector's share of each pixel), not by projecting ones."""
        return self._derived("sums", lambda: strip_sums(self.geometry, self.threads))

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

    def _bp_range(self, y, a0, a1, out=None, scale=None):
        y = np.ascontiguousarray(y, dtype=np.float32)
        trig = np.ascontiguousarray(self._trig[:, a0:a1])
        if out is None:
            out = np.empty((self.n_pix, y.shape[1]), np.float32)
        scale = np.empty(0, np.float32) if scale is None else scale
        edges = split(self.thickness, self.threads, self._work(y.shape[1], a1 - a0))
        run_ranges(lambda _, r0, r1: _bp(y, trig, self._shape, out,
                                         np.array([r0, r1], np.int64), scale), edges)
        return out

    def fp_cols(self, x):
        k = np.shape(x)[1]
        twin = self._sparse_twin(k)
        if twin is not None:
            return twin.fp_cols(x)
        tab = self._table_or_none(k)
        if tab is not None:
            return self._table_fp(tab, x)
        return self._fp_range(x, 0, self.n_angles)

    def bp_cols(self, y):
        k = np.shape(y)[1]
        twin = self._sparse_twin(k)
        if twin is not None:
            return twin.bp_cols(y)
        tab = self._table_or_none(k)
        if tab is not None:
            return self._table_bp(tab, y)
        return self._bp_range(y, 0, self.n_angles)

    def fp_angle_cols(self, a, x):
        return self._fp_range(x, int(a), int(a) + 1)

    def bp_angle_cols(self, a, y):
        return self._bp_range(y, int(a), int(a) + 1)

    def sirt_update(self, x, y, rinv, cinv):
        k = np.shape(x)[1]
        twin = self._sparse_twin(k)
        if twin is not None:
            return twin.sirt_update(x, y, rinv, cinv)
        if self._fused(k) or (k <= FEW_SLICES and self.strip_table() is not None):
            return super().sirt_update(x, y, rinv, cinv)
        # big blocks: ``x += cinv · Wᵀ (rinv · (y − W x))`` with the back projection
        # written into ``x`` row by row (no update block the size of the volume)
        fx = self.fp_cols(x)
        res = np.zeros(k, np.float64)
        _csr.weighted_residual(fx, np.ascontiguousarray(y, dtype=np.float32),
                               np.ascontiguousarray(rinv, dtype=np.float32), res)
        self._bp_range(fx, 0, self.n_angles, out=x,
                       scale=np.ascontiguousarray(np.ravel(cinv), dtype=np.float32))
        return res

    def _fused(self, k):
        parts = len(split(self.n_angles, self.threads, self._work(k))) - 1
        return self.n_pix * k * 4 * parts <= FUSED_BYTES

    def residual_bp(self, x, y, rinv, angle=None):
        k = np.shape(x)[1]
        if angle is None and k <= FEW_SLICES and np.shape(rinv)[1] in (1, k):
            twin = self._sparse_twin(k)
            if twin is not None:
                return twin.residual_bp(x, y, rinv)
            tab = self.strip_table()
            if tab is not None:
                return self._table_step(tab, x, y, rinv)
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
