"""The batched CPU backend: the "strip" system matrix, built here, applied to many slices.

Weights are the exact areas of pixel/strip intersections (ASTRA's ``strip`` kernel); the
matrix is kept ordered by 32×32 pixel tiles (``_csr.csr_to_tiled``) so that projection and
back projection are streaming passes over it with a tile of the slice block in cache.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from ..geometry import ParallelGeometry, detector_u_jit
from . import _csr
from ._astra import astra_matrix
from ._base import Projector, safe_inverse
from ._csr import TILE
from ._threads import run_ranges


@numba.njit(inline="always")
def _pixel_cdf(t, m, big):  # pragma: no cover - compiled
    """Fraction of a unit pixel whose projection lies below ``t`` (relative to its centre).

    The projection of a unit square on a direction ``(cos θ, sin θ)`` is a trapezoid of
    total area 1 (box ``|cos θ|`` convolved with box ``|sin θ|``); ``m``/``big`` are the
    smaller/larger of the two widths. Piecewise quadratic, exact.
    """
    neg = t < 0
    if neg:
        t = -t
    if m < 1e-7:
        f = min(t, 0.5) + 0.5
    else:
        half = 0.5 * (m + big)
        if t >= half:
            f = 1.0
        elif t <= 0.5 * (big - m):
            f = 0.5 + t / big
        else:
            e = half - t
            f = 1.0 - e * e / (2 * m * big)
    return 1.0 - f if neg else f


@numba.njit(inline="always")
def _angle_terms(trig, a):  # pragma: no cover - compiled
    """``cos θ, sin θ``, the smaller and larger of their magnitudes (the widths of a unit
    pixel's trapezoid footprint, ``_pixel_cdf``), and the footprint's half width."""
    ca = trig[0, a]
    sa = trig[1, a]
    m = min(abs(ca), abs(sa))
    big = max(abs(ca), abs(sa))
    return ca, sa, m, big, 0.5 * (m + big)


@numba.njit(nogil=True, cache=True)
def _strip_pass(trig, shape, counts, outs):  # pragma: no cover - compiled
    """Count (``outs`` empty) or fill (``outs = (indices, data, cursor)``) the CSR rows."""
    thickness, n_det = shape
    indices, data, cursor = outs
    fill = cursor.size > 0
    n_a = trig.shape[1]
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    for a in range(n_a):
        ca, sa, m, big, h = _angle_terms(trig, a)
        for r in range(thickness):
            for c in range(n_det):
                u = detector_u_jit(c, r, ca, sa, cx, cy) + 0.5  # from the detector's edge
                for d in range(max(int(np.floor(u - h)), 0),
                               min(int(np.floor(u + h)), n_det - 1) + 1):
                    w = _pixel_cdf(d + 1 - u, m, big) - _pixel_cdf(d - u, m, big)
                    if w > 1e-9:
                        row = a * n_det + d
                        if fill:
                            k = cursor[row]
                            indices[k] = r * n_det + c
                            data[k] = w
                            cursor[row] = k + 1
                        else:
                            counts[row + 1] += 1


def strip_matrix(tilts_deg, thickness: int, n_det: int):
    """The "strip" system matrix as CSR arrays ``(indptr int64, indices int32, data float32)``.

    Weight of pixel ``j`` for ray ``i`` = the area of the pixel inside the ray's strip (one
    detector pixel wide), computed exactly; ASTRA's ``strip`` projector computes the same
    areas (in float32, keeping some zero entries): the matrices agree to ~2e-5 relative.
    Rows are ``angle * n_det + detector``, columns ``row * n_det + column`` of the slice.
    Built in about a second for 512², against ~17 s through ``astra.matrix.get``.
    """
    trig = ParallelGeometry(tilts_deg, n_det, thickness).trig
    n_rows = trig.shape[1] * n_det
    counts = np.zeros(n_rows + 1, np.int64)
    empty_i, empty_f = np.empty(0, np.int32), np.empty(0, np.float32)
    shape = (int(thickness), int(n_det))
    _strip_pass(trig, shape, counts, (empty_i, empty_f, np.empty(0, np.int64)))
    indptr = np.cumsum(counts)
    indices = np.empty(indptr[-1], np.int32)
    data = np.empty(indptr[-1], np.float32)
    _strip_pass(trig, shape, counts, (indices, data, indptr[:-1].copy()))
    return indptr, indices, data




@numba.njit(nogil=True, cache=True)
def _strip_tiled_pass(trig, shape, tile, per_tile, outs):  # pragma: no cover - compiled
    """Count (``outs`` empty) or fill the "strip" matrix directly in the tiled layout.

    Counting writes ``per_tile[t] = (nnz, segments)`` of every tile; filling expects their
    exclusive running sums there (where each tile starts) and writes
    ``outs = (seg_ptr, seg_row, indices, data)``. Tiles, then angles, then detector bins are
    visited in order, and the pixels of a segment in ascending order: the very layout
    ``csr_to_tiled(*strip_matrix(...))`` gives, without the CSR copy.
    """
    thickness, n_det = shape
    seg_ptr, seg_row, t_ind, t_dat = outs
    fill = t_ind.size > 0
    n_a = trig.shape[1]
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    ntx = (n_det + tile - 1) // tile
    nty = (thickness + tile - 1) // tile
    width = 2 * tile + 4  # detector bins a tile can touch at one angle (≤ tile·√2 + 3)
    cnt = np.zeros(width, np.int64)
    pos = np.zeros(width, np.int64)
    s_pix = np.empty(3 * tile * tile, np.int32)  # a pixel touches at most 3 bins
    s_bin = np.empty(3 * tile * tile, np.int32)
    s_w = np.empty(3 * tile * tile, np.float32)
    for ty in range(nty):
        r0 = ty * tile
        r1 = min(r0 + tile, thickness)
        for tx in range(ntx):
            t = ty * ntx + tx
            c0 = tx * tile
            c1 = min(c0 + tile, n_det)
            k = per_tile[t, 0]
            sg = per_tile[t, 1]
            for a in range(n_a):
                ca, sa, m, big, h = _angle_terms(trig, a)
                u00 = detector_u_jit(c0, r0, ca, sa, cx, cy) + 0.5
                du_c = (c1 - 1 - c0) * ca
                du_r = -(r1 - 1 - r0) * sa
                umin = u00 + min(du_c, 0.0) + min(du_r, 0.0)
                umax = u00 + max(du_c, 0.0) + max(du_r, 0.0)
                dlo = max(int(np.floor(umin - h)), 0)
                dhi = min(int(np.floor(umax + h)), n_det - 1)
                if dhi < dlo:
                    continue
                for q in range(dhi - dlo + 1):
                    cnt[q] = 0
                n = 0
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        u = detector_u_jit(c, r, ca, sa, cx, cy) + 0.5  # from the detector's edge
                        for d in range(max(int(np.floor(u - h)), 0),
                                       min(int(np.floor(u + h)), n_det - 1) + 1):
                            w = _pixel_cdf(d + 1 - u, m, big) - _pixel_cdf(d - u, m, big)
                            if w > 1e-9:
                                cnt[d - dlo] += 1
                                if fill:
                                    s_pix[n] = r * n_det + c
                                    s_bin[n] = d - dlo
                                    s_w[n] = w
                                    n += 1
                for q in range(dhi - dlo + 1):
                    if cnt[q] > 0:
                        if fill:
                            seg_ptr[sg] = k
                            seg_row[sg] = a * n_det + dlo + q
                            pos[q] = k
                        k += cnt[q]
                        sg += 1
                if fill:
                    for e in range(n):
                        q = s_bin[e]
                        t_ind[pos[q]] = s_pix[e]
                        t_dat[pos[q]] = s_w[e]
                        pos[q] += 1
            if not fill:
                per_tile[t, 0] = k
                per_tile[t, 1] = sg


def strip_tiled(tilts_deg, thickness: int, n_det: int, tile: int = 0):
    """The "strip" matrix straight in the tiled layout ``(seg_ptr, seg_row, indices, data)``.

    Equal, array for array, to ``csr_to_tiled(*strip_matrix(...), n_det, tile)``, with a
    peak memory of the result alone (building the CSR first held both, ~2.5× as much).
    """
    tile = int(tile or TILE)
    trig = ParallelGeometry(tilts_deg, n_det, thickness).trig
    shape = (int(thickness), int(n_det))
    ntiles = ((n_det + tile - 1) // tile) * ((thickness + tile - 1) // tile)
    per_tile = np.zeros((ntiles, 2), np.int64)
    empty = (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int32),
             np.empty(0, np.float32))
    _strip_tiled_pass(trig, shape, tile, per_tile, empty)
    totals = per_tile.sum(axis=0)
    starts = np.zeros_like(per_tile)
    starts[1:] = np.cumsum(per_tile, axis=0)[:-1]
    seg_ptr = np.empty(int(totals[1]) + 1, np.int64)
    seg_row = np.empty(int(totals[1]), np.int32)
    indices = np.empty(int(totals[0]), np.int32)
    data = np.empty(int(totals[0]), np.float32)
    _strip_tiled_pass(trig, shape, tile, starts, (seg_ptr, seg_row, indices, data))
    seg_ptr[-1] = int(totals[0])
    return seg_ptr, seg_row, indices, data


class SparseProjector(Projector):
    """Batched CPU backend: the system matrix of the kernel, applied to many slices.

    For the "strip" kernel the matrix is computed here (exact pixel/strip intersection
    areas, ``strip_matrix``, equal to ASTRA's to ~2e-5; ``builder="astra"``
    takes ASTRA's own); for "linear" and "line" it is ASTRA's.
    The matrix ``W`` (rays × pixels) is kept reordered by 32×32 pixel tiles
    (``csr_to_tiled``): projection gathers and back projection scatters in
    one streaming pass over it, with the tile's block of slices in cache; no transpose is
    stored. The row-ordered CSR is rebuilt on demand for per-projection operators (SART).
    """

    backend = "sparse"

    def __init__(self, geometry, n_det=None, thickness=None, kernel="strip", *,
                 builder="native"):
        super().__init__(geometry, n_det, thickness, kernel)
        self.builder = builder
        if self.kernel == "strip" and self.builder == "native":
            # straight into the tiled layout: no CSR copy alongside it while building
            self._tiled = strip_tiled(self.tilts, self.thickness, self.n_det)
        else:
            csr = self._build_csr()
            self._tiled = _csr.csr_to_tiled(csr[0], csr[1], csr[2], self.n_det, TILE)
            del csr
        self._nnz = int(self._tiled[2].size)
        self._nseg = int(self._tiled[1].size)
        self.threads = 1  # with_threads(n): gathers/scatters split over n threads
        # the CSR (per-projection operators: SART, DART) is built on demand into
        # ``self._cache``, which the views of ``with_threads`` share (kept on the view, it was
        # rebuilt at every call through a new view: 0.64 s per SART call on the needle)
        self._csr_lock = threading.Lock()

    def _build_csr(self):
        if self.kernel == "strip" and self.builder == "native":
            indptr, indices, data = strip_matrix(self.tilts, self.thickness, self.n_det)
            return (indptr, indices, data, self.n_rays)
        return astra_matrix(self.geometry, self.kernel)

    @property
    def _w(self):
        """The CSR arrays ``(indptr, indices, data, n_rows)``, built when first needed."""
        with self._csr_lock:
            csr = self._cache.get("csr")
            if csr is None:
                csr = self._cache["csr"] = self._build_csr()
            return csr

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
        csr = self._cache.get("csr")
        if csr is not None:
            held += sum(a.nbytes for a in csr[:3])
        return int(held)

    def _splits(self):
        return self._derived(("splits", self.threads), lambda: _csr.tile_splits(
            self._tiled, self.n_det, self.threads))

    def fp_cols(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        k = x.shape[1]
        if self.threads == 1 and k > 1:
            out = np.empty((self.n_rays, k), np.float32)
            _csr.tiled_gather(self._tiled, x, out)
            return out
        edges = self._splits() if self.threads > 1 else np.array([0, self._nseg], np.int64)

        def part(_, s0, s1):  # each range gathers into its own rays, summed below
            out = np.empty((self.n_rays, k), np.float32)
            rng = np.array([s0, s1], np.int64)
            if k == 1:
                _csr.tiled_gather1(self._tiled, x[:, 0], out[:, 0], rng)
            else:
                _csr.tiled_gather_range(self._tiled, x, out, rng)
            return out

        parts = run_ranges(part, edges)
        out = parts[0]
        for p in parts[1:]:
            out += p
        return out

    def bp_cols(self, y):
        y = np.ascontiguousarray(y, dtype=np.float32)
        k = y.shape[1]
        if self.threads == 1 and k > 1:
            out = np.empty((self.n_pix, k), np.float32)
            _csr.tiled_scatter(self._tiled, y, out)
            return out
        out = np.zeros((self.n_pix, k), np.float32)
        edges = self._splits() if self.threads > 1 else np.array([0, self._nseg], np.int64)

        def part(_, s0, s1):  # ranges start at tile boundaries: disjoint pixels
            rng = np.array([s0, s1], np.int64)
            if k == 1:
                _csr.tiled_scatter1(self._tiled, y[:, 0], out[:, 0], rng)
            else:
                _csr.tiled_scatter_range(self._tiled, y, out, rng)

        run_ranges(part, edges)
        return out

    def residual_bp(self, x, y, rinv, angle=None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        rinv = np.ascontiguousarray(rinv, dtype=np.float32)
        upd = np.empty((self.n_pix, x.shape[1]), np.float32)
        res = np.zeros(x.shape[1], np.float64)
        if angle is None:
            fx = self.fp_cols(x)
            _csr.weighted_residual(fx, y, rinv, res)
            if self.threads == 1 and x.shape[1] > 1:
                _csr.tiled_scatter(self._tiled, fx, upd)
            else:
                upd = self.bp_cols(fx)
        else:
            csr = self._angle_rows(angle)
            _csr.csr_residual_bp(csr[:3], x, y, rinv, (upd, res))
        return upd, res

    def sirt_update(self, x, y, rinv, cinv):
        if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous
                and np.shape(cinv) == (self.n_pix, 1)):
            return super().sirt_update(x, y, rinv, cinv)
        upd, res = self.residual_bp(x, y, rinv)
        _csr.scale_add(x, upd, np.ascontiguousarray(cinv, dtype=np.float32))
        return res

    def sart_update(self, a, x, y, ray_len, pix_w, *, mask=None, relaxation=1.0, eps=1e-3):
        csr = self._angle_rows(a)
        pix_winv = self._per_angle("pix_winv", a, lambda: safe_inverse(pix_w))
        res = np.zeros(x.shape[1], np.float64)
        m = (np.zeros((0, 0), np.float32) if mask is None
             else np.ascontiguousarray(mask, dtype=np.float32))
        _csr.csr_sart_update(csr[:3], x, np.ascontiguousarray(y, dtype=np.float32),
                             (np.ascontiguousarray(ray_len, dtype=np.float32),
                              np.ascontiguousarray(pix_w, dtype=np.float32), pix_winv, m),
                             (np.float32(relaxation), np.float32(eps), res))
        return res

    def _angle_rows(self, a):
        indptr, indices, data, _ = self._w
        n = self.n_det
        return (indptr[a * n:(a + 1) * n + 1], indices, data, n)

    def fp_angle_cols(self, a, x):
        return _csr.matmat(self._angle_rows(a), x)

    def bp_angle_cols(self, a, y):
        return _csr.rmatmat(self._angle_rows(a), self.n_pix, y)
