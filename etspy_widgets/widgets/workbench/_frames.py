"""What the front end paints: display-sized uint8 frames, the zoom window, the overlay.

Display work only (reduce to screen size, map to 0..255 between contrast limits); no
processing of the data. Images cross to the browser as ``bytes`` with their shape,
never as JSON lists: one image ``(h, w)`` or several sharing one contrast
``(k, h, w)`` (the three slices), through the one function [`frame`][].
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.transform import rotation_source_coords

#: Largest side of an image sent to the browser (pixels); larger data is reduced.
DISPLAY_SIZE = 512


def reduction_factor(shape, max_size: int = DISPLAY_SIZE) -> int:
    """Integer factor that brings the larger side of ``shape`` to at most ``max_size``."""
    return max(1, math.ceil(max(shape[-2:]) / max_size))


def reduce(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor × factor`` blocks over the last two axes (edges padded by
    repetition), as float32."""
    image = np.asarray(image, dtype=np.float32)
    if factor <= 1:
        return image
    ny, nx = image.shape[-2:]
    py, px = (-ny) % factor, (-nx) % factor
    if py or px:
        pad = [(0, 0)] * (image.ndim - 2) + [(0, py), (0, px)]
        image = np.pad(image, pad, mode="edge")
    # the sum of factor² strided views: one pass over the data, no 4-D temporary
    out = np.zeros((*image.shape[:-2], image.shape[-2] // factor, image.shape[-1] // factor),
                   np.float32)
    for dy in range(factor):
        for dx in range(factor):
            out += image[..., dy::factor, dx::factor]
    out *= np.float32(1.0 / (factor * factor))
    return out


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


def robust_limits(image: np.ndarray, low: float = 0.5) -> tuple[float, float]:
    """Limits that show the object's structure, not the background's.

    Top: the brightest value held by a whole 2 × 2 block (single hot pixels do not count).
    Percentile limits put the top where most pixels are: on a catalyst the support fills
    the top percent, and its particles (a few hundred pixels of 360 000) saturate with it.
    Bottom: the background's level, the most frequent value, unless nine tenths of the
    pixels are darker than it (then it is the object: the ``low`` percentile); a
    reconstruction's background and its negative streaks then stay dark.
    """
    data = np.asarray(image, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.any():
        return 0.0, 1.0
    whole = bool(finite.all())
    values = data.ravel() if whole else data[finite]
    if values.size > 65536:  # percentiles of a regular subsample: display only
        values = values[:: values.size // 65536]
    p_lo, p_hi, top = (float(v) for v in np.percentile(values, [low, 100.0 - low, 100.0]))
    lo = p_lo if top > p_lo else float(values.min())  # ``limits(data, low, 100)``'s bottom
    if p_hi > p_lo:
        counts, edges = np.histogram(values, bins=256, range=(p_lo, p_hi))
        k = int(np.argmax(counts))
        mode = 0.5 * (edges[k] + edges[k + 1])
        if np.mean(values < mode) <= 0.9:
            lo = max(lo, float(mode))
    hi = _block_top(data if whole else np.where(finite, data, -np.inf))
    if not (np.isfinite(hi) and hi > lo):
        return limits(data, 0.0, 100.0)
    return float(lo), hi


def _block_top(data: np.ndarray) -> float:
    """The largest value held by a whole 2 × 2 block of the last two axes: the maximum of
    ``scipy.ndimage.minimum_filter(data, size=(…, 2, 2), mode="nearest")`` (whose window is
    the pixel and its upper-left neighbours, the edge repeated), in four views of the array
    instead of a filter pass (¼ of the time)."""
    pad = [(0, 0)] * (data.ndim - 2) + [(1, 0), (1, 0)]
    p = np.pad(data, pad, mode="edge")
    core = np.minimum(np.minimum(p[..., 1:, 1:], p[..., :-1, 1:]),
                      np.minimum(p[..., 1:, :-1], p[..., :-1, :-1]))
    return float(core.max())


def histogram(image: np.ndarray, bins: int = 64) -> dict:
    """``{"counts": [...], "range": [min, max]}`` of the finite values (the contrast pane)."""
    data = np.asarray(image, dtype=np.float32)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return {"counts": [0] * bins, "range": [0.0, 1.0]}
    lo, hi = float(data.min()), float(data.max())
    if not hi > lo:
        hi = lo + 1.0
    counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
    return {"counts": counts.tolist(), "range": [lo, hi]}


def to_uint8(image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``[lo, hi]`` to 0..255 (clipped); NaN shows as 0."""
    data = np.asarray(image, dtype=np.float32)
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    out = np.clip((data - lo) * scale, 0.0, 255.0)
    return np.nan_to_num(out, nan=0.0).astype(np.uint8)


def frame(images: np.ndarray, contrast=None, extra: dict | None = None,
          max_size: int = DISPLAY_SIZE, *, values=None, with_histogram: bool = False) -> dict:
    """A display frame: uint8 ``bytes`` + ``shape``, reduced to ``max_size``.

    ``images`` is one image ``(h, w)`` or several ``(k, h, w)`` that share one contrast:
    ``values`` (data limits ``[lo, hi]``) when given, else the percentiles ``contrast``
    ``[low, high]``, else [`robust_limits`][], computed over all the images together.
    ``with_histogram`` adds the [`histogram`][] of the reduced images.
    """
    images = np.asarray(images)
    factor = reduction_factor(images.shape[-2:], max_size)
    small = reduce(images, factor)
    if values is not None and len(values) == 2:
        lo, hi = float(values[0]), float(values[1])
    elif contrast is not None:
        lo, hi = limits(small, *contrast)
    else:
        lo, hi = robust_limits(small)
    pixels = np.ascontiguousarray(to_uint8(small, lo, hi))
    out = {"data": pixels.tobytes(), "shape": list(pixels.shape), "factor": factor,
           "limits": [lo, hi]}
    if with_histogram:
        out["histogram"] = histogram(small)
    out.update(extra or {})
    return out


def view_window(shape, view) -> tuple[slice, slice, list]:
    """Clamp a zoom window ``[x0, y0, x1, y1]`` (data pixels) to the image."""
    ny, nx = shape
    if not view or len(view) != 4:
        return slice(0, ny), slice(0, nx), [0, 0, nx, ny]
    x0, y0, x1, y1 = (round(float(v)) for v in view)
    x0, x1 = sorted((max(0, min(nx - 1, x0)), max(1, min(nx, x1))))
    y0, y1 = sorted((max(0, min(ny - 1, y0)), max(1, min(ny, y1))))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    return slice(y0, y1), slice(x0, x1), [x0, y0, x1, y1]


def overlay(shape, tilt_shift: float, tilt_rotation: float, slices) -> dict:
    """Where the trial tilt axis and the three slice columns lie on the *untransformed*
    projection of ``shape`` ``(ny, nx)``: line end points ``[[x0, y0], [x1, y1]]`` in
    data pixels."""
    ny, nx = (int(v) for v in shape[-2:])
    cy = (ny - 1) / 2.0
    rows, cols = np.array([cy, cy]), np.array([0.0, nx - 1.0])
    ri, ci = rotation_source_coords((ny, nx), tilt_rotation, tilt_shift, 0.0, rows, cols)
    axis = [[float(ci[0]), float(ri[0])], [float(ci[1]), float(ri[1])]]
    lines = []
    for s in slices:
        ri, ci = rotation_source_coords((ny, nx), tilt_rotation, tilt_shift, 0.0,
                                        np.array([0.0, ny - 1.0]), np.array([s, s], float))
        lines.append([[float(ci[0]), float(ri[0])], [float(ci[1]), float(ri[1])]])
    return {"axis": axis, "slices": lines, "shape": [ny, nx]}
