"""The live preview: three trial slices and a sinogram, recomputed as sliders move.

The slices come from the engine's [`SliceSampler`][etspy_widgets.engine.align.SliceSampler]
and [`reconstruct_sinograms`][etspy_widgets.engine.align.reconstruct_sinograms] (the calls
behind ``test_align_slices``): only the pixels of the three slice columns are sampled, and
their sinograms feed both the sinogram pane and the slice reconstructions, so the two
panes always show the same trial alignment. While a slider is dragged, large stacks are
previewed on a binned copy ([`bin_stack`][etspy_widgets.engine.transform.bin_stack]) and
refined at full resolution when the drag stops. Requests run on a
[`LatestWorker`][etspy_widgets.widgets._worker.LatestWorker]: the newest one wins.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np

from ...engine import align
from ...engine.transform import bin_stack
from .._worker import LatestWorker
from . import _frames

#: Largest image side used for live previews while a slider is being dragged; a stack of
#: this side or more is previewed at least 2 × 2 binned (256² as 128²: its full-resolution
#: slices cost ~30-50 ms, over the browser's budget with the round trip).
PREVIEW_SIZE = 256


@dataclass(frozen=True)
class Snapshot:
    """The arrays of one stack state, read once.

    A verb running on the stack in another thread may replace ``stack.data`` while it
    works; the preview reads the arrays of the state it was given, never half of each.
    """

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


class SliceEngine:
    """Caches the samplers (one per stack, binning, slices and nudges) and runs requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._binned: dict = {}
        self._samplers: dict = {}

    def factor(self, snap: Snapshot, preview: bool) -> int:
        ny, nx = snap.data.shape[-2:]
        if not preview:
            return 1
        factor = _frames.reduction_factor((ny, nx), PREVIEW_SIZE)
        return 2 if factor == 1 and max(ny, nx) >= PREVIEW_SIZE else factor

    def _data(self, snap: Snapshot, factor: int) -> np.ndarray:
        stack = snap.stack
        key = (id(stack), factor)
        with self._lock:
            hit = self._binned.get(key)
        if hit is None or hit[0] is not stack:
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
        sampler = align.SliceSampler(data, np.array(cols, dtype=np.int64), shifts)
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
        sampler, factor = self.sampler(snap, request)
        sino = sampler.sinograms(request.tilt_shift / factor, request.tilt_rotation)
        rec = align.reconstruct_sinograms(sino, snap.tilts, thickness=None,
                                          method=request.method,
                                          iterations=request.iterations)
        return rec, sino, factor


class LivePreview:
    """Request → compute (worker thread, newest wins) → publish the frames on ``widget``.

    ``widget`` gives the traits (``tilt_shift``, ``slices``, ``contrast``...) and receives
    the frames through ``widget._send_frames``; ``snapshot()`` gives the current state.
    """

    def __init__(self, widget, snapshot, on_error):
        self._widget = widget
        self._snapshot = snapshot
        self._engine = SliceEngine()
        self._lock = threading.Lock()
        self._rec: np.ndarray | None = None
        self._sino: np.ndarray | None = None
        self._shown: SliceRequest | None = None
        self._seq = 0
        self.timings: list[tuple[str, float]] = []  # (what, seconds) of recent computations
        self._worker = LatestWorker(on_error)
        self._on_error = on_error
        self._warming: threading.Thread | None = None

    def request(self, preview: bool) -> SliceRequest:
        w = self._widget
        nudges = tuple(sorted((int(k), float(v[0]), float(v[1])) for k, v in w.nudges.items()))
        return SliceRequest(float(w.tilt_shift), float(w.tilt_rotation),
                            tuple(int(s) for s in w.slices), w.slice_method,
                            int(w.slice_iterations), preview, nudges)

    def submit(self) -> None:
        """Recompute for the current traits (a newer request replaces a waiting one)."""
        request = self.request(preview=bool(self._widget.dragging))
        self._seq += 1
        seq, asked = self._seq, time.time()
        self._worker.submit(lambda: self.compute(request, seq, asked))

    def warm(self) -> None:
        """Prepare the drag preview on a background thread (large stacks only): bin the
        stack and run the preview of the current state once, unpublished, so that the
        binned copy, its slice sampler and its projector are built before the first drag
        (measured at 151 × 1024²: the first drag's computation took 0.61 s, the later ones
        about 45 ms). Its error, if any, reaches ``on_error`` like a preview's."""
        snap = self._snapshot()
        if self._engine.factor(snap, preview=True) == 1:
            return
        request = self.request(preview=True)

        def build():
            try:
                self._engine.run(snap, request)
            except Exception as err:  # shown by the widget, not swallowed
                self._on_error(err)

        self._warming = threading.Thread(target=build, name="etw-preview-warm", daemon=True)
        self._warming.start()

    def compute(self, request: SliceRequest, seq: int = 0, asked: float | None = None) -> None:
        started, wall = time.perf_counter(), time.time()
        rec, sino, factor = self._engine.run(self._snapshot(), request)
        computed = time.perf_counter()
        # wall-clock stamps (s) of this frame's way: asked, computing, computed (the
        # browser's probe adds sending and painting: where a latency goes)
        stamps = {"t_in": wall if asked is None else asked, "t_start": wall,
                  "t_done": wall + (computed - started)}
        with self._lock:
            if factor == 1:
                self._rec = rec
                self._shown = dataclasses.replace(request, preview=False)
            self._sino = sino
        self.publish(rec, sino, request, factor, seq, stamps=stamps)
        self.timings.append(("slices", computed - started))
        del self.timings[:-200]

    def publish(self, rec, sino, request: SliceRequest, factor: int, seq: int, *,
                stamps: dict | None = None) -> None:
        w = self._widget
        sel = int(w.selected_slice)
        level = "preview" if factor > 1 else "full"
        info = {"seq": seq, "level": level, "tilt_shift": request.tilt_shift,
                "tilt_rotation": request.tilt_rotation, "slices": list(request.slices),
                "time": time.time(), **(stamps or {})}
        slices = _frames.frame(rec, extra=info, max_size=w.display_size,
                               **w._contrast_for("slices"))
        sinogram = _frames.frame(sino[sel], extra={"slice": int(request.slices[sel]),
                                                   "level": level, "seq": seq,
                                                   "factor_data": factor},
                                 max_size=w.display_size, **w._contrast_for("projection"))
        w._send_frames(slices, sinogram)

    def republish(self) -> None:
        """Send the last full-resolution slices again (new contrast or selection)."""
        with self._lock:
            rec, sino, request = self._rec, self._sino, self._shown
        if rec is not None and request is not None and sino is not None:
            self.publish(rec, sino, request, 1, self._seq)

    def images(self) -> np.ndarray:
        """The full-resolution slices for the current traits (computed if not shown)."""
        self.wait()
        request = self.request(preview=False)
        with self._lock:
            shown = self._rec.copy() if self._rec is not None and self._shown == request \
                else None
        if shown is None:  # e.g. the last frame was a drag preview: refine now
            self.compute(request)
            with self._lock:
                shown = self._rec.copy()
        return shown

    def wait(self, timeout: float | None = None) -> bool:
        warming = self._warming
        if warming is not None:
            warming.join(timeout)
            if warming.is_alive():
                return False
        return self._worker.wait(timeout)

    def close(self) -> None:
        self._worker.close()
