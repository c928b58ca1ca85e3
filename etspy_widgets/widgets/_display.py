"""Turning arrays into what the front end paints: display-sized uint8 images.

Display work only (reduce to screen size, map to 0..255 between contrast limits);
no processing of the data. Images cross to the browser as ``bytes`` with their
shape, never as JSON lists.
"""

from __future__ import annotations

import math

import numpy as np

#: Largest side of an image sent to the browser (pixels); larger data is reduced.
DISPLAY_SIZE = 512


def reduction_factor(shape, max_size: int = DISPLAY_SIZE) -> int:
    """Integer factor that brings the larger side of ``shape`` to at most ``max_size``."""
    return max(1, math.ceil(max(shape[-2:]) / max_size))


def reduce(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor × factor`` blocks (edges padded by repetition), as float32."""
    image = np.asarray(image, dtype=np.float32)
    if factor <= 1:
        return image
    ny, nx = image.shape
    py, px = (-ny) % factor, (-nx) % factor
    if py or px:
        image = np.pad(image, ((0, py), (0, px)), mode="edge")
    h, w = image.shape[0] // factor, image.shape[1] // factor
    return image.reshape(h, factor, w, factor).mean(axis=(1, 3), dtype=np.float32)


def limits(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Contrast limits at the given percentiles of the finite values (never equal)."""
    data = np.asarray(image, dtype=np.float32)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return 0.0, 1.0
    if finite.size > 65536:  # percentiles of a regular subsample: display only
        finite = finite[:: finite.size // 65536]
    lo, hi = np.percentile(finite, [low, high])
    if not hi > lo:
        lo, hi = float(finite.min()), float(finite.max())
        if not hi > lo:
            hi = lo + 1.0
    return float(lo), float(hi)


def to_uint8(image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``[lo, hi]`` to 0..255 (clipped); NaN shows as 0."""
    data = np.asarray(image, dtype=np.float32)
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    out = np.clip((data - lo) * scale, 0.0, 255.0)
    return np.nan_to_num(out, nan=0.0).astype(np.uint8)


def encode(images: np.ndarray) -> tuple[bytes, list[int]]:
    """``(bytes, shape)`` of a uint8 image or stack of images, C order."""
    arr = np.ascontiguousarray(images, dtype=np.uint8)
    return arr.tobytes(), list(arr.shape)


def decode(payload: bytes, shape) -> np.ndarray:
    """Inverse of ``encode`` (tests and debugging)."""
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)
