"""The workbench's verbs as :class:`Action` factories (one per button or commit).

Each factory only builds data: the public method name and its named arguments.
Nothing here computes; :func:`~etspy_widgets.actions.execute` runs the line.
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
    the transform :meth:`TomoStack.test_align` previews.
    """
    return Action.call("trans_stack",
                       comment="Shift and rotate the tilt axis (values set with the sliders)",
                       xshift=0.0, yshift=float(tilt_shift), angle=float(tilt_rotation))


def shift_projections(shifts: dict) -> Action:
    """Nudge single projections: ``{index: (dy, dx)}`` pixels, applied as extra shifts."""
    clean = {int(k): (float(v[0]), float(v[1])) for k, v in shifts.items()}
    if not clean:
        raise ActionError("No projection shifts to apply.")
    return Action.call("shift_projections", comment="Nudge single projections (dy, dx) px",
                       shifts=clean)


def remove_projections(projections) -> Action:
    """``stack = stack.remove_projections(projections=[...])``."""
    idx = [int(i) for i in projections]
    return Action.call("remove_projections", comment=f"Remove projection(s) {idx}",
                       projections=idx)


def crop(x=None, y=None) -> Action:
    """``stack = stack.crop(x=(start, stop), y=(start, stop))`` in pixel indices."""
    kw = {}
    for name, rng in (("x", x), ("y", y)):
        if rng is not None:
            if len(rng) != 2:
                raise ActionError(f"crop {name} must be (start, stop); got {rng!r}.")
            kw[name] = (int(rng[0]), int(rng[1]))
    if not kw:
        raise ActionError("crop needs x=(start, stop) and/or y=(start, stop).")
    return Action.call("crop", comment="Crop the projections", **kw)


def reconstruct(method: str = "FBP", **kwargs) -> Action:
    """``rec = stack.reconstruct(method=..., ...)``."""
    return Action.call("reconstruct", target="rec", comment=f"Reconstruct the volume ({method})",
                       method=method, **_clean(kwargs))


__all__ = ["crop", "filter_stack", "manual", "reconstruct", "register", "remove_projections",
           "shift_projections", "tilt_align"]
