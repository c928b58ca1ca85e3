"""What each pane shows, computed from the current stack by the engine's own functions.

The live slices come from [`SliceSampler`][etspy_widgets.engine.align._slices.SliceSampler]
(the sampler behind ``test_align_slices``): it samples only the pixels of the three
slice columns, and its sinograms feed both the sinogram pane and the slice
reconstructions, so the two panes always show the same trial alignment. While a
slider is dragged, large stacks are previewed on a binned copy
([`bin_stack`][etspy_widgets.engine.transform.bin_stack]) and refined at full resolution
when the drag stops.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import _display

#: Largest image side used for live previews while a slider is being dragged.
PREVIEW_SIZE = 256


@dataclass(frozen=True)
class Snapshot:
    """The arrays of one stack state, read once (a verb running on the stack in another
    thread may swap ``stack.data`` out for a moment while it copies the signal)."""

    stack: object
    data: np.ndarray
    tilts: np.ndarray

    @classmethod
    def of(cls, stack) -> Snapshot:
        return cls(stack, np.asarray(stack.data), np.asarray(stack.tilt_values))


@dataclass(frozen=True)
class SliceRequest:
    """The trial alignment the three slice panes should show."""

    tilt_shift: float
    tilt_rotation: float
    slices: tuple
    method: str = "FBP"
    iterations: int = 20
    preview: bool = False
    nudges: tuple = ()  # ((index, dy, dx), ...)
    seq: int = 0


def _engine_slices():
    from ..engine.align import _slices

    return _slices


class SliceEngine:
    """Caches the samplers (one per stack, binning, slices and nudges) and runs requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._binned: dict = {}
        self._samplers: dict = {}

    def clear(self) -> None:
        with self._lock:
            self._binned.clear()
            self._samplers.clear()

    def factor(self, snap: Snapshot, preview: bool) -> int:
        ny, nx = snap.data.shape[-2:]
        return _display.reduction_factor((ny, nx), PREVIEW_SIZE) if preview else 1

    def _data(self, snap: Snapshot, factor: int) -> np.ndarray:
        stack = snap.stack
        key = (id(stack), factor)
        with self._lock:
            hit = self._binned.get(key)
        if hit is None or hit[0] is not stack:
            from ..engine.transform import bin_stack

            data = snap.data
            if factor == 1:  # one float32 copy per stack (none when it already is)
                data = np.ascontiguousarray(data, dtype=np.float32)
            else:
                data = bin_stack(data, factor)
            hit = (stack, data)
            with self._lock:
                self._binned = {k: v for k, v in self._binned.items() if v[0] is stack}
                self._binned[key] = hit
        return hit[1]

    def sampler(self, snap: Snapshot, request: SliceRequest):
        """The engine's sampler for this stack, binning, slice columns and nudges."""
        stack = snap.stack
        factor = self.factor(snap, request.preview)
        data = self._data(snap, factor)
        cols = tuple(min(int(s) // factor, data.shape[2] - 1) for s in request.slices)
        key = (id(stack), factor, cols, request.nudges)
        with self._lock:
            hit = self._samplers.get(key)
        if hit is not None and hit[0] is stack:
            return hit[1], factor
        shifts = None
        if request.nudges:
            shifts = np.zeros((data.shape[0], 2))
            for index, dy, dx in request.nudges:
                shifts[index] = (dy / factor, dx / factor)
        sampler = _engine_slices().SliceSampler(data, np.array(cols, dtype=np.int64), shifts)
        with self._lock:
            if len(self._samplers) > 8:
                self._samplers.clear()
            self._samplers[key] = (stack, sampler)
        return sampler, factor

    def run(self, snap: Snapshot, request: SliceRequest):
        """``(slices (3, thickness, ny'), sinograms (3, n_tilts, ny'), factor)``.

        The same two engine calls ``test_align_slices`` makes: sample the sinograms,
        reconstruct them.
        """
        eng = _engine_slices()
        sampler, factor = self.sampler(snap, request)
        sino = sampler.sinograms(request.tilt_shift / factor, request.tilt_rotation)
        rec = eng.reconstruct_sinograms(sino, snap.tilts, thickness=None,
                                        method=request.method,
                                        iterations=request.iterations)
        return rec, sino, factor


def overlay(snap: Snapshot, tilt_shift: float, tilt_rotation: float, slices) -> dict:
    """Where the trial tilt axis and the three slice columns lie on the *untransformed*
    projection: line end points ``[[x0, y0], [x1, y1]]`` in data pixels."""
    from ..engine.transform import rotation_source_coords

    ny, nx = snap.data.shape[-2:]
    cy = (ny - 1) / 2.0
    rows, cols = np.array([cy, cy]), np.array([0.0, nx - 1.0])
    ri, ci = rotation_source_coords((ny, nx), tilt_rotation, tilt_shift, 0.0, rows, cols)
    axis = [[float(ci[0]), float(ri[0])], [float(ci[1]), float(ri[1])]]
    lines = []
    for s in slices:
        ri, ci = rotation_source_coords((ny, nx), tilt_rotation, tilt_shift, 0.0,
                                        np.array([0.0, ny - 1.0]), np.array([s, s], float))
        lines.append([[float(ci[0]), float(ri[0])], [float(ci[1]), float(ri[1])]])
    return {"axis": axis, "slices": lines, "shape": [int(ny), int(nx)]}


def image_frame(image: np.ndarray, contrast, extra: dict | None = None,
                max_size: int = _display.DISPLAY_SIZE) -> dict:
    """A display frame: uint8 bytes + shape, reduced to ``max_size``, percentile contrast."""
    factor = _display.reduction_factor(image.shape, max_size)
    small = _display.reduce(image, factor)
    lo, hi = _display.limits(small, *contrast)
    data, shape = _display.encode(_display.to_uint8(small, lo, hi))
    frame = {"data": data, "shape": shape, "factor": factor, "limits": [lo, hi]}
    frame.update(extra or {})
    return frame


def stack_frame(images: np.ndarray, contrast, extra: dict | None = None,
                max_size: int = _display.DISPLAY_SIZE) -> dict:
    """Like ``image_frame`` for several images sharing one contrast (the three slices)."""
    factor = _display.reduction_factor(images.shape[-2:], max_size)
    small = np.stack([_display.reduce(img, factor) for img in images])
    lo, hi = _display.limits(small, *contrast)
    data, shape = _display.encode(_display.to_uint8(small, lo, hi))
    frame = {"data": data, "shape": shape, "factor": factor, "limits": [lo, hi]}
    frame.update(extra or {})
    return frame


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
