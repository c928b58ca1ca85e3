"""The workbench's verbs as [`Action`][] factories (one per button or commit).

Each factory only builds data: the public method name and its named arguments.
Nothing here computes; [`execute`][etspy_widgets.actions.execute] runs the line.
"""

from __future__ import annotations

from ._action import Action, ActionError


def _clean(kwargs: dict) -> dict:
    """Drop arguments left at None so the logged line stays short and readable."""
    return {k: v for k, v in kwargs.items() if v is not None}


def register(method: str = "PC", **kwargs) -> Action:
    """``stack = stack.stack_register(method=..., ...)``."""
    return Action.call("stack_register", comment=f"Register the projections ({method})",
                       method=method, **_clean(kwargs))


def tilt_align(method: str = "CoM", **kwargs) -> Action:
    """``stack = stack.tilt_align(method=..., ...)``."""
    return Action.call("tilt_align", comment=f"Align the tilt axis ({method})",
                       method=method, **_clean(kwargs))


def filter_stack(method: str, **kwargs) -> Action:
    """``stack = stack.filter(method=..., ...)``."""
    return Action.call("filter", comment=f"Filter the projections ({method})",
                       method=method, **_clean(kwargs))


def manual(tilt_shift: float = 0.0, tilt_rotation: float = 0.0) -> Action:
    """Commit the tilt-axis shift (px, across the axis) and rotation (degrees).

    Written as ETSpy's ``trans_stack(xshift=0.0, yshift=tilt_shift, angle=tilt_rotation)``,
    the transform ``TomoStack.test_align`` previews.
    """
    return Action.call("trans_stack",
                       comment="Shift and rotate the tilt axis (values set with the sliders)",
                       xshift=0.0, yshift=float(tilt_shift), angle=float(tilt_rotation))


def shift_projections(shifts: dict, n_projections: int) -> Action:
    """Nudge single projections: ``{index: (dy, dx)}`` pixels, applied as extra shifts.

    Written as ``stack = stack.apply_shifts(shifts=[[dy, dx], ...])`` with one pair per
    projection (zeros for the others).
    """
    table = [[0.0, 0.0] for _ in range(int(n_projections))]
    for key, value in shifts.items():
        index = int(key)
        if not 0 <= index < n_projections:
            raise ActionError(f"Projection {index} is outside 0..{n_projections - 1}.")
        table[index] = [float(value[0]), float(value[1])]
    if not any(v != 0.0 for pair in table for v in pair):
        raise ActionError("No projection shifts to apply.")
    moved = sorted(int(k) for k in shifts)
    return Action.call("apply_shifts", comment=f"Nudge projection(s) {moved} by (dy, dx) px",
                       shifts=table)


def remove_projections(projections) -> Action:
    """``stack = stack.remove_projections(projections=[...])``."""
    idx = [int(i) for i in projections]
    return Action.call("remove_projections", comment=f"Remove projection(s) {idx}",
                       projections=idx)


def crop(x=None, y=None) -> Action:
    """``stack = stack.isig[x0:x1, y0:y1]``: keep columns ``x0..x1-1`` and rows ``y0..y1-1``.

    HyperSpy's signal-space indexing with integer pixel indices; tilts and shifts
    follow (they are per projection).
    """
    kw = {}
    for name, rng in (("x", x), ("y", y)):
        if rng is not None:
            if len(rng) != 2:
                raise ActionError(f"crop {name} must be (start, stop); got {rng!r}.")
            kw[name] = (int(rng[0]), int(rng[1]))
    if not kw:
        raise ActionError("crop needs x=(start, stop) and/or y=(start, stop).")
    return Action.call("isig", comment="Crop the projections (x, y pixel ranges)", **kw)


def rebin(scale) -> Action:
    """``stack = stack.rebin(scale=(1, b, b))``: bin the images (sums blocks)."""
    return Action.call("rebin", comment=f"Bin the projections by {tuple(scale)[1:]}",
                       scale=tuple(scale))


def reconstruct(method: str = "FBP", **kwargs) -> Action:
    """``rec = stack.reconstruct(method=..., ...)``."""
    return Action.call("reconstruct", target="rec", comment=f"Reconstruct the volume ({method})",
                       method=method, **_clean(kwargs))


__all__ = ["crop", "filter_stack", "manual", "rebin", "reconstruct", "register",
           "remove_projections",
           "shift_projections", "tilt_align"]
