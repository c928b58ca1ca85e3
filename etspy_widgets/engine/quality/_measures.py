"""Per-projection intensity and focus measures, and the robust flags built on them.

Every measure is one number per projection; a projection is judged against the trend of
its neighbours (a robust line through its ``window - 1`` nearest neighbours in tilt order,
itself left out: [`neighbour_trend`][]), so a measure that changes smoothly with tilt
(the mean of a thick slab, the sharpness) is not flagged, while one projection that
departs from its neighbours is. The spread is the median absolute deviation (MAD) of the
whole series' departures, scaled to a standard deviation.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from ..errors import InvalidDataError

# the reasons, in the order they take precedence when several apply
REASONS = ("blank", "dark", "intensity jump", "blurred", "drifted", "outlier residual")

DEFAULT_THRESHOLDS = {
    "k": 6.0,            # robust z-score (MAD units) beyond which a departure is an outlier
    "window": 7,         # the trend is a line through the window - 1 nearest neighbours
    "blank_ncc": 0.3,    # neighbour correlation below which a projection holds no content
    "blank_std": 0.05,   # or contrast (std) below this fraction of the series' median
    "dark": 0.2,         # relative drop of the mean below the trend (at least)
    "jump": 0.2,         # relative rise of the mean above the trend (at least)
    "blurred": 0.25,     # relative drop of the sharpness below the trend (at least)
    "drift_px": 1.5,     # shift against the reprojection (pixels, at least)
    "residual": 0.3,     # relative rise of the residual above the trend (at least)
    "rotation": 0.5,     # in-plane rotation against the reprojection (degrees, at least)
}


def check_thresholds(thresholds) -> dict:
    """The default thresholds updated with ``thresholds`` (unknown names are refused)."""
    out = dict(DEFAULT_THRESHOLDS)
    for key, value in dict(thresholds or {}).items():
        if key not in out:
            raise InvalidDataError(
                f"Unknown threshold {key!r}; the thresholds are {sorted(out)}."
            )
        out[key] = float(value)
    return out


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median over ``window`` neighbours (edges reflected), the trend of a measure."""
    window = max(3, int(window) | 1)
    return ndimage.median_filter(np.asarray(values, float), size=window, mode="reflect")


def neighbour_trend(values: np.ndarray, window: int) -> np.ndarray:
    """The trend each value is judged against: a robust line through its ``window - 1``
    nearest neighbours in order, evaluated at the value, the value itself left out (NaN
    ignored).

    The line is Siegel's repeated median (each neighbour's median slope to the others,
    the median of those, then the median intercept): a third of the neighbours may be bad
    (two faulty projections side by side) without moving it. Inside the series the
    neighbours lie on both sides; at an end they are all on one side, and the line
    carries the measure's slope there (the residual and the mean change fastest at high
    tilt). A reflected running median instead counted the value at (or next to) the end
    twice among few others: a faulty projection there, where a live series' newest
    projection always is, pulled its own trend towards it. With fewer than four
    neighbours the line is flat (their median).
    """
    v = np.asarray(values, float)
    n = v.size
    m = min(max(2, (int(window) | 1) - 1), n - 1)  # neighbours per value
    if m < 1:
        return v.copy()
    i = np.arange(n)
    start = np.clip(i - m // 2, 0, n - (m + 1))
    block = start[:, None] + np.arange(m + 1)[None, :]  # m + 1 consecutive, i among them
    j = np.sort(np.where(block == i[:, None], -1, block), axis=1)[:, 1:]  # (n, m)
    y = v[j]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: NaN
        if m >= 4:
            dy = y[:, None, :] - y[:, :, None]
            dj = (j[:, None, :] - j[:, :, None]).astype(float)
            dj[dj == 0] = np.nan  # no slope of a neighbour to itself
            slope = np.nanmedian(np.nanmedian(dy / dj, axis=2), axis=1)
            slope = np.where(np.isfinite(slope), slope, 0.0)
        else:
            slope = np.zeros(n)
        return np.nanmedian(y - slope[:, None] * (j - i[:, None]), axis=1)


def robust_sigma(values: np.ndarray) -> float:
    """1.4826 × the median absolute deviation: a standard deviation that ignores outliers."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def _ncc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of image pairs ``(n, ...)``, one value per pair."""
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1), 0.0)


def sharpness(data: np.ndarray) -> np.ndarray:
    """Focus of each projection, insensitive to white noise and to the intensity scale.

    The power spectrum (Hann window) in a middle band (0.12–0.3 cycles/pixel) over that
    in a low band (0.02–0.08), both less the noise floor (the mean power at 0.4–0.5
    cycles/pixel, where white noise is all there is): a blur takes the middle band away.
    """
    n, ny, nx = data.shape
    win = np.outer(np.hanning(ny), np.hanning(nx)).astype(np.float32)
    fy, fx = np.meshgrid(np.fft.fftfreq(ny), np.fft.rfftfreq(nx), indexing="ij")
    r = np.hypot(fy, fx)
    bands = [(r >= 0.02) & (r < 0.08), (r >= 0.12) & (r < 0.3), (r >= 0.4) & (r <= 0.5)]
    from scipy import fft as sfft

    out = np.empty(n)
    for i0 in range(0, n, 16):
        block = data[i0:i0 + 16]
        block = (block - block.mean(axis=(1, 2), keepdims=True)) * win
        spec = sfft.rfft2(block.astype(np.float32, copy=False), workers=-1)
        power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
        low, mid, noise = (power[:, b].mean(1) for b in bands)
        out[i0:i0 + 16] = np.clip(mid - noise, 0, None) / np.maximum(low - noise, 1e-30)
    return out


