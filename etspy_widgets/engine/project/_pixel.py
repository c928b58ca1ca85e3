"""The pixel-driven linear projector pair (matrix-free; the live slices' projector).

Back projection samples each projection at the pixel's detector coordinate ``u``
([`detector_u`][etspy_widgets.engine.geometry.detector_u]) by linear interpolation (the
kernel of ASTRA's CUDA back projection); forward projection is its exact adjoint (each
pixel splats onto the two nearest bins with the same weights). At the detector ends a
pixel half a bin outside still takes its partial weight from the end bin. No set-up cost
and no memory beyond the images: the fastest choice for a few slices.

Both kernels are serial and release the GIL; a call splits its (slice, row) or
(slice, angle) jobs over ``threads`` threads (``_threads``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..geometry import detector_u_jit
from ._base import Projector
from ._threads import available_cores, run_ranges, split


@numba.njit(nogil=True, fastmath=True, cache=True)
def _y_range(t0, c, lo_t, hi_t, n):  # pragma: no cover - compiled
    """Columns ``y`` in ``[0, n)`` with ``lo_t <= t0 + y c < hi_t``."""
    if c > 1e-12:
        lo = int(np.ceil((lo_t - t0) / c))
        hi = int(np.ceil((hi_t - t0) / c))
    elif c < -1e-12:
        lo = int(np.floor((hi_t - t0) / c)) + 1
        hi = int(np.floor((lo_t - t0) / c)) + 1
    elif lo_t <= t0 < hi_t:
        lo, hi = 0, n
    else:
        lo, hi = 0, 0
    return max(lo, 0), min(hi, n)


@numba.njit(nogil=True, fastmath=True, cache=True)
def _backproject(sino, trig, out, jobs):  # pragma: no cover - compiled
    """``out[s, z] = Σ_a interp(sino[s, a], u(y, z, a))`` for jobs ``s·thickness + z`` in
    ``[jobs[0], jobs[1])``; ``sino`` ``(k, n_a, n_det)``, ``out`` ``(k, thickness, n_det)``."""
    n_ang = sino.shape[1]
    n_det = sino.shape[2]
    thickness = out.shape[1]
    cd = (n_det - 1) / 2.0
    cz = (thickness - 1) / 2.0
    for job in range(jobs[0], jobs[1]):
        s = job // thickness
        z = job % thickness
        row = out[s, z]
        for y in range(n_det):
            row[y] = 0.0
        for a in range(n_ang):
            c = trig[0, a]
            t0 = detector_u_jit(0.0, z, c, trig[1, a], cd, cz)  # u(y) = t0 + y c
            p = sino[s, a]
            lo_o, hi_o = _y_range(t0, c, -1.0, float(n_det), n_det)
            lo_i, hi_i = _y_range(t0, c, 0.0, n_det - 1.0, n_det)
            lo_i = max(lo_i, lo_o)
            hi_i = min(max(hi_i, lo_i), hi_o)
            for y in range(lo_i, hi_i):  # interior: both bins exist
                t = t0 + y * c
                i0 = int(t)
                w = t - i0
                row[y] += p[i0] + w * (p[i0 + 1] - p[i0])
            for y in range(lo_o, hi_o):  # the partial bins at the detector ends
                if lo_i <= y < hi_i:
                    continue
                t = t0 + y * c
                i0 = int(np.floor(t))
                w = t - i0
                if i0 == -1:
                    row[y] += w * p[0]
                elif i0 == n_det - 1:
                    row[y] += (1.0 - w) * p[i0]
                elif 0 <= i0 < n_det - 1:
                    row[y] += p[i0] + w * (p[i0 + 1] - p[i0])


@numba.njit(nogil=True, fastmath=True, cache=True)
def _forward(vol, trig, out, jobs):  # pragma: no cover - compiled
    """The adjoint of ``_backproject``, for jobs ``s·n_a + a`` in ``[jobs[0], jobs[1])``;
    ``vol`` ``(k, thickness, n_det)``, ``out`` ``(k, n_a, n_det)``."""
    thickness = vol.shape[1]
    ny = vol.shape[2]
    n_ang = out.shape[1]
    n_det = out.shape[2]
    cd = (n_det - 1) / 2.0
    cz = (thickness - 1) / 2.0
    for job in range(jobs[0], jobs[1]):
        s = job // n_ang
        a = job % n_ang
        c = trig[0, a]
        o = out[s, a]
        for d in range(n_det):
            o[d] = 0.0
        for z in range(thickness):
            t0 = detector_u_jit(0.0, z, c, trig[1, a], cd, cz)
            v_row = vol[s, z]
            for y in range(ny):
                v = v_row[y]
                if v == 0.0:
                    continue
                t = t0 + y * c
                i0 = int(np.floor(t))
                w = t - i0
                if 0 <= i0 < n_det:
                    o[i0] += (1.0 - w) * v
                if 0 <= i0 + 1 < n_det:
                    o[i0 + 1] += w * v


def _run(kernel, src, trig, out, n_jobs, threads, work):  # noqa: PLR0917 - private
    run_ranges(lambda _, j0, j1: kernel(src, trig, out, np.array([j0, j1], np.int64)),
               split(n_jobs, threads, work))
    return out


class PixelProjector(Projector):
    """Pixel-driven linear projector pair, matrix-free (``kernel="pixel"``).

    ``threads``: threads per call (default: every available core; ``with_threads(n)``
    gives a view sharing this projector's cached sums).
    """

    backend = "pixel"

    def __init__(self, geometry, n_det=None, thickness=None, *, threads: int | None = None):
        super().__init__(geometry, n_det, thickness, "pixel")
        self.threads = available_cores() if threads is None else max(1, int(threads))
        self._trig = np.ascontiguousarray(self.geometry.trig)


    # -- slice-first kernels --------------------------------------------------------
    def _bp(self, sino3, trig):
        out = np.empty((sino3.shape[0], self.thickness, self.n_det), np.float32)
        return _run(_backproject, np.ascontiguousarray(sino3, dtype=np.float32), trig, out,
                    sino3.shape[0] * self.thickness, self.threads, out.size * trig.shape[1])

    def _fp(self, vol3, trig):
        out = np.empty((vol3.shape[0], trig.shape[1], self.n_det), np.float32)
        return _run(_forward, np.ascontiguousarray(vol3, dtype=np.float32), trig, out,
                    vol3.shape[0] * trig.shape[1], self.threads, vol3.size * trig.shape[1])

    def forward_slices(self, vol3):
        return self._fp(vol3, self._trig)

    def back_slices(self, sino3):
        return self._bp(sino3, self._trig)

    # -- column blocks (the algorithms' layout) --------------------------------------
    def _vol3(self, x):
        x = np.asarray(x, dtype=np.float32)
        return x.T.reshape(x.shape[1], self.thickness, self.n_det)

    def fp_cols(self, x):
        k = x.shape[1]
        return np.ascontiguousarray(self._fp(self._vol3(x), self._trig).reshape(k, -1).T)

    def bp_cols(self, y):
        y = np.asarray(y, dtype=np.float32)
        k = y.shape[1]
        sino3 = y.T.reshape(k, self.n_angles, self.n_det)
        return np.ascontiguousarray(self._bp(sino3, self._trig).reshape(k, -1).T)

    def fp_angle_cols(self, a, x):
        k = x.shape[1]
        trig = np.ascontiguousarray(self._trig[:, a:a + 1])
        return np.ascontiguousarray(self._fp(self._vol3(x), trig).reshape(k, -1).T)

    def bp_angle_cols(self, a, y):
        y = np.asarray(y, dtype=np.float32)
        k = y.shape[1]
        trig = np.ascontiguousarray(self._trig[:, a:a + 1])
        sino3 = y.T.reshape(k, 1, self.n_det)
        return np.ascontiguousarray(self._bp(sino3, trig).reshape(k, -1).T)
