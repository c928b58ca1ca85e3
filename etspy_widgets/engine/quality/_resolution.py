"""Resolution from the even/odd tilt split: two reconstructions and their Fourier ring
correlation (FRC) over a band of slices.

The even-indexed and the odd-indexed projections are reconstructed separately (FBP with
the matrix-free pixel back projector, at full resolution), and the FRC of the two
volumes is accumulated over the slices (rings in each ``(thickness, ny)`` slice plane).
The resolution is the period (in pixels, or in the axes' units) where the FRC first drops
below the ½-bit threshold (van Heel & Schatz 2005) or below 0.143.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDataError, check_method
from ..recon import reconstruct_slices

THRESHOLDS = ("half-bit", "0.143")


def resolution_threshold(n_pixels, kind: str = "half-bit") -> np.ndarray:
    """The FRC threshold per ring holding ``n_pixels`` Fourier pixels."""
    kind = check_method("FRC threshold", kind, THRESHOLDS)
    n = np.maximum(np.asarray(n_pixels, float), 1.0)
    if kind == "0.143":
        return np.full(n.shape, 0.143)
    r = 1.0 / np.sqrt(n)
    return (0.2071 + 1.9102 * r) / (1.2071 + 0.9102 * r)


def _window(shape) -> np.ndarray:
    """A separable Tukey-like window (flat middle, cosine edges over 1/8 of each side)."""
    out = []
    for size in shape:
        w = np.ones(size)
        m = max(1, size // 8)
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
        w[:m], w[-m:] = ramp, ramp[::-1]
        out.append(w)
    return np.outer(*out)


def frc_curve(a: np.ndarray, b: np.ndarray, kind: str = "half-bit"):
    """FRC of two ``(k, h, w)`` stacks of slices, accumulated over the slices.

    Returns ``(frequency, frc, threshold)``; frequency in cycles per pixel (0..0.5).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise InvalidDataError(f"frc_curve needs two (k, h, w) stacks of one shape; got "
                               f"{a.shape} and {b.shape}.")
    k, h, w = a.shape
    win = _window((h, w))
    from scipy import fft as sfft

    fa = sfft.fft2((a - a.mean(axis=(1, 2), keepdims=True)) * win, workers=-1)
    fb = sfft.fft2((b - b.mean(axis=(1, 2), keepdims=True)) * win, workers=-1)
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    radius = np.hypot(fy, fx)
    step = 1.0 / max(h, w)
    ring = np.round(radius / step).astype(int)
    nbins = int(0.5 / step) + 1
    ok = ring < nbins
    idx = ring[ok]
    num = np.bincount(idx, (fa * fb.conj()).real.sum(0)[ok], nbins)
    da = np.bincount(idx, (np.abs(fa) ** 2).sum(0)[ok], nbins)
    db = np.bincount(idx, (np.abs(fb) ** 2).sum(0)[ok], nbins)
    count = np.bincount(idx, minlength=nbins) * k
    frc = num / np.sqrt(np.maximum(da * db, 1e-300))
    return np.arange(nbins) * step, frc, resolution_threshold(count, kind)


def crossing(freq, frc, threshold) -> float:
    """The first frequency (after the lowest rings) where ``frc`` drops below
    ``threshold``, linearly interpolated; 0.5 (Nyquist) when it never does."""
    below = np.flatnonzero((frc < threshold) & (np.arange(len(freq)) >= 2))
    if below.size == 0:
        return 0.5
    j = int(below[0])
    d0, d1 = frc[j - 1] - threshold[j - 1], frc[j] - threshold[j]
    t = d0 / (d0 - d1) if d0 != d1 else 0.0
    return float(freq[j - 1] + t * (freq[j] - freq[j - 1]))


def even_odd_frc(data, tilts, *, slices=None, n_slices: int = 8, thickness=None,
                 kind: str = "half-bit", pixel_size: float = 1.0) -> dict:
    """Resolution of a tilt series from its even/odd split.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` aligned projections.
    tilts : array-like
        Degrees.
    slices : array-like of int, optional
        Columns (slices) to reconstruct; default ``n_slices`` around the middle of the
        object (the columns holding the most mass).
    thickness : int, optional
        Height of the slices (default ``ny``).
    kind : {"half-bit", "0.143"}
        Threshold.
    pixel_size : float
        Size of a pixel in the axes' units (the resolution is returned in them too).

    Returns
    -------
    dict
        ``resolution`` (period at the crossing, ``pixel_size`` units), ``resolution_px``,
        ``frequency`` (cycles per pixel), ``frc``, ``threshold``, ``slices``.
    """
    data = np.asarray(data, dtype=np.float32)
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    n, _, nx = data.shape
    if n < 6:
        raise InvalidDataError(f"The even/odd split needs at least 6 projections; got {n}.")
    if slices is None:
        mass = data.sum(axis=(0, 1))
        centre = int(np.argmax(np.convolve(mass, np.ones(n_slices), "same")))
        lo = min(max(0, centre - n_slices // 2), max(0, nx - n_slices))
        slices = np.arange(lo, min(nx, lo + n_slices))
    slices = np.asarray(slices, int)
    order = np.argsort(tilts)
    halves = (order[0::2], order[1::2])
    recs = [reconstruct_slices(data[h][:, :, slices], tilts[h], "FBP", thickness=thickness,
                               kernel="pixel", ncores=2) for h in halves]
    freq, frc, thr = frc_curve(recs[0], recs[1], kind)
    f = crossing(freq, frc, thr)
    res_px = 1.0 / f
    return {"resolution": res_px * float(pixel_size), "resolution_px": res_px,
            "frequency": freq, "frc": frc, "threshold": thr, "slices": slices}
