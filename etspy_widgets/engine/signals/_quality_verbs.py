"""Signal-level quality verbs: ``stack.quality()`` and ``stack.tilt_axis_scan()``.

Thin wrappers over ``etspy_widgets.engine.quality`` (the numerics, NumPy in and out): they
read the data, tilts, shifts, tilt-axis metadata and calibration of a TomoStack, build the
report objects, store their figures in ``metadata.Tomography`` (``quality``,
``tilt_axis_scan``; saved with the stack) and log one history line. Neither changes the
data: the stack is measured, not transformed, so the line is a comment
(``# report = stack.quality()  (a measurement: ...)``) and a replay of the history skips it.
"""

from __future__ import annotations

import numpy as np

from ..._script import verb_line
from ..errors import ArgumentTypeError, InvalidArgumentError
from ..quality import QualityReport, TiltAxisScan, assess
from ..quality import tilt_axis_scan as _scan_array
from ..validate import as_values


def _calibration(stack):
    ax = stack.axes_manager.signal_axes[0]
    units = str(ax.units) if ax.units not in (None, "") else "pixels"
    scale = float(ax.scale)
    if units in ("pixels", "px", "<undefined>"):
        return 1.0, "px"
    return scale, units


def quality(stack, rec=None, *, thresholds=None, iterations: int = 10, thickness=None,
            max_size: int = 128, resolution: bool = True, frc_threshold: str = "half-bit",
            scan: bool = False, record: bool = True) -> QualityReport:
    """Judge the alignment of ``stack`` from its data; return a [`QualityReport`][].

    Parameters
    ----------
    rec : RecStack or numpy.ndarray, optional
        A reconstruction of this stack at its full size to reproject; default: a SIRT of
        ``iterations`` iterations of the series binned to at most ``max_size`` pixels.
    thresholds : dict, optional
        Override ``etspy_widgets.engine.quality.DEFAULT_THRESHOLDS`` (``k``, the robust
        z-score; ``dark``, ``blurred``, ``drift_px``, ``residual``, ...).
    resolution : bool
        Also estimate the resolution (even/odd FRC at ``frc_threshold``, "half-bit" or
        "0.143").
    scan : bool
        Also run [`tilt_axis_scan`][] and put its rotation and offset in the summary.
    record : bool
        Store the report in ``metadata.Tomography.quality`` and write its line into the
        history (default). ``False`` leaves the stack untouched: the workbench judges every
        step so, from another thread, without a line per step.
    """
    data = np.asarray(stack.data, dtype=np.float32)
    tilts = stack.tilt_values
    given = rec.data if hasattr(rec, "axes_manager") else rec  # (an ndarray's .data is a
    # memoryview)
    if rec is not None and not isinstance(given, np.ndarray) and not hasattr(given, "dask"):
        raise ArgumentTypeError(f"rec must be a RecStack or an array (nx, thickness, ny) "
                                f"reconstructed from this stack; got {type(rec).__name__}.")
    volume = None if rec is None else np.asarray(getattr(rec, "data", rec))
    scale, units = _calibration(stack)
    res = assess(data, tilts, volume, thresholds=thresholds, iterations=iterations,
                 thickness=thickness, max_size=max_size, resolution=resolution,
                 frc_threshold=frc_threshold, pixel_size=scale)
    import pandas as pd

    m, c = res["measures"], res["consistency"]
    table = pd.DataFrame({
        "projection": np.arange(len(tilts)), "tilt": tilts, "residual": c["residual"],
        "ncc": c["ncc"], "dy": c["dy"], "dx": c["dx"], "mean": m["mean"],
        "dark_fraction": m["dark_fraction"], "sharpness": m["sharpness"],
        "neighbour_change": m["neighbour_change"], "flag": res["flags"],
        "reasons": res["reasons"]})
    good = table["flag"] == ""
    shifts = stack.shift_values
    frc = res["frc"]
    summary = {
        "title": str(stack.metadata.get_item("General.title", "") or ""),
        "rms_residual": float(np.sqrt(np.mean(table["residual"][good] ** 2)))
        if good.any() else float("nan"),
        "global_shift_px": float(np.hypot(shifts[:, 0], shifts[:, 1]).max()),
        "tilt_axis": float(stack.metadata.get_item("Tomography.tiltaxis", 0.0) or 0.0),
        "tilt_axis_offset_px": float(stack.metadata.get_item("Tomography.yshift", 0.0) or 0.0),
        "resolution": frc["resolution"] if frc else None,
        "resolution_px": frc["resolution_px"] if frc else None,
        "thickness_px": res["thickness_px"], "thickness": res["thickness_px"] * scale,
        "n_flagged": int((~good).sum()), "pixel_size": scale, "units": units,
    }
    report = QualityReport(table, summary, frc, extra={"consistency": c})
    if scan:
        s = tilt_axis_scan(stack, record=False)
        summary["scan_rotation"], summary["scan_offset_px"] = s.rotation, s.offset
        report.extra["scan"] = s
    if not record:
        return report
    stack.metadata.set_item("Tomography.quality", report.to_dict())
    given = {"thresholds": thresholds, "iterations": iterations, "max_size": max_size,
             "resolution": resolution, "frc_threshold": frc_threshold, "scan": scan}
    defaults = {"thresholds": None, "iterations": 10, "max_size": 128, "resolution": True,
                "frc_threshold": "half-bit", "scan": False}
    line = verb_line("report", stack._history_name, "quality",
                     {k: v for k, v in given.items() if v != defaults[k]})
    if rec is not None:  # the volume is a variable of the script, not a literal
        line = line.replace("quality(", "quality(rec=rec, " if given != defaults else
                            "quality(rec=rec", 1)
    stack.add_history(f"# {line}  (a measurement: the data is unchanged)")
    return report


