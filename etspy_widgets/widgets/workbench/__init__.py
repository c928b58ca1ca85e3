"""AlignmentWorkbench: see, align and judge a tilt series in one widget.

The widget is in parts (jupyter-scatter's split, lonboard's "the widget is the class"):

* ``_model``: the synced traits and their validation, the front end (``js/``);
* ``_controller``: the code log, the job thread, progress, cancel, undo/redo;
* ``_live``: the live slices (snapshot, slice engine, newest-wins worker, publish);
* ``_frames``: display-sized uint8 frames, the zoom window, the overlay.

``AlignmentWorkbench`` holds them and gives the verbs; every step that changes the data
is an [`Action`][etspy_widgets.actions.Action] executed from the very line the code log
shows.
"""

from __future__ import annotations

import time

import numpy as np
import traitlets as t

from ...actions import ActionLog, verbs
from ...engine import align
from ...engine.errors import (
    InvalidArgumentError,
    NotReadyError,
    UnknownKeywordError,
)
from ...engine.signals import as_tomostack
from ...live._workbench import watch_workbench
from .._worker import LatestWorker, error_line
from . import _frames, _panels
from ._controller import Controller
from ._live import LivePreview, Snapshot
from ._model import (
    COLORMAPS,
    FILTER_METHODS,
    RECON_METHODS,
    REGISTRATION_METHODS,
    SLICE_METHODS,
    TILT_METHODS,
    WorkbenchModel,
    stack_status,
)

#: The most pixels an atlas of projection frames holds (n × h × w of the uint8 frames).
ATLAS_BYTES = 64 << 20
FRAMES = ("tilt_frame", "sino_frame", "slices_frame", "ortho_xy", "ortho_xz", "ortho_yz")

__all__ = ["COLORMAPS", "FILTER_METHODS", "RECON_METHODS", "REGISTRATION_METHODS",
           "SLICE_METHODS", "TILT_METHODS", "AlignmentWorkbench"]


