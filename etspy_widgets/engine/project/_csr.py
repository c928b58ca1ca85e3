"""Numba kernels of the batched CPU backend: sparse matrix times a block of slices.

The block layout is *slices innermost*: a block of ``k`` images is a C-ordered
``(n_pixels, k)`` float32 array, so each nonzero of the system matrix multiplies
one contiguous row of ``k`` values (a SIMD loop). The kernels release the GIL
(``nogil=True``) and are single-threaded: parallelism comes from running chunks
of slices in several threads (Dask), which keeps them safe under any threading
layer and lets ``ncores`` mean what it says.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_matmat(indptr, indices, data, x, out):  # pragma: no cover - compiled
    """``out[i, :] = sum_j A[i, j] * x[j, :]`` for a CSR matrix ``A`` (rows in ``indptr``)."""
    k = x.shape[1]
    for i in range(indptr.shape[0] - 1):
        row = out[i]
        for s in range(k):
            row[s] = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            v = data[jj]
            xr = x[indices[jj]]
            for s in range(k):
                row[s] += v * xr[s]


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_matvec(indptr, indices, data, x, out):  # pragma: no cover - compiled
    """``out = A @ x`` for one vector (the ``k == 1`` case, without the inner loop)."""
    for i in range(indptr.shape[0] - 1):
        acc = np.float32(0.0)
        for jj in range(indptr[i], indptr[i + 1]):
            acc += data[jj] * x[indices[jj]]
        out[i] = acc


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_rmatmat(indptr, indices, data, y, out):  # pragma: no cover - compiled
    """``out = Aᵀ y`` for a CSR matrix ``A``: each row of ``y`` scattered along its row of ``A``.

    ``out`` is overwritten. With slices innermost the scatter writes whole contiguous rows
    of ``k`` values, which is as fast as a gather over a stored transpose (and halves the
    memory: no transpose is kept).
    """
    k = y.shape[1]
    out[:] = 0.0
    for i in range(indptr.shape[0] - 1):
        yr = y[i]
        for jj in range(indptr[i], indptr[i + 1]):
            v = data[jj]
            o = out[indices[jj]]
            for s in range(k):
                o[s] += v * yr[s]


def rmatmat(csr, n_cols: int, y: np.ndarray) -> np.ndarray:
    """Apply the transpose of a float32 CSR matrix to a ``(n_rows, k)`` block."""
    indptr, indices, data, _ = csr
    y = np.ascontiguousarray(y, dtype=np.float32)
    out = np.empty((n_cols, y.shape[1]), dtype=np.float32)
    csr_rmatmat(indptr, indices, data, y, out)
    return out


def matmat(csr, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Apply a float32 CSR matrix (``indptr, indices, data``) to a ``(n, k)`` block."""
    indptr, indices, data, n_rows = csr
    x = np.ascontiguousarray(x, dtype=np.float32)
    k = x.shape[1]
    if out is None:
        out = np.empty((n_rows, k), dtype=np.float32)
    if k == 1:
        csr_matvec(indptr, indices, data, x[:, 0], out[:, 0])
    else:
        csr_matmat(indptr, indices, data, x, out)
    return out


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_residual_bp(csr, x, y, rinv, outs):  # pragma: no cover - compiled
    """One pass over the rows of ``A``: ``upd = Aᵀ (rinv · (y − A x))``, ``res += (y − A x)²``.

    The SIRT/SART step fused: each row's nonzeros are read once, to gather ``A x`` and
    to scatter the weighted residual back. ``rinv`` is ``(n_rows, 1)`` or ``(n_rows, k)``;
    ``csr`` is ``(indptr, indices, data)``; ``outs`` is ``(upd, res)``: ``upd`` is
    overwritten, ``res`` (length ``k``, float64) is accumulated into.
    """
    indptr, indices, data = csr
    upd, res = outs
    k = x.shape[1]
    per_column = rinv.shape[1] > 1
    upd[:] = 0.0
    r = np.empty(k, np.float32)
    for i in range(indptr.shape[0] - 1):
        j0 = indptr[i]
        j1 = indptr[i + 1]
        for s in range(k):
            r[s] = 0.0
        for jj in range(j0, j1):
            v = data[jj]
            xr = x[indices[jj]]
            for s in range(k):
                r[s] += v * xr[s]
        yi = y[i]
        for s in range(k):
            d = yi[s] - r[s]
            res[s] += d * d
            r[s] = d * (rinv[i, s] if per_column else rinv[i, 0])
        for jj in range(j0, j1):
            v = data[jj]
            o = upd[indices[jj]]
            for s in range(k):
                o[s] += v * r[s]


