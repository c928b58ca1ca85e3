"""Judging an alignment from the data: per-projection consistency, bad projections,
tilt-axis scan and resolution (NumPy in, NumPy out; no HyperSpy).

* [`consistency`][]: reconstruct (a few SIRT iterations of the binned series, or a given
  volume), reproject, compare every projection with its reprojection;
* [`projection_measures`][] and [`flag_projections`][]: intensity and focus measures, and
  bad projections with a reason each (robust median/MAD thresholds);
* [`tilt_axis_scan`][]: a data-consistency criterion (Helgason–Ludwig moments) over the
  axis rotation and offset, its minimum and a bootstrap uncertainty;
* [`even_odd_frc`][]: the even/odd tilt split, two reconstructions, the Fourier ring
  correlation and the resolution at the ½-bit (or 0.143) threshold.

The signal-level verbs (``stack.quality()``, ``stack.tilt_axis_scan()``) and the report
objects are in ``etspy_widgets.engine.signals._quality_verbs``. See ``docs/quality.md``.
"""

from ._consistency import consistency, reproject, thickness_estimate, working_factor
from ._measures import (
    DEFAULT_THRESHOLDS,
    REASONS,
    flag_projections,
    neighbour_trend,
    projection_measures,
    robust_sigma,
    running_median,
)
from ._report import ARETOMO_COLUMNS, QualityReport, TiltAxisScan, assess
from ._resolution import even_odd_frc, frc_curve, resolution_threshold
from ._scan import tilt_axis_scan

__all__ = [
    "ARETOMO_COLUMNS", "DEFAULT_THRESHOLDS", "REASONS", "QualityReport", "TiltAxisScan",
    "assess", "consistency", "even_odd_frc", "flag_projections", "frc_curve",
    "neighbour_trend", "projection_measures", "reproject", "resolution_threshold", "robust_sigma",
    "running_median", "thickness_estimate", "tilt_axis_scan", "working_factor",
]
