"""AlignmentWorkbench: see, align and judge a tilt series in one widget.

State lives in traitlets (the contract with ``js/workbench.js``); images cross as
display-sized uint8 ``bytes`` inside frame dicts (shape and data arrive together);
every step that changes the data is an [`Action`][etspy_widgets.actions.Action]
executed from the very line the code log shows. Live slices run on a worker thread
where the newest slider value wins; long steps run on a job thread with progress
and cancel.
"""

from __future__ import annotations

import inspect
import threading
import time
import traceback
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from ..actions import ActionLog, Cancelled, verbs
from . import _panes
from ._worker import JobRunner, LatestWorker, describe

REGISTRATION_METHODS = ["PC", "StackReg", "COM", "COM-CL", "PM"]
FILTER_METHODS = ["median", "sobel", "both", "bpf"]
TILT_METHODS = ["CoM", "MaxImage"]
RECON_METHODS = ["FBP", "SIRT", "SART", "CGLS", "TV", "BP", "DART"]
SLICE_METHODS = ["FBP", "SIRT", "SART"]
COLORMAPS = ["gray", "viridis", "magma", "afmhot", "inferno"]


def _asset(name: str):
    """The front-end file: ``js/`` beside the package (development), else the packaged
    ``etspy_widgets/static/`` copy; without either, a module that says so in the widget."""
    here = Path(__file__).resolve()
    for folder in (here.parents[2] / "js", here.parents[1] / "static"):
        path = folder / name
        if path.is_file():
            return path
    message = (f"etspy-widgets: the workbench front end {name} is missing from this "
               "installation (expected in js/ or etspy_widgets/static/).")
    if name.endswith(".css"):
        return ""
    return ("export default { render({ el }) { el.textContent = "
            f"{message!r}; }} }};")


