"""The live quality strip: bad projections marked as they arrive.

The measures are those of ``stack.quality()`` (``engine.quality.projection_measures`` and
``flag_projections``), computed incrementally: a new projection's own measures (mean,
contrast, sharpness, dark fraction) once, on the image the registration uses (binned to
512–1023 pixels a side, as the quality report bins to ≤ 512); its neighbour measures
(correlation with, and change from, the mean of its two neighbours in tilt) for it and
for the two neighbours whose neighbourhood it changed. The shift test is the composed
registration shift of each projection against the trend of its neighbours' (a projection
that had to be moved much further than its neighbours to match them is "drifted"): there
is no reprojection live, so the reprojection residual is not judged (NaN in the table)
and a turned projection is left for ``stack.quality()`` after the acquisition.

The flags are the robust ones of ``flag_projections`` on the series so far (the trend
of the ``window - 1`` nearest neighbours, ``neighbour_trend``; MAD spread), recomputed at
each update from the kept numbers (a few per projection): a projection departing from its
neighbours is marked with its reason as soon as it is in, once ``min_projections`` are in.
"""

from __future__ import annotations

import numpy as np

from ..engine.quality import (
    DEFAULT_THRESHOLDS,
    QualityReport,
    flag_projections,
    projection_measures,
)

_SAMPLE = 1024  # pixels of each projection kept for the series' intensity range


def _sample(image: np.ndarray) -> np.ndarray:
    flat = np.asarray(image, np.float32).ravel()
    return flat[:: max(1, flat.size // _SAMPLE)].copy()


class LiveQuality:
    """Incremental ``stack.quality()`` measures and flags of a growing series.

    Parameters
    ----------
    thresholds : dict, optional
        ``flag_projections``' thresholds (``DEFAULT_THRESHOLDS`` names).
    min_projections : int
        Nothing is flagged before this many projections are in (the robust spread of a
        handful of numbers means little); default the trend's ``window``.
    """

    def __init__(self, thresholds=None, min_projections: int | None = None):
        self.thresholds = dict(thresholds or {})
        # unknown threshold names are refused now, not at the first update
        flag_projections({k: np.ones(3) for k in ("mean", "std", "sharpness",
                                                   "neighbour_ncc")}, None, self.thresholds)
        window = int(self.thresholds.get("window", DEFAULT_THRESHOLDS["window"]))
        self.min_projections = window if min_projections is None else int(min_projections)
        self._own: dict = {}    # key -> (mean, std, sharpness, sample)
        self._neigh: dict = {}  # (prev key, key, next key) -> (ncc, change)
        self.report: QualityReport | None = None

    def _own_of(self, key, image_of):
        if key not in self._own:  # the image only for a projection not measured yet
            image = image_of(key)
            m = projection_measures(np.asarray(image, np.float32)[None])
            self._own[key] = (float(m["mean"][0]), float(m["std"][0]),
                              float(m["sharpness"][0]), _sample(image))
        return self._own[key]

    @staticmethod
    def _triple(keys, i, skip=frozenset()) -> tuple:
        """``(previous, this, next)`` in tilt order, passing over the indices ``skip`` (the
        flagged ones: a bad neighbour does not make a good projection look bad); at an end
        the one neighbour twice."""
        n = len(keys)
        before = [j for j in range(i - 1, -1, -1) if j not in skip][:1]
        after = [j for j in range(i + 1, n) if j not in skip][:1]
        prev = (before or after or [i])[0]
        nxt = (after or before or [i])[0]
        return keys[prev], keys[i], keys[nxt]

    def _neigh_of(self, keys, i, image_of, skip=frozenset()):
        triple = self._triple(keys, i, skip)
        if triple not in self._neigh:
            mean = 0.5 * (np.asarray(image_of(triple[0]), np.float32)
                          + np.asarray(image_of(triple[2]), np.float32))
            # two images: each is compared with the other, as projection_measures compares
            # a series' first projection with its only neighbour
            m = projection_measures(np.stack([np.asarray(image_of(keys[i]), np.float32),
                                              mean]))
            self._neigh[triple] = (float(m["neighbour_ncc"][0]),
                                   float(m["neighbour_change"][0]))
        return self._neigh[triple]

    def update(self, keys, tilts, shifts, image_of) -> QualityReport | None:
        """The report of the series ``keys`` (tilt order) now; ``image_of(key)`` gives a
        projection's working image, ``shifts`` the composed registration shifts."""
        import pandas as pd  # only once a report is made (as engine.signals does)

        n = len(keys)
        if n < 2:
            self.report = None
            return None
        own = [self._own_of(k, image_of) for k in keys]
        live = set(keys)
        for k in [k for k in self._own if k not in live]:
            del self._own[k]
        samples = np.concatenate([o[3] for o in own])
        lo, hi = np.percentile(samples, [1, 99.5])
        measures = {"mean": np.array([o[0] for o in own]),
                    "std": np.array([o[1] for o in own]),
                    "sharpness": np.array([o[2] for o in own]),
                    "dark_fraction": np.array([(o[3] < lo + 0.05 * (hi - lo)).mean()
                                               for o in own])}
        shifts = np.asarray(shifts, float).reshape(n, 2)
        residual = np.full(n, np.nan)
        consistency = {"dy": shifts[:, 0], "dx": shifts[:, 1], "residual": residual}
        skip: frozenset = frozenset()
        flags, reasons = [""] * n, [[] for _ in range(n)]
        for _ in range(2):  # again, with the flagged ones passed over as neighbours
            neigh = [self._neigh_of(keys, i, image_of, skip) for i in range(n)]
            measures["neighbour_ncc"] = np.array([v[0] for v in neigh])
            measures["neighbour_change"] = np.array([v[1] for v in neigh])
            if n < self.min_projections:
                break
            with np.errstate(invalid="ignore"):
                flags, reasons = flag_projections(measures, consistency, self.thresholds)
            bad = frozenset(i for i, f in enumerate(flags) if f)
            if bad == skip:
                break
            skip = bad
        triples = {self._triple(keys, i, s) for i in range(n) for s in (frozenset(), skip)}
        for t in [t for t in self._neigh if t not in triples]:
            del self._neigh[t]
        table = pd.DataFrame({
            "projection": np.arange(n), "tilt": np.asarray(tilts, float),
            "residual": residual, "ncc": measures["neighbour_ncc"],
            "dy": shifts[:, 0], "dx": shifts[:, 1], "mean": measures["mean"],
            "dark_fraction": measures["dark_fraction"], "sharpness": measures["sharpness"],
            "neighbour_change": measures["neighbour_change"], "flag": flags,
            "reasons": reasons})
        self.report = QualityReport(table, {"n_flagged": sum(bool(f) for f in flags),
                                            "live": True})
        return self.report
