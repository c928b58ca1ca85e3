"""FBP filters, computed as ASTRA computes them, applied to many sinograms at once.

The ramp is the Fourier transform of the band-limited spatial ramp kernel
(``h[0] = 1/4``, ``h[n] = -1/(π n)²`` for odd ``n``, 0 for even ``n``) on a
detector zero-padded to the next power of two ≥ ``2 n_det``; each named window
multiplies it, as in ASTRA's ``Filters.cpp``, so an FBP on our projectors equals
ASTRA's CPU FBP on the same kernel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sfft

from ..errors import check_method

#: Filter names accepted by ``sino_filter`` (ASTRA's names, as ETSpy passes them).
FILTERS = (
    "ram-lak", "shepp-logan", "cosine", "hamming", "hann", "tukey", "lanczos",
    "triangular", "gaussian", "barlett-hann", "blackman", "nuttall", "blackman-harris",
    "blackman-nuttall", "flat-top", "kaiser", "parzen", "none",
)


def padded_size(n_det: int) -> int:
    """FFT length used for ``n_det`` detector pixels: next power of two ≥ ``2 n_det``."""
    size = 1
    while size < 2 * n_det:
        size *= 2
    return size


def _window(name: str, n: int, w: np.ndarray, d: float, param: float | None) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)
    nm1 = n - 1.0
    if name in ("ram-lak", "none"):
        return np.ones(n)
    if name == "shepp-logan":
        arg = w / (2 * d)
        out = np.ones(n)
        out[1:] = np.sin(arg[1:]) / arg[1:]
        return out
    if name == "cosine":
        return np.cos(w / (2 * d))
    if name == "hamming":
        return 0.54 + 0.46 * np.cos(w / d)
    if name == "hann":
        return (1 + np.cos(w / d)) / 2
    if name == "tukey":
        alpha = 0.5 if param is None else param
        half = n / 2.0
        start, end = half - alpha * half, half + alpha * half
        out = 0.5 * (1 + np.cos(np.pi * (i - alpha * half) / ((1 - alpha) * half)))
        out[(start <= i) & (i <= end)] = 1.0
        return out
    if name == "lanczos":
        x = np.pi * (2 * i / nm1 - 1)
        return np.where(np.abs(x) > 1e-3, np.sin(x) / np.where(x == 0, 1, x), 1.0)
    if name == "triangular":
        return 2 / nm1 * (nm1 / 2 - np.abs(i - nm1 / 2))
    if name == "gaussian":
        sigma = 0.4 if param is None else param
        q = nm1 / 2
        return np.exp(-0.5 * ((i - q) / (sigma * q)) ** 2)
    if name == "barlett-hann":
        return 0.62 - 0.48 * np.abs(i / nm1 - 0.5) - 0.38 * np.cos(2 * np.pi * i / nm1)
    if name == "blackman":
        alpha = 0.16 if param is None else param
        return ((1 - alpha) / 2 - 0.5 * np.cos(np.pi * i / nm1)
                + alpha / 2 * np.cos(2 * np.pi * i / nm1))
    coeffs = {
        "nuttall": (0.355768, 0.487396, 0.144232, 0.012604),
        "blackman-harris": (0.35875, 0.48829, 0.14128, 0.01168),
        "blackman-nuttall": (0.3635819, 0.4891775, 0.1365995, 0.0106411),
    }
    if name in coeffs:
        a0, a1, a2, a3 = coeffs[name]
        b = np.pi * i / nm1
        return a0 - a1 * np.cos(2 * b) + a2 * np.cos(4 * b) - a3 * np.cos(6 * b)
    if name == "flat-top":
        b = np.pi * i / nm1
        return (1 - 1.93 * np.cos(2 * b) + 1.29 * np.cos(4 * b) - 0.388 * np.cos(6 * b)
                + 0.032 * np.cos(8 * b))
    if name == "kaiser":
        from scipy.special import j0

        alpha = 3.0 if param is None else param
        sq = np.clip(1 - (2 * i / nm1 - 1) ** 2, 0, None)
        return j0(np.pi * alpha * np.sqrt(sq)) / j0(np.pi * alpha)
    if name == "parzen":
        q = i / nm1
        return np.where(q <= 0.5, 1 - 6 * q * q * (1 - q), 2 * (1 - q) ** 3)
    raise AssertionError(name)  # pragma: no cover - names checked before


@lru_cache(maxsize=64)
def filter_response(n_det: int, name: str = "shepp-logan", d: float = 1.0,
                    param: float | None = None) -> np.ndarray:
    """The filter in Fourier space (``rfft`` bins of the padded detector), float64.

    Parameters
    ----------
    n_det : int
        Detector pixels.
    name : str
        One of [`FILTERS`][] (case-insensitive).
    d : float
        Cut-off as a fraction of Nyquist (ASTRA's ``FilterD``), default 1.
    param : float, optional
        The window parameter of tukey, gaussian, blackman and kaiser (ASTRA's defaults).
    """
    name = check_method("FBP filter", name, FILTERS)
    size = padded_size(n_det)
    nf = size // 2 + 1
    if name == "none":
        return np.ones(nf)
    idx = np.arange(size)
    j = np.where(2 * idx > size, size - idx, idx).astype(np.float64)
    h = np.zeros(size)
    odd = (idx % 2) == 1
    h[odd] = -1.0 / (np.pi * j[odd]) ** 2
    h[0] = 0.25
    ramp = 2.0 * np.real(np.fft.fft(h))[:nf]
    w = 2 * np.pi * np.arange(nf) / size
    filt = ramp.copy()
    win = _window(name, nf, w, d, param)
    filt[1:] *= win[1:]
    filt[w > np.pi * d] = 0.0
    return filt


def filter_sinograms(sino: np.ndarray, n_det: int, name: str = "shepp-logan",
                     axis: int = -1, workers: int = 1) -> np.ndarray:
    """Filter sinograms along the detector axis ``axis`` (float32 result, same shape)."""
    filt = filter_response(n_det, name)
    size = padded_size(n_det)
    shape = [1] * sino.ndim
    shape[axis] = filt.size
    spec = sfft.rfft(np.asarray(sino, dtype=np.float32), n=size, axis=axis, workers=workers)
    spec *= filt.reshape(shape).astype(np.float32)
    out = sfft.irfft(spec, n=size, axis=axis, workers=workers)
    return np.ascontiguousarray(np.take(out, np.arange(n_det), axis=axis), dtype=np.float32)