def projection_measures(data: np.ndarray) -> dict:
    """Intensity and focus measures of every projection of ``(n, ny, nx)`` data.

    Returns a dict of ``(n,)`` arrays: ``mean``, ``std``, ``dark_fraction`` (pixels below
    5 % of the series' intensity range above its 1st percentile), ``sharpness``
    ([`sharpness`][]: falls when a projection is blurred),
    ``neighbour_ncc`` (correlation with the mean of the two neighbouring projections) and
    ``neighbour_change`` (RMS difference from that mean, relative to the projection's RMS).
    """
    data = np.asarray(data, dtype=np.float32)
    n = data.shape[0]
    flat = data.reshape(n, -1)
    mean = flat.mean(1, dtype=np.float64)
    std = flat.std(1, dtype=np.float64)
    sample = flat[:, :: max(1, flat.shape[1] // 4096)]
    lo, hi = np.percentile(sample, [1, 99.5])
    dark = (flat < lo + 0.05 * (hi - lo)).mean(1)
    sharp = sharpness(data)
    if n >= 3:
        prev = np.concatenate([data[1:2], data[:-1]])
        nxt = np.concatenate([data[1:], data[-2:-1]])
        neigh = 0.5 * (prev + nxt)
    else:
        neigh = data[::-1].copy()
    ncc = _ncc(data, neigh)
    diff = (data - neigh).reshape(n, -1)
    rms = np.sqrt((flat.astype(np.float64) ** 2).mean(1))
    change = np.sqrt((diff.astype(np.float64) ** 2).mean(1)) / np.maximum(rms, 1e-30)
    return {"mean": mean, "std": std, "dark_fraction": dark, "sharpness": sharp,
            "neighbour_ncc": ncc, "neighbour_change": change}


def _departure(values, window):
    """Relative departure of each value from its neighbours' trend, and its robust spread."""
    values = np.asarray(values, float)
    trend = neighbour_trend(values, window)
    rel = values / np.where(np.abs(trend) > 0, trend, 1.0) - 1.0
    return rel, robust_sigma(rel)


def flag_projections(measures: dict, consistency: dict | None, thresholds=None):
    """Flag bad projections. Returns ``(reasons, all_reasons)``.

    ``reasons[i]`` is ``""`` or the first of ``REASONS`` that applies to projection ``i``;
    ``all_reasons[i]`` lists every one that applies. ``consistency`` (optional) holds the
    ``residual`` and the ``dy``, ``dx`` shifts against the reprojection.
    """
    t = check_thresholds(thresholds)
    k, win = t["k"], t["window"]
    n = len(measures["mean"])
    hits = [[] for _ in range(n)]

    def mark(mask, reason):
        for i in np.flatnonzero(mask):
            hits[i].append(reason)

    med_std = float(np.median(measures["std"]))
    blank = (measures["neighbour_ncc"] < t["blank_ncc"]) | \
        (measures["std"] < t["blank_std"] * max(med_std, 1e-30))
    mark(blank, "blank")
    rel, sig = _departure(measures["mean"], win)
    mark(rel < -max(k * sig, t["dark"]), "dark")
    mark(rel > max(k * sig, t["jump"]), "intensity jump")
    rel, sig = _departure(measures["sharpness"], win)
    mark(rel < -max(k * sig, t["blurred"]), "blurred")
    if consistency is not None:
        # shifts and rotations against the reprojection, relative to the neighbours' trend
        # (where the reprojection is poor, e.g. at high tilt, they drift together)
        dy = consistency["dy"] - neighbour_trend(consistency["dy"], win)
        dx = consistency["dx"] - neighbour_trend(consistency["dx"], win)
        d = np.hypot(dy, dx)
        ok = ~blank
        sig = robust_sigma(d[ok]) if ok.any() else 0.0
        mark(d > max(np.median(d[ok]) + k * sig if ok.any() else 0.0, t["drift_px"]),
             "drifted")
        rel, sig = _departure(consistency["residual"], win)
        mark(rel > max(k * sig, t["residual"]), "outlier residual")
        if "rotation" in consistency:  # a turned projection: its residual is the pattern
            rot = np.asarray(consistency["rotation"], float)
            dev = np.abs(rot - neighbour_trend(rot, win))
            sig = robust_sigma(dev[ok]) if ok.any() else 0.0
            mark(dev > max(np.median(dev[ok]) + k * sig if ok.any() else 0.0,
                           t["rotation"]), "outlier residual")
    order = {r: j for j, r in enumerate(REASONS)}
    all_reasons = [sorted(set(h), key=order.get) for h in hits]
    return [h[0] if h else "" for h in all_reasons], all_reasons
