"""Fault injection for the quality tests: five bad projections of known kind in a clean
simulated series (blurred, dark, shifted, rotated, blank)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

FAULTS = {"blurred": "blurred", "dark": "dark", "shifted": "drifted",
          "rotated": "outlier residual", "blank": "blank"}


def inject_faults(data, seed=0, *, blur=2.0, dark=0.35, shift=6.0, rotation=3.0):
    """A copy of ``(n, ny, nx)`` data with five faulty projections; returns
    ``(data, {index: expected reason})``. The faulty indices are drawn from the seed,
    away from the ends and from each other."""
    rng = np.random.default_rng(seed)
    data = np.array(data, dtype=np.float32, copy=True)
    n = data.shape[0]
    while True:
        idx = np.sort(rng.choice(np.arange(3, n - 3), 5, replace=False))
        if np.diff(idx).min() >= 4:
            break
    kinds = rng.permutation(list(FAULTS))
    truth = {}
    for i, kind in zip(idx, kinds, strict=True):
        img = data[i]
        if kind == "blurred":
            data[i] = ndimage.gaussian_filter(img, blur)
        elif kind == "dark":
            data[i] = img * dark
        elif kind == "shifted":
            angle = rng.uniform(0, 2 * np.pi)
            data[i] = ndimage.shift(img, (shift * np.sin(angle), shift * np.cos(angle)),
                                    order=3, mode="constant")
        elif kind == "rotated":
            data[i] = ndimage.rotate(img, rotation, reshape=False, order=3, mode="constant")
        else:
            data[i] = np.float32(np.median(img)) + rng.normal(
                0, 1e-3 * float(img.std()) + 1e-6, img.shape).astype(np.float32)
        truth[int(i)] = FAULTS[kind]
    return data, truth
