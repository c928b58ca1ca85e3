"""What the judging panes plot: alignment curves, the quality strip, the tilt-axis scan,
the volume's orthoslices. Small JSON payloads (lists of numbers) and display frames.

The quality report and the scan come from the engine (``stack.quality()``,
``stack.tilt_axis_scan()``) or are given (``wb.show_quality(report)``,
``wb.show_scan(scan)``); their contract:

* ``report.table``: a pandas DataFrame with columns ``tilt, residual, ncc, dy, dx, flag``
  (``flag`` is ``""`` or the reason), one row per projection; ``report.flagged``: indices;
* ``scan.rotation``, ``scan.offset``, ``scan.uncertainty`` and the curves: the engine's
  ``TiltAxisScan`` has two (``rotations``/``rotation_curve``, ``offsets``/``offset_curve``),
  another object one curve as two arrays (the values tried and their score): the first of
  the names in ``SCAN_X`` and ``SCAN_Y``.
"""

from __future__ import annotations

import numpy as np

from ...engine.errors import InvalidDataError
from . import _frames

#: Attribute names tried, in order, for the scan curve's x (values tried) and y (score).
SCAN_X = ("rotations", "angles", "offsets", "values", "x")
SCAN_Y = ("scores", "score", "residuals", "cost", "curve", "y")


def _floats(values) -> list:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, float).ravel()]


def curves(stack, report=None) -> dict:
    """The shifts per tilt: applied (``stack.shifts``) and, with a report, measured."""
    tilts = np.asarray(stack.tilt_values, float)
    shifts = np.asarray(stack.shifts.data, float).reshape(-1, 2)
    out = {"tilts": _floats(tilts), "dy": _floats(shifts[:, 0]), "dx": _floats(shifts[:, 1])}
    if report is not None:
        table = report.table
        if len(table) == len(tilts):
            out["measured_dy"] = _floats(table["dy"])
            out["measured_dx"] = _floats(table["dx"])
    return out


def quality(report, n_tilts: int) -> dict:
    """The strip's payload, or ``{}`` when the report does not describe these projections."""
    if report is None:
        return {}
    table = report.table
    missing = {"tilt", "residual", "ncc", "dy", "dx", "flag"} - set(table.columns)
    if missing:
        raise InvalidDataError(f"The quality report's table lacks the column(s) {sorted(missing)}; "
                         "it needs tilt, residual, ncc, dy, dx and flag.")
    if len(table) != n_tilts:
        return {}
    flags = ["" if f is None or (isinstance(f, float) and np.isnan(f)) else str(f)
             for f in table["flag"]]
    return {"tilts": _floats(table["tilt"]), "residual": _floats(table["residual"]),
            "ncc": _floats(table["ncc"]), "flag": flags,
            "flagged": [int(i) for i in report.flagged]}


def scan(scan_result) -> dict:
    """The tilt-axis scan: the best values and the curve (x: values tried, y: score)."""
    if scan_result is None:
        return {}
    if getattr(scan_result, "rotation_curve", None) is not None:  # the engine's TiltAxisScan
        out = {"kind": "rotation", "x": _floats(scan_result.rotations),
               "y": _floats(scan_result.rotation_curve),
               "rotation": float(scan_result.rotation), "offset": float(scan_result.offset),
               "uncertainty": _floats(np.atleast_1d(scan_result.uncertainty))}
        if getattr(scan_result, "offset_curve", None) is not None:
            out["offset_x"] = _floats(scan_result.offsets)
            out["offset_y"] = _floats(scan_result.offset_curve)
        if len(out["x"]) != len(out["y"]) or len(out.get("offset_x", ())) != len(
                out.get("offset_y", ())):
            raise InvalidDataError("The tilt-axis scan's curves and their values differ in length.")
        return out
    x = next((getattr(scan_result, n) for n in SCAN_X if getattr(scan_result, n, None)
              is not None), None)
    y = next((getattr(scan_result, n) for n in SCAN_Y if getattr(scan_result, n, None)
              is not None), None)
    if x is None or y is None or len(x) != len(y):
        raise InvalidDataError("The tilt-axis scan needs its curve as two arrays of one length "
                         f"(x: one of {SCAN_X}; y: one of {SCAN_Y}).")
    offsets_only = (getattr(scan_result, "offsets", None) is not None
                    and getattr(scan_result, "rotations", None) is None)
    kind = "offset" if offsets_only else "rotation"
    return {"kind": kind, "x": _floats(x), "y": _floats(y),
            "rotation": float(scan_result.rotation), "offset": float(scan_result.offset),
            "uncertainty": _floats(np.atleast_1d(scan_result.uncertainty))}


def volume_limits(volume: np.ndarray) -> tuple[float, float]:
    """One robust contrast for a whole volume (from a subsample of about 2 million voxels)."""
    vol = np.asarray(volume)
    step = max(1, round((vol.size / 2e6) ** (1 / 3)))
    return _frames.robust_limits(vol[::step, ::step, ::step])


def ortho_frames(volume: np.ndarray, position, limits) -> dict:
    """Three orthoslices of a RecStack's ``(x, z, y)`` array through ``position`` ``[x, y,
    z]``, with the volume's contrast ``limits``: XY (beam view, rows y), XZ, YZ."""
    vol = np.asarray(volume)
    nx, nz, ny = vol.shape
    x, y, z = (int(np.clip(p, 0, m - 1)) for p, m in zip(position, (nx, ny, nz), strict=True))
    lo, hi = limits
    images = {"xy": vol[:, z, :].T, "xz": vol[:, :, y].T, "yz": vol[x, :, :]}
    return {name: _frames.frame(img, values=(lo, hi), extra={"plane": name,
                                                             "position": [x, y, z],
                                                             "size": [nx, ny, nz]})
            for name, img in images.items()}
