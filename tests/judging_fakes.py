"""Stand-ins for a quality report and a tilt-axis scan, built from real per-projection
measurements of a series (normalised cross-correlation with the neighbours, the engine's
phase-correlation shifts, slice sharpness over trial rotations), in their contract's shape.
Used by ``tests/widgets/workbench/test_workbench_panels.py`` and the browser's judging test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etspy_widgets.engine.align import SliceSampler, compute_shifts, reconstruct_sinograms


class NeighbourReport:
    """Per-projection quality from the data: the better NCC with either neighbour,
    residual 1 − NCC, PC shifts; flagged when the residual is far above the median."""

    def __init__(self, stack):
        data = np.asarray(stack.data, np.float64)
        n = data.shape[0]
        flat = data.reshape(n, -1)
        flat = (flat - flat.mean(1, keepdims=True)) / (flat.std(1, keepdims=True) + 1e-12)
        ncc = np.empty(n)
        for k in range(n):
            ncc[k] = max(float((flat[k] * flat[j]).mean()) for j in (k - 1, k + 1)
                         if 0 <= j < n)
        residual = 1.0 - ncc
        shifts = compute_shifts(data, stack.tilt_values, "PC")
        med = np.median(residual)
        mad = np.median(np.abs(residual - med)) + 1e-12
        flag = np.where((residual > med + 8 * mad) & (residual > 0.1), "high residual", "")
        self.table = pd.DataFrame({"tilt": stack.tilt_values, "residual": residual, "ncc": ncc,
                                   "dy": shifts[:, 0], "dx": shifts[:, 1], "flag": flag})
        self.flagged = [int(i) for i in np.flatnonzero(flag != "")]


class SharpnessScan:
    """Tilt-axis rotations tried, scored by the variance of three FBP slices."""

    def __init__(self, stack, rotations):
        data = np.asarray(stack.data, np.float32)
        sampler = SliceSampler(data)
        self.rotations = np.asarray(rotations, float)
        self.scores = np.array([reconstruct_sinograms(sampler.sinograms(0.0, r),
                                                      stack.tilt_values).var()
                                for r in self.rotations])
        self.rotation = float(self.rotations[np.argmax(self.scores)])
        self.offset = 0.0
        self.uncertainty = float(self.rotations[1] - self.rotations[0])