class AlignmentWorkbench(anywidget.AnyWidget):
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

    _esm = _asset("workbench.js")
    _css = _asset("workbench.css")

    # -- what is shown ---------------------------------------------------------
    tilt_index = t.Int(0).tag(sync=True)
    slices = t.List(t.Int(), minlen=3, maxlen=3, default_value=[0, 0, 0]).tag(sync=True)
    selected_slice = t.Int(1).tag(sync=True)
    tilt_shift = t.Float(0.0).tag(sync=True)
    tilt_rotation = t.Float(0.0).tag(sync=True)
    nudges = t.Dict().tag(sync=True)  # {"index": [dy, dx]} trial per-projection shifts
    dragging = t.Bool(False).tag(sync=True)
    slice_method = t.Unicode("FBP").tag(sync=True)
    slice_iterations = t.Int(20).tag(sync=True)
    # -- display ---------------------------------------------------------------
    cmap = t.Unicode("gray").tag(sync=True)
    contrast = t.List(t.Float(), minlen=2, maxlen=2, default_value=[0.5, 99.5]).tag(sync=True)
    view = t.List(t.Float(), default_value=[]).tag(sync=True)  # tilt-pane zoom [x0,y0,x1,y1]
    tilt_frame = t.Dict().tag(sync=True)
    sino_frame = t.Dict().tag(sync=True)
    slices_frame = t.Dict().tag(sync=True)
    overlay = t.Dict().tag(sync=True)
    # -- data facts ------------------------------------------------------------
    stack_shape = t.List(t.Int()).tag(sync=True)
    tilt_angles = t.List(t.Float()).tag(sync=True)
    # -- controls --------------------------------------------------------------
    choices = t.Dict().tag(sync=True)
    reg_method = t.Unicode("PC").tag(sync=True)
    filter_method = t.Unicode("median").tag(sync=True)
    tilt_method = t.Unicode("CoM").tag(sync=True)
    rec_method = t.Unicode("FBP").tag(sync=True)
    rec_iterations = t.Int(20).tag(sync=True)
    # -- status ----------------------------------------------------------------
    status = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    job = t.Unicode("").tag(sync=True)
    progress = t.Float(-1.0).tag(sync=True)  # 0..1 while a job reports, else -1
    code = t.Unicode("").tag(sync=True)
    can_undo = t.Bool(False).tag(sync=True)
    can_redo = t.Bool(False).tag(sync=True)

    def __init__(self, stack=None, source: str | None = None, slices=None, **kwargs):
        unknown = [k for k in kwargs if not self.has_trait(k) or k.endswith("_frame")]
        if unknown:
            raise TypeError(f"AlignmentWorkbench got unknown argument(s) {unknown}; "
                            f"settable: {sorted(self._settable())}.")
        if stack is not None and not hasattr(stack, "tilt_values"):
            from ..engine.signals import as_tomostack

            stack = as_tomostack(stack)
        self._log = ActionLog(stack, source)
        self._snap = _panes.Snapshot.of(self._log.stack)
        self._slice_engine = _panes.SliceEngine()
        self._slice_lock = threading.Lock()
        self._slices_float: np.ndarray | None = None
        self._sinos_float: np.ndarray | None = None
        self._shown_request: _panes.SliceRequest | None = None
        self._seq = 0
        self._ready = False
        self.last_traceback = ""
        self.timings: list[tuple[str, float]] = []  # (what, seconds) of recent computations
        self._preview = LatestWorker(self._preview_failed)
        self._jobs = JobRunner(self._job_done, self._job_failed)
        self._last_seconds = 0.0
        super().__init__(**kwargs)
        self.choices = {"registration": REGISTRATION_METHODS, "filter": FILTER_METHODS,
                        "tilt": TILT_METHODS, "reconstruction": RECON_METHODS,
                        "slices": SLICE_METHODS, "cmap": COLORMAPS}
        nx = self._snap.data.shape[-1]
        if slices is None:
            from ..engine.align._slices import default_slices

            slices = default_slices(nx).tolist()
        self.slices = [int(s) for s in slices]
        self._ready = True
        self._stack_changed(reset_view=True)
        self.status = "Ready."
        self.on_msg(self._on_front_message)

    @classmethod
    def from_source(cls, source: str, **kwargs) -> AlignmentWorkbench:
        """Build the workbench by executing ``source`` (logged as the script's first line)."""
        return cls(None, source=source, **kwargs)

    def _settable(self):
        return [k for k in self.traits(sync=True) if not k.startswith("_")
                and not k.endswith("_frame") and k not in ("code", "status", "error")]

    # -- public state ------------------------------------------------------------
    @property
    def stack(self):
        """The current TomoStack, with every applied action."""
        return self._log.stack

    @property
    def rec(self):
        """The latest reconstruction (RecStack), or None."""
        return self._log.rec

    @property
    def log(self) -> ActionLog:
        """The code log (actions, undo/redo, script)."""
        return self._log

    def slice_images(self) -> np.ndarray:
        """The three reconstructed slices now displayed, ``(3, thickness, ny)`` float32.

        Waits for pending slider work first, so it reflects the current traits.
        """
        self.wait()
        request = self._request(preview=False)
        with self._slice_lock:
            if self._slices_float is None or self._shown_request != request:
                shown = None
            else:
                shown = self._slices_float.copy()
        if shown is None:  # e.g. the last frame was a drag preview: refine now
            self._compute_slices(request)
            with self._slice_lock:
                shown = self._slices_float.copy()
        return shown

    def wait(self, timeout: float | None = None) -> bool:
        """Block until pending work (live slices and any running step) is done."""
        end = None if timeout is None else time.monotonic() + timeout
        left = lambda: None if end is None else max(0.0, end - time.monotonic())  # noqa: E731
        ok = self._jobs.wait(left())
        return self._preview.wait(left()) and ok

    def export(self, path, overwrite: bool = True) -> str:
        """Write the code log to ``path`` atomically; return the path."""
        return self._log.export(path, overwrite=overwrite)

    def insert_code(self) -> None:
        """Put the code log into a new cell below the one running this call (Jupyter)."""
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("insert_code() needs IPython/Jupyter; use wb.code instead.")
        shell.set_next_input(self.code, replace=False)

    # -- validation --------------------------------------------------------------
    @t.validate("tilt_index")
    def _check_tilt_index(self, proposal):
        value, n = int(proposal["value"]), self._n_tilts()
        if not 0 <= value < n:
            raise t.TraitError(f"tilt_index must be in 0..{n - 1} (the stack has {n} "
                               f"projections); got {value}.")
        return value

    @t.validate("slices")
    def _check_slices(self, proposal):
        nx = self._snap.data.shape[-1]
        values = [int(v) for v in proposal["value"]]
        bad = [v for v in values if not 0 <= v < nx]
        if bad:
            raise t.TraitError(f"slices must be 3 columns in 0..{nx - 1}; got {values}.")
        return values

    @t.validate("tilt_shift", "tilt_rotation")
    def _check_finite(self, proposal):
        value = float(proposal["value"])
        if not np.isfinite(value):
            raise t.TraitError(f"{proposal['trait'].name} must be a finite number; got {value}.")
        return value

    @t.validate("selected_slice")
    def _check_selected(self, proposal):
        value = int(proposal["value"])
        if not 0 <= value <= 2:
            raise t.TraitError(f"selected_slice is 0, 1 or 2; got {value}.")
        return value

    @t.validate("contrast")
    def _check_contrast(self, proposal):
        lo, hi = (float(v) for v in proposal["value"])
        if not 0.0 <= lo < hi <= 100.0:
            raise t.TraitError(f"contrast is [low, high] percentiles with 0 ≤ low < high ≤ 100; "
                               f"got {[lo, hi]}.")
        return [lo, hi]

    @t.validate("slice_method")
    def _check_slice_method(self, proposal):
        from ..engine.errors import check_method

        try:
            return check_method("slice method", proposal["value"], SLICE_METHODS)
        except ValueError as err:
            raise t.TraitError(str(err)) from None

    @t.validate("nudges")
    def _check_nudges(self, proposal):
        n, out = self._n_tilts(), {}
        for key, value in dict(proposal["value"]).items():
            index = int(key)
            if not 0 <= index < n or len(value) != 2 or not np.isfinite(value).all():
                raise t.TraitError(f"nudges maps a projection index (0..{n - 1}) to a finite "
                                   f"[dy, dx]; got {key!r}: {value!r}.")
            if any(float(v) != 0.0 for v in value):
                out[str(index)] = [float(value[0]), float(value[1])]
        return out

    def _n_tilts(self) -> int:
        return int(self._snap.data.shape[0])

    # -- reacting to the front end ---------------------------------------------
    @t.observe("tilt_index", "view", "contrast")
    def _on_view_change(self, change):
        if self._ready:
            self._refresh_tilt()
            if change["name"] == "contrast":
                self._republish_slices()

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

    def _on_front_message(self, _widget, content, _buffers):
        """Buttons of the front end: ``{"action": name, ...}``."""
        if not isinstance(content, dict) or "action" not in content:
            return
        try:
            self.press(content["action"], **{k: v for k, v in content.items()
                                             if k != "action"})
        except Exception as err:  # shown in the status line, never lost
            self._report(f"{content.get('action')}", err)

    def press(self, button: str, **options) -> None:
        """Do what a front-end button does (non-blocking for long steps).

        ``button`` is one of ``register``, ``filter``, ``tilt_align``, ``apply_manual``,
        ``remove_projection``, ``crop``, ``reconstruct``, ``cancel``, ``undo``, ``redo``.
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
            "cancel": self.cancel,
            "undo": self.undo,
            "redo": self.redo,
        }
        if button not in handlers:
            raise ValueError(f"Unknown button {button!r}; one of {sorted(handlers)}.")
        handlers[button]()

    def _rec_options(self) -> dict:
        if self.rec_method.upper() in ("FBP", "BP"):
            return {}
        return {"iterations": int(self.rec_iterations)}

    def _crop_from_view(self, options) -> dict:
        if "x" in options or "y" in options:
            return {k: options[k] for k in ("x", "y") if k in options}
        if len(self.view) != 4:
            raise ValueError("Zoom into the region to keep first (mouse wheel), then Crop.")
        ny, nx = self._snap.data.shape[-2:]
        _, _, (x0, y0, x1, y1) = _panes.view_window((ny, nx), self.view)
        return {"x": (x0, x1), "y": (y0, y1)}

    # -- the verbs: each one is an Action -----------------------------------------
    def register(self, method: str = "PC", block: bool = True, **kwargs):
        """Register the projections (``stack.stack_register(method, **kwargs)``)."""
        return self._run(verbs.register(method, **kwargs), f"Registering ({method})", block)

    def tilt_align(self, method: str = "CoM", block: bool = True, **kwargs):
        """Align the tilt axis (``stack.tilt_align(method, **kwargs)``)."""
        return self._run(verbs.tilt_align(method, **kwargs), f"Aligning the tilt axis ({method})",
                         block)

    def filter(self, method: str, block: bool = True, **kwargs):
        """Filter the projections (``stack.filter(method, **kwargs)``)."""
        return self._run(verbs.filter_stack(method, **kwargs), f"Filtering ({method})", block)

    def apply_manual(self, block: bool = True):
        """Commit the tilt-axis shift/rotation sliders (and projection nudges) to the stack.

        The sliders go back to zero: the stack now carries the correction.
        """
        actions = []
        if self.nudges:
            actions.append(verbs.shift_projections(
                {int(k): tuple(v) for k, v in self.nudges.items()}, self._n_tilts()))
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
        return self._run(actions, "Applying the manual alignment", block, after=reset)

    def remove_projection(self, index: int | None = None, block: bool = True):
        """Remove one projection (default: the one shown)."""
        index = self.tilt_index if index is None else int(index)
        return self._run(verbs.remove_projections([index]), f"Removing projection {index}",
                         block)

    def crop(self, x=None, y=None, block: bool = True):
        """Keep columns ``x=(start, stop)`` and rows ``y=(start, stop)`` (pixel indices)."""
        return self._run(verbs.crop(x=x, y=y), "Cropping", block)

    def reconstruct(self, method: str = "FBP", block: bool = True, **kwargs):
        """Reconstruct the volume (``rec = stack.reconstruct(method, **kwargs)``).

        Returns the RecStack (``block=True``); the progress bar and Cancel work while
        it runs (from a button, or when called with ``block=False``).
        """
        return self._run(verbs.reconstruct(method, **kwargs), f"Reconstructing ({method})",
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
        from .convergence import ConvergenceView

        column = int(self.slices[self.selected_slice]) if nslice is None else int(nslice)
        view = ConvergenceView(self.stack, nslice=column, algorithm=algorithm,
                               iterations=iterations, constrain=constrain, run=run,
                               **recon_kwargs)

        def apply(action):
            self._run(action, f"Reconstructing ({algorithm}, {view.chosen} iterations)",
                      block=False)

        view.on_choose(apply)
        return view

    def cancel(self) -> bool:
        """Ask the running step to stop; True when one was running."""
        asked = self._jobs.cancel()
        self.status = (f"Cancelling {self._jobs.label}…" if asked else "Nothing to cancel.")
        return asked

    def undo(self):
        """Undo the last action (the code log loses its last line)."""
        self._refuse_if_busy("undo")
        action = self._log.undo()
        self.status = "Nothing to undo." if action is None else f"Undone: {action.comment}."
        self._stack_changed()
        return action

    def redo(self):
        """Redo the last undone action."""
        self._refuse_if_busy("redo")
        action = self._log.redo()
        self.status = "Nothing to redo." if action is None else f"Redone: {action.comment}."
        self._stack_changed()
        return action

    def _refuse_if_busy(self, what):
        if self._jobs.busy:
            raise RuntimeError(f"Cannot {what} while {self._jobs.label} runs: wait or Cancel.")

    # -- running steps -------------------------------------------------------------
    def _run(self, actions, label: str, block: bool, after=None):
        actions = actions if isinstance(actions, list) else [actions]
        outcome: dict = {}

        def body(cancel):
            started = time.perf_counter()
            try:
                result = None
                for action in actions:
                    result = self._log.apply(action, self._controls(action, cancel), cancel)
                if after is not None:
                    after()
            except BaseException as err:
                outcome["error"] = err
                raise
            self._last_seconds = time.perf_counter() - started
            outcome["result"] = result
            return result

        self.error = ""
        self.busy, self.job, self.progress = True, label, -1.0
        self.status = f"{label}…"
        try:
            thread = self._jobs.start(label, body)
        except RuntimeError:
            self.busy = self._jobs.busy
            raise
        if not block:
            return None
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _controls(self, action, cancel) -> dict:
        """Run-time keywords the verb accepts that steer it without changing its result."""
        receiver = self._log.state.get(action.receiver) if action.receiver else None
        method = getattr(receiver, action.verb, None) if receiver is not None else None
        if method is None or action.verb == "isig":
            return {}
        try:
            params = inspect.signature(method).parameters
        except (TypeError, ValueError):
            return {}
        given = action.arguments
        controls = {}
        if "show_progressbar" in params and "show_progressbar" not in given:
            controls["show_progressbar"] = False
        if "cancel" in params:
            controls["cancel"] = cancel
        if "callbacks" in params and action.verb == "reconstruct":
            nx = int(np.asarray(receiver.data).shape[-1])
            iterations = int(given.get("iterations", params["iterations"].default)
                             if "iterations" in params else 1)
            controls["callbacks"] = [self._progress_callback(max(1, nx * iterations))]
        return controls

    def _progress_callback(self, total: int):
        """A ``cb(algorithm)`` counting slice-iterations (``algorithm.k`` slices each call)."""
        lock = threading.Lock()
        state = {"done": 0, "last": 0.0}

        def report(algorithm):
            with lock:
                state["done"] += int(getattr(algorithm, "k", 1))
                fraction = min(1.0, state["done"] / total)
                now = time.monotonic()
                if fraction < 1.0 and now - state["last"] < 0.1:
                    return  # at most 10 updates a second
                state["last"] = now
            self.progress = fraction
        return report

    def _job_done(self, label, result):
        self.busy, self.progress = False, -1.0
        self._stack_changed()
        self.status = f"{label}: done in {self._last_seconds:.1f} s."

    def _job_failed(self, label, err):
        self.busy, self.progress = False, -1.0
        cancelled = isinstance(err, Cancelled)
        if cancelled:
            self.status = f"Cancelled: {label}. Nothing changed."
            self.error = ""
        else:
            self._report(label, err)
        self._stack_changed()

    def _report(self, what, err):
        self.last_traceback = "".join(traceback.format_exception(err))
        self.error = describe(err)
        self.status = f"{what} failed: {self.error}"

    # -- refreshing the panes ------------------------------------------------------
    def _stack_changed(self, reset_view: bool = False):
        self._snap = snap = _panes.Snapshot.of(self._log.stack)
        n, ny, nx = snap.data.shape
        self._ready = False
        try:
            self.stack_shape = [int(n), int(ny), int(nx)]
            self.tilt_angles = [float(a) for a in snap.tilts]
            self.tilt_index = min(self.tilt_index, n - 1)
            if any(s >= nx for s in self.slices):
                from ..engine.align._slices import default_slices

                self.slices = default_slices(nx).tolist()
            if reset_view or (len(self.view) == 4 and (self.view[2] > nx or self.view[3] > ny)):
                self.view = []
            self.code = self._log.code
            self.can_undo, self.can_redo = self._log.can_undo, self._log.can_redo
        finally:
            self._ready = True
        self._refresh_tilt()
        self._refresh_overlay()
        self.request_slices()

    def _refresh_tilt(self):
        snap = self._snap
        rows, cols, window = _panes.view_window(snap.data.shape[-2:], self.view)
        image = np.asarray(snap.data[self.tilt_index, rows, cols], dtype=np.float32)
        angle = float(snap.tilts[self.tilt_index])
        self.tilt_frame = _panes.image_frame(image, self.contrast, {
            "window": window, "index": int(self.tilt_index), "angle": angle})

    def _refresh_overlay(self):
        self.overlay = _panes.overlay(self._snap, self.tilt_shift, self.tilt_rotation,
                                      self.slices)

    def _request(self, preview: bool) -> _panes.SliceRequest:
        nudges = tuple(sorted((int(k), float(v[0]), float(v[1]))
                              for k, v in self.nudges.items()))
        return _panes.SliceRequest(float(self.tilt_shift), float(self.tilt_rotation),
                                   tuple(int(s) for s in self.slices), self.slice_method,
                                   int(self.slice_iterations), preview, nudges)

    def request_slices(self) -> None:
        """Recompute the live slices for the current traits (newest request wins)."""
        request = self._request(preview=bool(self.dragging))
        self._seq += 1
        seq = self._seq
        self._preview.submit(lambda: self._compute_slices(request, seq))

    def _compute_slices(self, request, seq: int = 0):
        started = time.perf_counter()
        rec, sino, factor = self._slice_engine.run(self._snap, request)
        computed = time.perf_counter()
        with self._slice_lock:
            if factor == 1:
                self._slices_float = rec
                self._shown_request = _panes.SliceRequest(**{**request.__dict__,
                                                             "preview": False})
            self._sinos_float = sino
        self._publish_slices(rec, sino, request, factor, seq)
        self.timings.append(("slices", computed - started))
        del self.timings[:-200]

    def _publish_slices(self, rec, sino, request, factor, seq):
        sel = int(self.selected_slice)
        level = "preview" if factor > 1 else "full"
        info = {"seq": seq, "level": level, "tilt_shift": request.tilt_shift,
                "tilt_rotation": request.tilt_rotation, "slices": list(request.slices),
                "time": time.time()}
        frame = _panes.stack_frame(rec, self.contrast, info)
        sino_frame = _panes.image_frame(sino[sel], self.contrast,
                                        {"slice": int(request.slices[sel]), "level": level,
                                         "seq": seq, "factor_data": factor})
        self.hold_sync_frames(frame, sino_frame)

    def hold_sync_frames(self, slices_frame: dict, sino_frame: dict) -> None:
        """Send the slice and sinogram frames together."""
        self.sino_frame = sino_frame
        self.slices_frame = slices_frame

    def _republish_slices(self):
        with self._slice_lock:
            rec, sino, request = self._slices_float, self._sinos_float, self._shown_request
        if rec is not None and request is not None and sino is not None:
            self._publish_slices(rec, sino, request, 1, self._seq)

    def _preview_failed(self, err):
        self._report("Live slices", err)

    def shutdown(self) -> None:
        """Stop the live-slice thread (the widget stops updating its slices)."""
        self._preview.close()
