"""Image filters for tilt series (NumPy arrays ``(n, ny, nx)``), as ETSpy's ``filter`` offers.

``median`` and ``sobel`` work per projection (never across projections); ``bpf`` is a
Butterworth band-pass with a Hamming window; ``both`` is median then Sobel. ``taper``
pads each image by that fraction of its size on every side with zeros, as ETSpy does
(the padding gives registration room and damps edge effects in FFTs).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidArgumentError, InvalidDataError, check_method
from .validate import as_float, as_int

FILTER_METHODS = ("median", "sobel", "bpf", "both")


def _sobel(data: np.ndarray) -> np.ndarray:
    out = np.empty_like(data)
    for i, img in enumerate(data):
        out[i] = np.hypot(ndimage.sobel(img, 0), ndimage.sobel(img, 1))
    return out


def bandpass(data: np.ndarray, low: float = 0.05, high: float = 0.1,
             order: float = 1.5) -> np.ndarray:
    """Butterworth band-pass (cut-offs in cycles/pixel) times a 2D Hamming window."""
    _, ny, nx = data.shape
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.fftfreq(nx)[None, :]
    r = np.hypot(fy, fx)
    with np.errstate(divide="ignore"):
        lpf = 1.0 / (1.0 + (r / high) ** (2 * order))
        hpf = 1.0 - 1.0 / (1.0 + (r / low) ** (2 * order))
    window = np.sqrt(np.outer(np.hamming(ny), np.hamming(nx)))
    out = np.empty_like(data)
    for i, img in enumerate(data):
        out[i] = np.fft.ifft2(np.fft.fft2(img) * (lpf * hpf)).real * window
    return out


def filter_stack(data, method: str = "median", size: int = 5, taper: float = 0.1) -> np.ndarray:
    """Filter every projection of ``data`` and optionally pad it.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections (not modified).
    method : {"median", "sobel", "bpf", "both"}
        Median filter, Sobel gradient magnitude, band-pass, or median then Sobel.
    size : int
        Median neighbourhood (pixels).
    taper : float
        Fraction of each image dimension added as zero padding on every side (0 = none).

    Returns
    -------
    numpy.ndarray
        Filtered (and padded) float copy.
    """
    method = check_method("filter method", method, FILTER_METHODS)
    data = np.asarray(data)
    if data.ndim != 3:
        raise InvalidDataError(f"filter needs (n, ny, nx) data; got shape {data.shape}.")
    data = data.astype(np.float32) if data.dtype.kind != "f" else data.copy()
    size = as_int("size", size, minimum=1, maximum=max(data.shape[1:]))
    taper = as_float("taper", taper, minimum=0)
    if taper >= 1:
        raise InvalidArgumentError(f"taper is the fraction of the image size padded on each "
                                   f"side, in [0, 1); got {taper}. Use e.g. taper=0.1, or 0.")
    if method in ("median", "both"):
        data = ndimage.median_filter(data, size=(1, int(size), int(size)))
    if method in ("sobel", "both"):
        data = _sobel(data)
    if method == "bpf":
        data = bandpass(data)
    if taper:
        py, px = (int(taper * s) for s in data.shape[1:])
        data = np.pad(data, ((0, 0), (py, py), (px, px)), mode="constant")
    return data
