"""The SIRT weights of the "strip" kernel in closed form: ray lengths ``W 1`` and pixel
weights ``Wᵀ 1`` without a projection.

A strip weight is the area of a pixel inside a ray's one-pixel-wide strip, so

- the row sum of ray ``(θ, d)`` is the area of the whole slice rectangle (``n_det`` wide,
  ``thickness`` high) inside that strip: the rectangle's projection on ``(cos θ, sin θ)``
  is a trapezoid of area ``n_det · thickness`` (a box ``n_det |cos θ|`` convolved with a
  box ``thickness |sin θ|``), and the strip holds the part of it between ``d`` and ``d + 1``;
- the column sum of pixel ``j`` is, over the angles, the fraction of the pixel's own
  trapezoid footprint that falls on the detector ``[0, n_det]``: 1 for every angle at
  which the footprint lies inside, the trapezoid's CDF at the edges otherwise.

Both equal the sums of the strip matrix (``_sparse.strip_tiled``) up to the weights below
1e-9 that the matrix leaves out and float32 rounding. The matrix-free projector used to
get them by projecting a volume of ones and back projecting a sinogram of ones: 62 s at
4096² × 151 (two single-slice products computed weight by weight), against a few seconds
here.
"""

from __future__ import annotations

import numba
import numpy as np

from ..geometry import detector_u_jit
from ._threads import run_ranges, split


@numba.njit(inline="always")
def _trap_cdf(t, m, big):  # pragma: no cover - compiled
    """Fraction of a trapezoid of unit area (box ``big`` convolved with box ``m``, centred
    at 0) below ``t``."""
    if big <= 0.0:
        return 1.0 if t >= 0.0 else 0.0
    if m < 1e-7 * big:
        return min(max(t / big + 0.5, 0.0), 1.0)
    neg = t < 0.0
    if neg:
        t = -t
    half = 0.5 * (m + big)
    if t >= half:
        f = 1.0
    elif t <= 0.5 * (big - m):
        f = 0.5 + t / big
    else:
        e = half - t
        f = 1.0 - e * e / (2.0 * m * big)
    return 1.0 - f if neg else f


@numba.njit(nogil=True, cache=True)
def _row_sums(trig, shape, out):  # pragma: no cover - compiled
    thickness, n_det = shape
    area = float(thickness) * float(n_det)
    centre = n_det / 2.0  # the rectangle's centre on the detector, from its edge
    for a in range(trig.shape[1]):
        wc = abs(trig[0, a]) * n_det
        ws = abs(trig[1, a]) * thickness
        m = min(wc, ws)
        big = max(wc, ws)
        for d in range(n_det):
            lo = _trap_cdf(d - centre, m, big)
            hi = _trap_cdf(d + 1.0 - centre, m, big)
            out[a * n_det + d] = area * (hi - lo)


@numba.njit(nogil=True, cache=True)
def _col_sums(trig, shape, out, rows):  # pragma: no cover - compiled
    thickness, n_det = shape
    n_a = trig.shape[1]
    cx = (n_det - 1) / 2.0
    cy = (thickness - 1) / 2.0
    for r in range(rows[0], rows[1]):
        for c in range(n_det):
            out[r * n_det + c] = 0.0
        for a in range(n_a):
            ca = trig[0, a]
            sa = trig[1, a]
            m = min(abs(ca), abs(sa))
            big = max(abs(ca), abs(sa))
            h = 0.5 * (m + big)
            u0 = detector_u_jit(0.0, r, ca, sa, cx, cy) + 0.5  # from the detector's edge
            for c in range(n_det):
                u = u0 + c * ca
                if u - h >= 0.0 and u + h <= n_det:
                    out[r * n_det + c] += 1.0
                else:
                    out[r * n_det + c] += (_trap_cdf(n_det - u, m, big)
                                           - _trap_cdf(-u, m, big))


def strip_sums(geometry, threads: int = 1):
    """``(row_sums (n_rays,), col_sums (n_pix,))`` float32 of the strip matrix of
    ``geometry`` (a ``ParallelGeometry``), in closed form; the pixel rows split over
    ``threads``."""
    trig = np.ascontiguousarray(geometry.trig)
    shape = (int(geometry.thickness), int(geometry.n_det))
    rows = np.empty(geometry.n_angles * geometry.n_det, np.float64)
    _row_sums(trig, shape, rows)
    cols = np.empty(geometry.n_pix, np.float64)
    edges = split(shape[0], max(1, int(threads)), geometry.n_pix * geometry.n_angles)
    run_ranges(lambda _, r0, r1: _col_sums(trig, shape, cols,
                                           np.array([r0, r1], np.int64)), edges)
    return rows.astype(np.float32), cols.astype(np.float32)
