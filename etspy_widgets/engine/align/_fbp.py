"""A small batched parallel-beam projector pair and FBP/SIRT for alignment work.

Geometry as ASTRA's 2D ``parallel`` with detector spacing 1, ``n_det`` bins and a
``(thickness, n_det)`` volume (as ETSpy uses it): a volume pixel at row ``z``, column ``y``
projects at tilt ``θ`` to detector coordinate
``t = (y - cy) cos θ - (z - cz) sin θ + cd`` with ``cy = cd = (n_det - 1) / 2`` and
``cz = (thickness - 1) / 2``; the back-projector interpolates linearly at ``t`` and the
forward projector is its exact adjoint. Sinograms are ``(n_slices, n_tilts, n_det)``
(C-contiguous), volumes ``(n_slices, thickness, n_det)``.

This is what the alignment code needs every slider move (three slices in milliseconds);
the reconstruction engine (``etspy_widgets.engine.recon``) is the general one.
"""

from __future__ import annotations

import numpy as np

try:
    import numba

    _njit = numba.njit(parallel=True, fastmath=True, cache=True)
    _njit_serial = numba.njit(fastmath=True, cache=True)
    _prange = numba.prange
except ImportError:  # pragma: no cover - numba is a dependency, but stay importable
    numba = None

    def _njit(f):
        return f

    _njit_serial = _njit

    _prange = range


@_njit_serial
def _y_range(t0, c, lo_t, hi_t, n):
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


@_njit
def _backproject(sino, cos, sin, thickness, out):
    n_sl, n_ang, n_det = sino.shape
    cd = (n_det - 1) / 2.0
    cz = (thickness - 1) / 2.0
    for job in _prange(n_sl * thickness):
        s = job // thickness
        z = job % thickness
        zc = z - cz
        row = out[s, z]
        for y in range(n_det):
            row[y] = 0.0
        for a in range(n_ang):
            c = cos[a]
            t0 = -cd * c - zc * sin[a] + cd  # t(y) = t0 + y c
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
    return out


@_njit
def _forward(vol, cos, sin, n_det, out):
    n_sl, thickness, ny = vol.shape
    n_ang = cos.shape[0]
    cd = (n_det - 1) / 2.0
    cz = (thickness - 1) / 2.0
    for job in _prange(n_sl * n_ang):
        s = job // n_ang
        a = job % n_ang
        for d in range(n_det):
            out[s, a, d] = 0.0
        for z in range(thickness):
            zc = z - cz
            for y in range(ny):
                v = vol[s, z, y]
                if v == 0.0:
                    continue
                t = (y - cd) * cos[a] - zc * sin[a] + cd
                i0 = int(np.floor(t))
                w = t - i0
                if 0 <= i0 < n_det:
                    out[s, a, i0] += (1.0 - w) * v
                if 0 <= i0 + 1 < n_det:
                    out[s, a, i0 + 1] += w * v
    return out


def _trig(tilts):
    th = np.deg2rad(np.asarray(tilts, dtype=np.float64))
    return np.cos(th).astype(np.float32), np.sin(th).astype(np.float32)


def backproject(sino: np.ndarray, tilts, thickness: int) -> np.ndarray:
    """Back-project ``(n_slices, n_tilts, n_det)`` sinograms to ``(n_slices, thickness, n_det)``."""
    sino = np.ascontiguousarray(sino, dtype=np.float32)
    cos, sin = _trig(tilts)
    out = np.empty((sino.shape[0], int(thickness), sino.shape[2]), dtype=np.float32)
    return _backproject(sino, cos, sin, int(thickness), out)


def forward_project(vol: np.ndarray, tilts, n_det: int | None = None) -> np.ndarray:
    """Project ``(n_slices, thickness, ny)`` volumes to ``(n_slices, n_tilts, n_det)``."""
    vol = np.ascontiguousarray(vol, dtype=np.float32)
    cos, sin = _trig(tilts)
    n_det = vol.shape[2] if n_det is None else int(n_det)
    out = np.empty((vol.shape[0], cos.shape[0], n_det), dtype=np.float32)
    return _forward(vol, cos, sin, n_det, out)


_RAMP_CACHE: dict = {}


def ramp_filter(sino: np.ndarray) -> np.ndarray:
    """Ram-Lak filter along the detector axis (last), with ASTRA's spatial discretisation."""
    n_det = sino.shape[-1]
    key = n_det
    if key not in _RAMP_CACHE:
        size = int(2 ** np.ceil(np.log2(2 * n_det)))
        k = np.fft.fftfreq(size, 1.0 / size).astype(np.int64)
        h = np.zeros(size)
        h[0] = 0.25
        odd = k % 2 == 1
        h[odd] = -1.0 / (np.pi * k[odd]) ** 2
        _RAMP_CACHE[key] = (size, np.fft.rfft(h).real.astype(np.float32) * 2.0)
    size, filt = _RAMP_CACHE[key]
    spec = np.fft.rfft(sino, n=size, axis=-1)
    spec *= filt
    return np.fft.irfft(spec, n=size, axis=-1)[..., :n_det].astype(np.float32)


def fbp(sino: np.ndarray, tilts, thickness: int) -> np.ndarray:
    """Filtered back-projection of ``(n_slices, n_tilts, n_det)`` sinograms."""
    tilts = np.asarray(tilts, dtype=np.float64)
    filtered = ramp_filter(sino)
    vol = backproject(filtered, tilts, thickness)
    vol *= np.float32(np.pi / (2 * len(tilts)))
    return vol


def sirt(sino: np.ndarray, tilts, thickness: int, iterations: int = 50, *,
         constrain: bool = True, thresh: float = 0.0, x0=None) -> np.ndarray:
    """SIRT with this projector pair (ASTRA's update and weights)."""
    sino = np.ascontiguousarray(sino, dtype=np.float32)
    n_sl, _, n_det = sino.shape
    ones_v = np.ones((1, int(thickness), n_det), np.float32)
    row = forward_project(ones_v, tilts, n_det)[0]
    col = backproject(np.ones((1, len(tilts), n_det), np.float32), tilts, thickness)[0]
    rinv = np.where(row > 1e-6, 1.0 / np.maximum(row, 1e-6), 0).astype(np.float32)
    cinv = np.where(col > 1e-6, 1.0 / np.maximum(col, 1e-6), 0).astype(np.float32)
    x = (np.zeros((n_sl, int(thickness), n_det), np.float32) if x0 is None
         else np.array(x0, dtype=np.float32))
    for _ in range(int(iterations)):
        resid = (sino - forward_project(x, tilts, n_det)) * rinv
        x += backproject(resid, tilts, thickness) * cinv
        if constrain:
            np.maximum(x, thresh, out=x)
    return x