# -- tiled layout: the matrix ordered by pixel tile, then by ray ---------------------------
# Applying the CSR row by row sweeps the whole ``(n_pix, k)`` block once per projection
# (it does not stay in cache: 8 MB for 256² × 32 slices). Ordering the nonzeros by square
# pixel tiles (rays in order within a tile) keeps one tile of the block (32² × 32 floats =
# 128 KB) in cache while every ray through it is applied: projection and back projection
# become two streaming passes over the matrix instead of n_tilts sweeps of the block.
TILE = 32


@numba.njit(nogil=True, cache=True)
def csr_to_tiled(indptr, indices, data, n_det, tile):  # pragma: no cover - compiled
    """Reorder a CSR matrix by pixel tile: ``(seg_ptr, seg_row, indices, data)``.

    A *segment* is a run of nonzeros of one row inside one tile; ``seg_row`` holds its row.
    """
    n_rows = indptr.size - 1
    nnz = indices.size
    ntx = (n_det + tile - 1) // tile
    max_pix = 0
    for j in range(nnz):
        max_pix = max(max_pix, indices[j])
    ntiles = ntx * (max_pix // n_det // tile + 1)
    counts = np.zeros(ntiles + 1, np.int64)
    for j in range(nnz):
        p = indices[j]
        counts[(p // n_det // tile) * ntx + (p % n_det) // tile + 1] += 1
    start = np.cumsum(counts)
    cur = start[:-1].copy()
    t_ind = np.empty(nnz, np.int32)
    t_dat = np.empty(nnz, np.float32)
    t_row = np.empty(nnz, np.int32)
    for i in range(n_rows):
        for j in range(indptr[i], indptr[i + 1]):
            p = indices[j]
            t = (p // n_det // tile) * ntx + (p % n_det) // tile
            k = cur[t]
            t_ind[k] = p
            t_dat[k] = data[j]
            t_row[k] = i
            cur[t] = k + 1
    nseg = 0
    for t in range(ntiles):
        for k in range(start[t], start[t + 1]):
            if k == start[t] or t_row[k] != t_row[k - 1]:
                nseg += 1
    seg_ptr = np.empty(nseg + 1, np.int64)
    seg_row = np.empty(nseg, np.int32)
    s = 0
    for t in range(ntiles):
        for k in range(start[t], start[t + 1]):
            if k == start[t] or t_row[k] != t_row[k - 1]:
                seg_ptr[s] = k
                seg_row[s] = t_row[k]
                s += 1
    seg_ptr[nseg] = nnz
    return seg_ptr, seg_row, t_ind, t_dat


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_gather(tiled, x, out):  # pragma: no cover - compiled
    """``out = A x`` with ``A`` in the tiled layout (``out`` overwritten)."""
    out[:] = 0.0
    _gather_segs(tiled, x, out, 0, tiled[1].size)


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_scatter(tiled, y, out):  # pragma: no cover - compiled
    """``out = Aᵀ y`` with ``A`` in the tiled layout (``out`` overwritten)."""
    out[:] = 0.0
    _scatter_segs(tiled, y, out, 0, tiled[1].size)


# The inner loops over the ``k`` slices of a row. Measured (needle 77 × 256², one core):
# the plain ``o[q] += v · x_j[q]`` per nonzero is bound by the chain through ``o`` (each
# nonzero's store feeds the next one's load), 1.0-2.1 ms per slice and projection; four
# nonzeros per pass over ``o`` (gather) and two rows per pass over ``y_i`` (scatter) cut
# that to 0.6-0.7 ms at 64-128 slices. LLVM vectorizes the ``q`` loop 64 wide (4 × zmm) and
# finishes 8 wide, so blocks of 64 or 128 slices run it best.
@numba.njit(nogil=True, fastmath=True, cache=True, inline="always")
def _gather_segs(tiled, x, out, s0, s1):  # pragma: no cover - compiled
    seg_ptr, seg_row, ind, dat = tiled
    k = x.shape[1]
    for s in range(s0, s1):
        o = out[seg_row[s]]
        jj = seg_ptr[s]
        j1 = seg_ptr[s + 1]
        while jj + 4 <= j1:
            v0, v1, v2, v3 = dat[jj], dat[jj + 1], dat[jj + 2], dat[jj + 3]
            x0, x1, x2, x3 = x[ind[jj]], x[ind[jj + 1]], x[ind[jj + 2]], x[ind[jj + 3]]
            for q in range(k):
                o[q] += (v0 * x0[q] + v1 * x1[q]) + (v2 * x2[q] + v3 * x3[q])
            jj += 4
        while jj < j1:
            v = dat[jj]
            xr = x[ind[jj]]
            for q in range(k):
                o[q] += v * xr[q]
            jj += 1


@numba.njit(nogil=True, fastmath=True, cache=True, inline="always")
def _scatter_segs(tiled, y, out, s0, s1):  # pragma: no cover - compiled
    seg_ptr, seg_row, ind, dat = tiled
    k = y.shape[1]
    for s in range(s0, s1):
        yr = y[seg_row[s]]
        jj = seg_ptr[s]
        j1 = seg_ptr[s + 1]
        while jj + 2 <= j1:  # the pixels of one segment are distinct: no write conflict
            v0, v1 = dat[jj], dat[jj + 1]
            o0, o1 = out[ind[jj]], out[ind[jj + 1]]
            for q in range(k):
                yq = yr[q]
                o0[q] += v0 * yq
                o1[q] += v1 * yq
            jj += 2
        if jj < j1:
            v = dat[jj]
            o = out[ind[jj]]
            for q in range(k):
                o[q] += v * yr[q]


@numba.njit(nogil=True, fastmath=True, cache=True)
def scale_add(x, upd, scale):  # pragma: no cover - compiled
    """In place ``x[j] += scale[j] · upd[j]`` (``scale`` ``(n, 1)``): the SIRT update in one
    pass instead of two."""
    k = x.shape[1]
    for j in range(x.shape[0]):
        f = scale[j, 0]
        xj = x[j]
        uj = upd[j]
        for q in range(k):
            xj[q] += f * uj[q]


@numba.njit(nogil=True, fastmath=True, cache=True)
def weighted_residual(fx, y, rinv, res):  # pragma: no cover - compiled
    """In place ``fx ← rinv · (y − fx)``; ``res += (y − fx)²`` per column."""
    k = fx.shape[1]
    per_column = rinv.shape[1] > 1
    for i in range(fx.shape[0]):
        for s in range(k):
            d = y[i, s] - fx[i, s]
            res[s] += d * d
            fx[i, s] = d * (rinv[i, s] if per_column else rinv[i, 0])


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_sart_update(csr, x, y, weights, params):  # pragma: no cover - compiled
    """One SART projection, in place, exactly as ASTRA's ``SIRTBPPolicy``.

    ``csr`` holds the projection's rows; ``y`` its data ``(n_det, k)``; ``weights`` is
    ``(ray_length (n_det, 1|k), pixel_weight (n_pix,), 1/pixel_weight (n_pix,),
    mask (n_pix, k) or (0, 0))``; ``params`` is ``(relaxation, eps, res)``. First
    ``d = y − A x`` for every ray (and ``res += d²``), then
    ``x_j += λ w_ij d_i / (C_j R_i)`` wherever ``|C_j R_i| > eps`` (ASTRA skips the update
    below 0.001) and the pixel is free in ``mask``.
    """
    indptr, indices, data = csr
    ray_len, pix_w, pix_winv, mask = weights
    relax, eps, res = params
    k = x.shape[1]
    per_column = ray_len.shape[1] > 1 or mask.shape[0] > 0
    n_rows = indptr.size - 1
    d = np.zeros((n_rows, k), np.float32)
    for i in range(n_rows):
        di = d[i]
        for jj in range(indptr[i], indptr[i + 1]):
            v = data[jj]
            xr = x[indices[jj]]
            for s in range(k):
                di[s] += v * xr[s]
        for s in range(k):
            di[s] = y[i, s] - di[s]
            res[s] += di[s] * di[s]
    use_mask = mask.shape[0] > 0
    wide = ray_len.shape[1] > 1
    for i in range(n_rows):
        di = d[i]
        if not per_column:
            ri = ray_len[i, 0]
            if ri == 0:
                continue
            ir = relax / ri
            for jj in range(indptr[i], indptr[i + 1]):
                j = indices[jj]
                gb = pix_w[j] * ri
                if gb > eps or gb < -eps:
                    scale = data[jj] * ir * pix_winv[j]
                    xr = x[j]
                    for s in range(k):
                        xr[s] += scale * di[s]
        else:
            for jj in range(indptr[i], indptr[i + 1]):
                j = indices[jj]
                v = data[jj] * relax
                xr = x[j]
                cj = pix_w[j]
                for s in range(k):
                    ri = ray_len[i, s] if wide else ray_len[i, 0]
                    gb = cj * ri
                    if (gb > eps or gb < -eps) and (not use_mask or mask[j, s] != 0):
                        xr[s] += v * di[s] / gb


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_gather1(tiled, x, out, segs):  # pragma: no cover - compiled
    """``tiled_gather`` of one vector over segments ``segs[0] ≤ s < segs[1]`` (``out``
    overwritten): the single-slice case without the inner loop."""
    seg_ptr, seg_row, ind, dat = tiled
    out[:] = 0.0
    for s in range(segs[0], segs[1]):
        acc = np.float32(0.0)
        for jj in range(seg_ptr[s], seg_ptr[s + 1]):
            acc += dat[jj] * x[ind[jj]]
        out[seg_row[s]] += acc


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_scatter1(tiled, y, out, segs):  # pragma: no cover - compiled
    """``tiled_scatter`` of one vector over segments ``segs[0] ≤ s < segs[1]``; writes only
    the pixels of those segments' tiles (zeroed first by the caller)."""
    seg_ptr, seg_row, ind, dat = tiled
    for s in range(segs[0], segs[1]):
        v = y[seg_row[s]]
        for jj in range(seg_ptr[s], seg_ptr[s + 1]):
            out[ind[jj]] += dat[jj] * v


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_gather_range(tiled, x, out, segs):  # pragma: no cover - compiled
    """``tiled_gather`` over segments ``segs[0] ≤ s < segs[1]`` (``out`` overwritten)."""
    out[:] = 0.0
    _gather_segs(tiled, x, out, segs[0], segs[1])


@numba.njit(nogil=True, fastmath=True, cache=True)
def tiled_scatter_range(tiled, y, out, segs):  # pragma: no cover - compiled
    """``tiled_scatter`` over segments ``segs[0] ≤ s < segs[1]`` into a zeroed ``out``."""
    _scatter_segs(tiled, y, out, segs[0], segs[1])


def tile_splits(tiled, n_det: int, parts: int, tile: int = TILE) -> np.ndarray:
    """Segment indices that split the tiled matrix into ``parts`` ranges of about equal
    nonzeros, each starting at a tile boundary (so that scatters of different ranges
    never write the same pixel)."""
    seg_ptr, _, ind, _ = tiled
    first = ind[seg_ptr[:-1]]
    ntx = (n_det + tile - 1) // tile
    tile_of = (first // n_det // tile) * ntx + (first % n_det) // tile
    starts = np.flatnonzero(np.r_[True, tile_of[1:] != tile_of[:-1]])
    nnz_at = seg_ptr[starts]
    targets = np.linspace(0, seg_ptr[-1], parts + 1)[1:-1]
    cut = starts[np.clip(np.searchsorted(nnz_at, targets), 0, starts.size - 1)]
    return np.unique(np.r_[0, cut, seg_ptr.size - 1]).astype(np.int64)