def tilt_axis_scan(stack, rotations=None, offsets=None, *, columns=None, n_columns: int = 48,
                   bootstrap: int = 100, seed=0, smooth: float = 2.0,
                   record: bool = True) -> TiltAxisScan:
    """Scan the tilt-axis rotation and offset of ``stack``; return a [`TiltAxisScan`][].

    ``rotations`` (degrees) and ``offsets`` (pixels) are trial corrections with the signs
    of ``trans_stack(angle=, yshift=)``; by default −6..6° (refined to 0.02°) and ±ny/8 px.
    Apply the result with ``stack.trans_stack(yshift=scan.offset, angle=scan.rotation)``.
    ``smooth``: σ (pixels) of the Gaussian smoothing along the tilt axis before the moments
    (0 for none; it averages the noise of neighbouring columns, see ``docs/quality.md``).
    """
    for name, values in (("rotations", rotations), ("offsets", offsets)):
        trial = as_values(name, values, allow_none=True)  # numbers, or refused here
        if trial is not None and trial.size < 3:
            raise InvalidArgumentError(f"{name} must hold at least 3 trial values (a curve "
                                       f"to find the best of); got {values!r:.60}.")
    res = _scan_array(np.asarray(stack.data, dtype=np.float32), stack.tilt_values,
                      rotations, offsets, columns=columns, n_columns=n_columns,
                      bootstrap=bootstrap, seed=seed, smooth=smooth)
    scan = TiltAxisScan.from_dict(res)
    if record:
        stack.metadata.set_item("Tomography.tilt_axis_scan", scan.to_dict())
        kw = {k: v for k, v in (("rotations", rotations), ("offsets", offsets))
              if v is not None}
        if smooth != 2.0:
            kw["smooth"] = smooth
        line = verb_line("scan", stack._history_name, "tilt_axis_scan", kw)
        stack.add_history(f"# {line}  (a measurement: the data is unchanged)")
    return scan


__all__ = ["quality", "tilt_axis_scan"]