class AlignmentWorkbench(WorkbenchModel):
    """Interactive alignment of a [`TomoStack`][etspy_widgets.TomoStack], with a code log.

    Parameters
    ----------
    stack : TomoStack, optional
        The tilt series. Give it or ``source``.
    source : str, optional
        A one-line expression that produces the stack (``"etw.load('a.mrc')"``); it
        becomes the first line of ``code``. Without ``stack`` it is executed.
    slices : sequence of 3 int, optional
        Columns to reconstruct live; default ¼, ½, ¾ of the width.
    **kwargs
        Initial values of the widget's traits (``cmap``, ``slice_method``...).
        Unknown names raise ``TypeError``.

    Examples
    --------
    >>> import etspy_widgets as etw                                   # doctest: +SKIP
    >>> wb = etw.AlignmentWorkbench.from_source(
    ...     "etw.datasets.get_catalyst_data(misalign=True, seed=0)")  # doctest: +SKIP
    >>> wb                                                           # doctest: +SKIP
    """

    def __init__(self, stack=None, source: str | None = None, slices=None, **kwargs):
        unknown = [k for k in kwargs if not self.has_trait(k) or k.endswith("_frame")]
        if unknown:
            raise UnknownKeywordError(f"AlignmentWorkbench got unknown argument(s) {unknown}; "
                            f"settable: {sorted(self._settable())}.")
        if stack is not None and not hasattr(stack, "tilt_values"):
            stack = as_tomostack(stack)
        self._ready = False
        self._ctl = Controller(self, stack, source)
        ready = stack_status(self._ctl.log.stack)  # NaN data refused here
        self._snap = Snapshot.of(self._ctl.log.stack)
        self._live = LivePreview(self, lambda: self._snap,
                                 lambda err: self._ctl.report("Live slices", err))
        self._judge = LatestWorker(lambda err: self._ctl.report("Quality report", err),
                                   name="quality", stoppable=True)
        self._scanner = LatestWorker(lambda err: self._ctl.report("Tilt-axis scan", err),
                                     name="scan", stoppable=True)
        self._report = self._scan = self._scan_of = self._volume_of = self._judged = None
        self._prefetch = LatestWorker(lambda err: None, name="prefetch")  # a miss costs time only
        self._tilt_cache: dict = {}
        # every projection's frame of the whole view, made off the message thread and sent
        # to the views in chunks: a tilt change is then painted in the browser at once
        self._atlas: dict = {"key": 0, "stack": None, "settings": None, "frames": {}}
        self._atlas_worker = LatestWorker(lambda err: None, name="atlas")
        self._viewed = False  # a front end asked for the frames (the atlas is for views)
        self._tilt_asked = time.time()
        super().__init__(**kwargs)
        self.choices = self.method_choices()
        if slices is None:
            slices = align.default_slices(self._snap.data.shape[-1]).tolist()
        self.slices = [int(s) for s in slices]
        self._ready = True
        self._stack_changed(reset_view=True)
        self.status = ready
        self.on_msg(self._on_front_message)

    @classmethod
    def from_source(cls, source: str, **kwargs) -> AlignmentWorkbench:
        """Build the workbench by executing ``source`` (logged as the script's first line)."""
        return cls(None, source=source, **kwargs)

    @classmethod
    def watch(cls, folder, pattern: str = "*.mrc", tilts="auto", **kwargs):
        """A workbench whose panes follow ``folder`` as projections arrive (``etw.watch``'s
        arguments; see the live tomography guide and ``etspy_widgets.live``)."""
        return watch_workbench(cls, folder, pattern, tilts, **kwargs)

    def _shape(self):
        return tuple(int(v) for v in self._snap.data.shape)

    # -- public state ------------------------------------------------------------
    @property
    def stack(self):
        """The current TomoStack, with every applied action."""
        return self._ctl.log.stack

    @property
    def rec(self):
        """The latest reconstruction (RecStack), or None."""
        return self._ctl.log.rec

    @property
    def log(self) -> ActionLog:
        """The code log (actions, undo/redo, script)."""
        return self._ctl.log

    @property
    def last_traceback(self) -> str:
        """The traceback of the last failure shown in the status line."""
        return self._ctl.last_traceback

    @property
    def timings(self) -> list[tuple[str, float]]:
        """``(what, seconds)`` of recent live computations."""
        return self._live.timings

    def slice_images(self) -> np.ndarray:
        """The three reconstructed slices now displayed, ``(3, thickness, ny)`` float32.

        Waits for pending slider work first, so it reflects the current traits.
        """
        return self._live.images()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until pending work (live slices and any running step) is done."""
        end = None if timeout is None else time.monotonic() + timeout
        left = lambda: None if end is None else max(0.0, end - time.monotonic())  # noqa: E731
        ok = self._ctl.wait(left())
        ok = self._live.wait(left()) and ok
        ok = self._prefetch.wait(left()) and ok
        ok = self._atlas_worker.wait(left()) and ok
        ok = self._scanner.wait(left()) and ok
        return self._judge.wait(left()) and ok

    def export(self, path, overwrite: bool = True) -> str:
        """Write the code log to ``path`` atomically; return the path."""
        return self._ctl.log.export(path, overwrite=overwrite)

    def to_notebook(self, path, overwrite: bool = True):
        """Write the code log as a notebook (one cell per step, its comment as markdown
        above); it runs top to bottom in a fresh kernel to the same arrays."""
        return self._ctl.log.to_notebook(path, overwrite=overwrite)

    def insert_code(self) -> None:
        """Put the code log into a new cell below the one running this call (Jupyter)."""
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise NotReadyError("insert_code() needs IPython/Jupyter; use wb.code instead.")
        shell.set_next_input(self.code, replace=False)

    # -- reacting to the front end ---------------------------------------------
    @t.observe("tilt_index", "view")
    def _on_view_change(self, change):
        if self._ready:
            self._tilt_asked = time.time()
            self._refresh_tilt()

    @t.observe("contrast", "contrast_limits", "contrast_mode")
    def _on_contrast_change(self, change):
        if not self._ready:
            return
        mode = {"contrast": "percentile", "contrast_limits": "manual"}.get(change["name"])
        if mode is not None and (mode != "manual" or self.contrast_limits):
            self._ready = False
            try:
                self.contrast_mode = mode  # assigning a setting chooses its mode
            finally:
                self._ready = True
        self._refresh_tilt()
        self._live.republish()

    def _contrast_for(self, kind: str) -> dict:
        """``frame()`` keywords for ``kind`` "projection" (projection, sinogram) or
        "slices", from the contrast mode."""
        if self.contrast_mode == "percentile":
            return {"contrast": self.contrast}
        if self.contrast_mode == "manual" and kind == "projection" and self.contrast_limits:
            return {"values": self.contrast_limits}
        return {}

    @t.observe("tilt_shift", "tilt_rotation", "slices", "nudges", "slice_method",
               "slice_iterations", "selected_slice")
    def _on_trial_change(self, change):
        if self._ready:
            self._refresh_overlay()
            self.request_slices()

    @t.observe("dragging")
    def _on_drag_change(self, change):
        if self._ready and not change["new"]:
            self.request_slices()  # refine at full resolution where the drag stopped

    @t.observe(*FRAMES)
    def _on_frame(self, change):
        self._push_frame(change["name"], change["new"])

    def _push_frame(self, name: str, frame: dict) -> None:
        """Send one frame to the views: its fields as JSON, its pixels as one buffer."""
        if frame:
            meta = {k: v for k, v in frame.items() if k != "data"}
            if name == "tilt_frame":
                meta["t_in"] = self._tilt_asked
                meta["atlas"] = self._atlas_key()
            meta["t_sent"] = time.time()  # the probe's breakdown of a latency (transport.js)
            self.send({"frame": name, **meta}, buffers=[frame["data"]])

    def _on_front_message(self, _widget, content, _buffers):
        if not isinstance(content, dict) or "action" not in content:
            return
        if content["action"] == "frames":  # a new view: send what is shown
            self._viewed = True
            self._send_atlas(resend=True)  # first: the projection frame carries its key
            for name in FRAMES:
                self._push_frame(name, getattr(self, name))
            return
        try:
            self.press(content["action"], **{k: v for k, v in content.items() if k != "action"})
        except Exception as err:  # a message from the browser must never kill the comm
            self._ctl.report(str(content.get("action")), err)

    def press(self, button: str, **options) -> None:
        """Press a button as the front end does (without blocking).

        ``button`` is one of ``register``, ``filter``, ``tilt_align``, ``apply_manual``,
        ``remove_projection``, ``remove_flagged``, ``crop``, ``reconstruct``, ``judge``,
        ``scan``, ``volume``, ``cancel``, ``undo``, ``redo``.
        """
        handlers = {
            "register": lambda: self.register(self.reg_method, block=False),
            "filter": lambda: self.filter(self.filter_method, block=False),
            "tilt_align": lambda: self.tilt_align(self.tilt_method, block=False),
            "apply_manual": lambda: self.apply_manual(block=False),
            "remove_projection": lambda: self.remove_projection(
                int(options.get("index", self.tilt_index)), block=False),
            "crop": lambda: self.crop(block=False, **self._crop_from_view(options)),
            "reconstruct": lambda: self.reconstruct(
                self.rec_method, block=False, **self._rec_options()),
            "remove_flagged": lambda: self.remove_flagged(block=False),
            "judge": self.judge,
            "scan": self.scan_tilt_axis,
            "volume": self._open_volume,
            "cancel": self.cancel,
            "undo": self.undo,
            "redo": self.redo,
        }
        if button not in handlers:
            raise InvalidArgumentError(f"Unknown button {button!r}; one of {sorted(handlers)}.")
        handlers[button]()

    def _rec_options(self) -> dict:
        if self.rec_method.upper() in ("FBP", "BP"):
            return {}
        return {"iterations": int(self.rec_iterations)}

    def _crop_from_view(self, options) -> dict:
        if "x" in options or "y" in options:
            return {k: options[k] for k in ("x", "y") if k in options}
        if len(self.view) != 4:
            raise InvalidArgumentError(
                "Zoom into the region to keep first (mouse wheel), then Crop.")
        _, _, (x0, y0, x1, y1) = _frames.view_window(self._shape()[1:], self.view)
        return {"x": (x0, x1), "y": (y0, y1)}

    # -- the verbs: each one is an Action -----------------------------------------
    def register(self, method: str = "PC", block: bool = True, **kwargs):
        """Register the projections (``stack.stack_register(method, **kwargs)``)."""
        return self._ctl.run(verbs.register(method, **kwargs), f"Registering ({method})", block)

    def tilt_align(self, method: str = "CoM", block: bool = True, **kwargs):
        """Align the tilt axis (``stack.tilt_align(method, **kwargs)``)."""
        return self._ctl.run(verbs.tilt_align(method, **kwargs),
                             f"Aligning the tilt axis ({method})", block)

    def filter(self, method: str, block: bool = True, **kwargs):
        """Filter the projections (``stack.filter(method, **kwargs)``)."""
        return self._ctl.run(verbs.filter_stack(method, **kwargs), f"Filtering ({method})",
                             block)

    def apply_manual(self, block: bool = True):
        """Commit the tilt-axis shift/rotation sliders (and projection nudges) to the stack.

        The sliders go back to zero: the stack now carries the correction.
        """
        actions = []
        if self.nudges:
            actions.append(verbs.shift_projections(
                {int(k): tuple(v) for k, v in self.nudges.items()}, self._shape()[0]))
        if self.tilt_shift != 0.0 or self.tilt_rotation != 0.0:
            actions.append(verbs.manual(self.tilt_shift, self.tilt_rotation))
        if not actions:
            self.status = "Nothing to apply: the shift, rotation and nudges are all zero."
            return self.stack

        def reset():
            self._ready = False
            try:
                self.tilt_shift, self.tilt_rotation, self.nudges = 0.0, 0.0, {}
            finally:
                self._ready = True
        return self._ctl.run(actions, "Applying the manual alignment", block, after=reset)

    def remove_projection(self, index: int | None = None, block: bool = True):
        """Remove one projection (default: the one shown)."""
        index = self.tilt_index if index is None else int(index)
        return self._ctl.run(verbs.remove_projections([index]), f"Removing projection {index}",
                             block)

    def remove_flagged(self, block: bool = True):
        """Remove every projection the quality report flags (one logged action)."""
        flagged = list(self.quality.get("flagged", []))
        if not flagged:
            self.status = "Nothing to remove: the quality report flags no projection."
            return self.stack
        return self._ctl.run(verbs.remove_projections(flagged),
                             f"Removing {len(flagged)} flagged projection(s)", block)

    def show_quality(self, report) -> None:
        """Show a quality report (``stack.quality()``'s contract: ``report.table`` with
        columns tilt, residual, ncc, dy, dx, flag; ``report.flagged``) in the strip under
        the tilt slider and beside the applied shifts. Kept until the projections change."""
        self.quality = _panels.quality(report, self._shape()[0])
        self._report = report if self.quality else None
        self.curves = _panels.curves(self._snap.stack, self._report)

    def show_scan(self, scan) -> None:
        """Show a tilt-axis scan (``stack.tilt_axis_scan()``'s contract: ``rotation``,
        ``offset``, ``uncertainty`` and the curve); a click on the curve sets the slider."""
        self.scan = _panels.scan(scan)
        self._scan, self._scan_of = scan, self._snap.stack

    def scan_tilt_axis(self, **kwargs) -> None:
        """Run the engine's ``stack.tilt_axis_scan(**kwargs)`` on its own thread (the
        sliders stay live) and show its curves in the scan pane (the Scan button): a click
        on the rotation curve sets ``tilt_rotation``, on the offset curve ``tilt_shift``
        (the scan's signs are the sliders'; Apply commits them). A measurement: the stack's
        history gets no line. Newest wins; the scan is dropped when the stack changes."""
        snap = self._snap
        if not callable(getattr(snap.stack, "tilt_axis_scan", None)):
            raise NotReadyError("This stack has no tilt_axis_scan(); pass a scan with "
                               "wb.show_scan(scan).")
        self.scan_note = "Scanning the tilt axis…"
        asked = time.perf_counter()

        def run():
            try:
                result = snap.stack.tilt_axis_scan(record=False, **kwargs)
            except Exception:
                if snap is self._snap:
                    self.scan_note = "The tilt-axis scan failed (see the status line)."
                raise
            if snap is self._snap:
                self.show_scan(result)
                self.scan_note = f"Scanned in {time.perf_counter() - asked:.1f} s."
        self._scanner.submit(run, supersede=True)

    def volume_view(self, **kwargs):
        """A 3D view of the latest reconstruction (``VolumeView``, ipyvolume)."""
        if self.rec is None:
            raise NotReadyError("No reconstruction yet: press Reconstruct (or call "
                               "wb.reconstruct()) first.")
        from ..volume import VolumeView

        return VolumeView(self.rec, **kwargs)

    def _open_volume(self) -> None:
        """The 3D-view button: a cell below that shows ``<name>.volume_view()``."""
        if self.rec is None:
            raise NotReadyError("No reconstruction yet: press Reconstruct first.")
        name = "wb"
        try:
            from IPython import get_ipython

            shell = get_ipython()
            names = [k for k, v in (shell.user_ns if shell else {}).items()
                     if v is self and not k.startswith("_")]
            name = names[0] if names else name
        except ImportError:
            pass
        self.send({"insert": f"{name}.volume_view()", "run": True})

    def crop(self, x=None, y=None, block: bool = True):
        """Keep columns ``x=(start, stop)`` and rows ``y=(start, stop)`` (pixel indices)."""
        return self._ctl.run(verbs.crop(x=x, y=y), "Cropping", block)

    def reconstruct(self, method: str = "FBP", block: bool = True, **kwargs):
        """Reconstruct the volume (``rec = stack.reconstruct(method, **kwargs)``).

        Returns the RecStack (``block=True``); the progress bar and Cancel work while
        it runs (from a button, or when called with ``block=False``).
        """
        return self._ctl.run(verbs.reconstruct(method, **kwargs), f"Reconstructing ({method})",
                             block)

    def convergence(self, algorithm: str = "SIRT", iterations: int = 50,
                    nslice: int | None = None, *, constrain: bool = True, run: bool = True,
                    **recon_kwargs):
        """A convergence plot (``ConvergenceView``, ipympl) of the current stack.

        ``recon_error`` runs on one slice (default: the selected slice line) in the
        background; picking an iteration count on it (its *Use* button or
        ``view.choose(k)``) reconstructs the volume through this workbench, so the choice
        is a line ``rec = stack.reconstruct(method=..., iterations=k, ...)`` in the code log,
        run on the job thread with progress and Cancel. Display it below the workbench.
        """
        from ..convergence import ConvergenceView

        column = int(self.slices[self.selected_slice]) if nslice is None else int(nslice)
        view = ConvergenceView(self.stack, nslice=column, algorithm=algorithm,
                               iterations=iterations, constrain=constrain, run=run,
                               **recon_kwargs)

        def apply(action):
            self._ctl.run(action, f"Reconstructing ({algorithm}, {view.chosen} iterations)",
                          block=False)

        view.on_choose(apply)
        return view

    def cancel(self) -> bool:
        """Ask the running step to stop; True when one was running."""
        return self._ctl.cancel()

    def undo(self):
        """Undo the last action (the code log loses its last line)."""
        return self._ctl.undo()

    def redo(self):
        """Redo the last undone action."""
        return self._ctl.redo()

    # -- refreshing the panes ------------------------------------------------------
    def _stack_changed(self, reset_view: bool = False):
        self._snap = snap = Snapshot.of(self._ctl.log.stack)
        n, ny, nx = snap.data.shape
        log = self._ctl.log
        self._ready = False
        try:
            self.stack_shape = [int(n), int(ny), int(nx)]
            self.tilt_angles = [float(a) for a in snap.tilts]
            self.tilt_index = min(self.tilt_index, n - 1)
            if any(s >= nx for s in self.slices):
                self.slices = align.default_slices(nx).tolist()
            if reset_view or (len(self.view) == 4 and (self.view[2] > nx or self.view[3] > ny)):
                self.view = []
            self.code = log.code
            self.can_undo, self.can_redo = log.can_undo, log.can_redo
        finally:
            self._ready = True
        self._refresh_tilt()
        self._refresh_overlay()
        self.request_slices()
        self._live.warm()  # the binned copy a drag previews on, before the first drag
        self._refresh_judging(judge=not reset_view)  # after each step (Judge: the first)
        self._refresh_volume()

    def _refresh_judging(self, judge: bool = True) -> None:
        """Curves now; the quality report (when the stack computes one) on its own thread,
        so the sliders stay live; a given report is kept while it fits the projections."""
        stack = self._snap.stack
        if self._report is not None and len(self._report.table) != self._shape()[0]:
            self._report, self.quality = None, {}
        if self._scan is not None and self._scan_of is not stack:  # it measured another
            self._scan, self.scan, self.scan_note = None, {}, ""
        self.curves = _panels.curves(stack, self._report)
        watcher = getattr(getattr(self, "live", None), "watcher", None)
        if getattr(watcher, "running", False):
            judge = False  # a growing series (``watch``): judged once stopped (Judge)
        if self.auto_quality and judge:
            self.judge(auto=True)

    def judge(self, auto: bool = False) -> None:
        """Run the quality report on its own thread (the sliders stay live) and show it in
        the strip and the curves: after every step that changes the stack (``auto_quality``,
        on by default) and from the Judge button. Newest wins: a report still running on a
        stack a newer step replaced is stopped, and only the current stack's is shown.

        The report is ``stack.quality(resolution=False, record=False)`` (the strip needs the
        table, not the FRC; the stack's history gets no measurement line per step, and the
        stack is only read, never touched, from this thread). ``timings`` gets
        ``("quality", seconds)``: from the step's end to the strip updated. A failure of an
        automatic report is shown beside the strip (``quality_note``), of a pressed one in
        the status line.
        """
        snap = self._snap
        if not callable(getattr(snap.stack, "quality", None)):
            return
        if auto and self._judged is snap.stack:
            return  # e.g. a cancelled step: the same stack, already judged
        self._judged = snap.stack
        asked = time.perf_counter()
        self.quality_note = "Judging the alignment…"

        def run():
            try:
                report = snap.stack.quality(resolution=False, record=False)
            except Exception as err:
                if snap.stack is self._snap.stack:
                    self.quality_note = f"Quality report failed: {error_line(err)}"
                    if not auto:
                        raise
                return
            # still the stack shown (a step that keeps the stack, e.g. a reconstruction,
            # makes a new snapshot of the same stack: the report is still its report)
            if snap.stack is self._snap.stack:
                self.show_quality(report)
                seconds = time.perf_counter() - asked
                self._live.timings.append(("quality", seconds))
                self.quality_note = f"Judged in {seconds:.1f} s."
        self._judge.submit(run, supersede=True)

    def _refresh_volume(self) -> None:
        rec = self.rec
        if rec is self._volume_of:
            return
        self._volume_of = rec
        self.has_volume = rec is not None
        if rec is not None:
            nx, nz, ny = np.asarray(rec.data).shape
            self._volume_limits = _panels.volume_limits(rec.data)
            self._ready = False
            try:
                self.ortho = [nx // 2, ny // 2, nz // 2]
            finally:
                self._ready = True
            self._refresh_ortho()

    @t.observe("ortho")
    def _on_ortho_change(self, change):
        if self._ready and self.rec is not None:
            self._refresh_ortho()

    def _refresh_ortho(self) -> None:
        frames = _panels.ortho_frames(np.asarray(self.rec.data), self.ortho,
                                      self._volume_limits)
        self.ortho_xy, self.ortho_xz, self.ortho_yz = frames["xy"], frames["xz"], frames["yz"]

    def _tilt_settings(self) -> tuple:
        """What a projection frame depends on besides the stack and the index (read once)."""
        contrast = self._contrast_for("projection")
        return (tuple(self.view), int(self.display_size),
                tuple((k, tuple(v)) for k, v in sorted(contrast.items())))

    def _tilt_frame(self, index: int, settings: tuple, snap: Snapshot | None = None) -> dict:
        snap = snap or self._snap
        view, size, contrast = settings
        atlas = self._atlas
        if atlas["stack"] is snap.stack and atlas["settings"] == settings:
            hit = atlas["frames"].get(index)
            if hit is not None:
                return hit
        hit = self._tilt_cache.get((index, settings))
        if hit is not None and hit[0] is snap.stack:
            return hit[1]
        rows, cols, window = _frames.view_window(snap.data.shape[-2:], list(view))
        image = np.asarray(snap.data[index, rows, cols], dtype=np.float32)
        out = _frames.frame(image, extra={"window": window, "index": int(index),
                                          "angle": float(snap.tilts[index])},
                            max_size=size, with_histogram=True,
                            **{k: list(v) for k, v in contrast})
        if len(self._tilt_cache) > 32:
            self._tilt_cache.clear()
        self._tilt_cache[(index, settings)] = (snap.stack, out)
        return out

    def _atlas_key(self) -> int:
        """The key of the atlas the views may paint from (-1: none, e.g. while zoomed)."""
        atlas = self._atlas
        if atlas["stack"] is self._snap.stack and atlas["settings"] == self._tilt_settings():
            return int(atlas["key"])
        return -1

    def _send_atlas(self, resend: bool = False) -> None:
        """Make (or, ``resend``, send again) every projection's frame of the whole view off
        the message thread, in chunks of about 2 MB; a new stack or display setting starts
        a new atlas (newest wins). Each frame waits for the live slices being computed, so
        a drag is not slowed; too large a stack (over ``ATLAS_BYTES``) has none."""
        snap, settings = self._snap, self._tilt_settings()
        n, ny, nx = snap.data.shape
        if settings[0] or not self._viewed:  # zoomed: frames follow the window (prefetched)
            return
        factor = _frames.reduction_factor((ny, nx), settings[1])
        pixels = n * -(-ny // factor) * -(-nx // factor)
        if pixels > ATLAS_BYTES:
            return
        atlas = self._atlas
        if not (atlas["stack"] is snap.stack and atlas["settings"] == settings):
            self._atlas = atlas = {"key": atlas["key"] + 1, "stack": snap.stack,
                                   "settings": settings, "frames": {}}
        elif not resend:
            return
        key = atlas["key"]
        per_chunk = max(1, (2 << 20) // max(1, pixels // n))

        def build():
            for start in range(0, n, per_chunk):
                chunk = []
                for i in range(start, min(n, start + per_chunk)):
                    self._live.wait(0.5)  # the live slices go first
                    if self._atlas["key"] != key:
                        return
                    frame = atlas["frames"].get(i) or self._tilt_frame(i, settings, snap)
                    atlas["frames"][i] = frame
                    chunk.append(frame)
                meta = [{k: v for k, v in f.items() if k != "data"} for f in chunk]
                self.send({"frame": "tilt_atlas", "key": key, "frames": meta},
                          buffers=[b"".join(f["data"] for f in chunk)])
        self._atlas_worker.submit(build)

    def _refresh_tilt(self):
        """Send the projection shown (from the atlas or the cache when it was made ahead);
        zoomed in, prepare its neighbours off the message thread: stepping only sends."""
        index, snap, settings = int(self.tilt_index), self._snap, self._tilt_settings()
        self._send_atlas()  # a new atlas first: the frame below carries its key
        self.tilt_frame = self._tilt_frame(index, settings)
        if self._atlas_key() >= 0:
            return  # the atlas brings the neighbours
        n = snap.data.shape[0]
        todo = [i for i in (index + 1, index - 1, index + 2, index - 2) if 0 <= i < n]

        def prefetch():
            for i in todo:
                if self._snap is not snap:
                    return
                self._tilt_frame(i, settings)
        self._prefetch.submit(prefetch)

    @t.observe("display_size")
    def _on_display_size(self, change):
        if self._ready:
            self._refresh_tilt()
            self._live.republish()

    def _refresh_overlay(self):
        self.overlay = _frames.overlay(self._snap.data.shape, self.tilt_shift,
                                       self.tilt_rotation, self.slices)

    def request_slices(self) -> None:
        """Recompute the live slices for the current traits (newest request wins)."""
        self._live.submit()

    def _send_frames(self, slices_frame: dict, sino_frame: dict) -> None:
        """Send the sinogram, then the slice frame (the front end's 'drawn' counter
        follows the slices)."""
        self.sino_frame = sino_frame
        self.slices_frame = slices_frame

    def shutdown(self) -> None:
        """Stop the live-slice thread (the widget stops updating its slices)."""
        self._live.close()
        self._judge.close()
        self._scanner.close()
        self._prefetch.close()
        self._atlas_worker.close()
