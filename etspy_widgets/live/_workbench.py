"""``AlignmentWorkbench.watch(folder, ...)``: the workbench's panes follow a growing series.

Each new projection is registered to its neighbour in tilt (``LiveReconstructor``), shifted
once (``shift_stack(..., "interp")``, kept while its shift holds) and the workbench is given
the aligned series so far: its tilt pane, sinogram and live slices refresh, its quality
strip shows the live quality report (``wb.show_quality``: bad new projections marked with
their reason as they arrive), and its status line says how many projections are in, how
long the last one took and which are flagged. While the series
grows, the workbench's own steps would be replaced by the next projection: align and
reconstruct interactively once it is stopped. ``stop()`` leaves an ordinary workbench
whose code log starts from the exact files used (``etw.load([...], tilts=[...])`` and the
registration), so its script replays offline to the same arrays.

The workbench has no public call that swaps its series yet; ``_show`` is the one place
that reaches into it (a fresh ``ActionLog`` for its controller and its pane refresh).
``AlignmentWorkbench.watch`` calls ``watch_workbench`` (imported on first use, so the live
package never imports a widget library).
"""

from __future__ import annotations

import threading

import numpy as np

from ..actions import ActionLog
from ..engine.signals import TomoStack
from ..engine.transform import shift_stack
from ._recon import LiveReconstructor
from ._watcher import ProjectionEvent, Watcher


def _show(wb, stack: TomoStack, source: str) -> None:
    """Give ``wb`` a new series (what the workbench's constructor does with its stack)."""
    wb._ctl.log = ActionLog(stack, source)  # no public setter (see module doc)
    wb._stack_changed()


class LiveWorkbench:
    """Drives an ``AlignmentWorkbench`` from a ``Watcher``; ``wb.live`` is this object."""

    def __init__(self, wb, watcher: Watcher):
        self.wb, self.watcher = wb, watcher
        self._shifted: dict[str, tuple] = {}  # name -> (key, shift, shifted image)
        self._lock = threading.Lock()
        self.updates = 0

    def source(self) -> str:
        """One expression that rebuilds the series shown (the exact files so far)."""
        watcher, recon = self.watcher, self.watcher.recon
        files = [str(p) for p in watcher.files]
        tilts = [float(t) for t in watcher.tilts]
        if recon is None or not recon.register or len(files) < 2:
            return f"etw.load({files!r}, tilts={tilts!r})"
        return (f"etw.live.load_registered({files!r}, {tilts!r}, "
                f"binning={recon.register_binning or 1}, "
                f"upsample_factor={recon.register_upsample}, "
                f"start={LiveReconstructor.start_index(tilts)})")

    def aligned(self) -> TomoStack:
        """The series so far with the live shifts applied (each projection shifted once)."""
        watcher, recon = self.watcher, self.watcher.recon
        stack = watcher.stack
        frame = recon.frame if recon is not None else None
        if frame is None or frame.n != stack.data.shape[0] or not recon.register:
            return stack
        keys = [p.key for p in watcher._sorted()]
        images = []
        for k, (key, shift) in enumerate(zip(keys, frame.shifts, strict=True)):
            cached = self._shifted.get(key[0])
            if cached is None or cached[0] != key or not np.array_equal(cached[1], shift):
                shifted = shift_stack(stack.data[k][None], shift[None], "interp")[0]
                cached = (key, shift.copy(), shifted)
                self._shifted[key[0]] = cached
            images.append(cached[2])
        for name in set(self._shifted) - {key[0] for key in keys}:
            del self._shifted[name]
        out = TomoStack(np.stack(images), tilts=stack.tilt_values, shifts=frame.shifts)
        for src, dst in zip(stack.axes_manager._axes, out.axes_manager._axes,
                            strict=True):
            dst.name, dst.scale, dst.offset, dst.units = src.name, src.scale, src.offset, \
                src.units
        return out

    def on_event(self, event: ProjectionEvent) -> None:
        if not event.last:
            return  # one refresh per batch of files
        with self._lock:
            _show(self.wb, self.aligned(), self.source())
            if event.live is not None and event.live.quality is not None:
                self.wb.show_quality(event.live.quality)  # the strip marks bad ones
            self.updates += 1
            self.wb.status = "Live: " + self.watcher.status()

    def stop(self):
        """Stop following the folder; the workbench keeps the series of the files used."""
        self.watcher.stop()
        with self._lock:
            if self.watcher.count:
                _show(self.wb, self.aligned(), self.source())
                frame = self.watcher.live
                if frame is not None and frame.quality is not None:
                    self.wb.show_quality(frame.quality)
            self.wb.status = f"Stopped: {self.watcher.count} projections from " \
                             f"{self.watcher.folder}."
        return self.wb


def watch_workbench(cls, folder, pattern: str = "*.mrc", tilts="auto", *,
                    timeout: float | None = 600, **kwargs):
    """A workbench whose panes follow ``folder`` as projections arrive.

    Blocks until the first projection is in (``timeout`` seconds), then returns the
    workbench; ``wb.live`` is its ``LiveWorkbench`` (``wb.live.stop()``,
    ``wb.live.watcher``). Other keywords go to ``etw.watch`` (``settle``, ``expected``...),
    and those the workbench knows (``slices``, ``cmap``...) to it.
    """
    wb_keys = {k: kwargs.pop(k) for k in list(kwargs) if k == "slices" or cls.class_traits()
               .get(k) is not None}
    user_callback = kwargs.pop("callback", None)
    holder: dict = {}

    def callback(event):
        live = holder.get("live")
        if live is not None:
            live.on_event(event)
        if user_callback is not None:
            user_callback(event)

    watcher = Watcher(folder, pattern, tilts, callback=callback, **kwargs)
    try:
        watcher.wait_for(1, timeout)
        wb = cls(watcher.stack, source="etw.watch(...).stack", **wb_keys)
        live = LiveWorkbench(wb, watcher)
        wb.live = live
        holder["live"] = live
        with live._lock:
            _show(wb, live.aligned(), live.source())
            wb.status = "Live: " + watcher.status()
    except BaseException:
        watcher.stop()
        raise
    return wb

