"""The workbench's controller: the code log, the job thread, progress, cancel, undo/redo.

Every step that changes the data is an [`Action`][etspy_widgets.actions.Action] applied
through the [`ActionLog`][etspy_widgets.actions.ActionLog] on a
[`JobRunner`][etspy_widgets.widgets._worker.JobRunner] thread. The controller hands the
verb only run-time controls (keywords that steer a run without changing its result:
no progress bar on the kernel's output, the cancel event, a progress callback) and
reports to the widget through its status traits.
"""

from __future__ import annotations

import inspect
import threading
import time
import traceback

import numpy as np

from ...actions import ActionLog
from ...engine.errors import Cancelled, NotReadyError
from ...engine.signals import RUNTIME_CONTROLS
from .._worker import JobRunner, error_line


def accepted_controls(method) -> set[str]:
    """The run-time control names ``method`` (a bound verb) takes."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return set()
    return {name for name in RUNTIME_CONTROLS if name in params}


class Controller:
    """Runs the widget's actions: one at a time, off the kernel's message thread.

    Parameters
    ----------
    widget
        Receives ``busy``, ``job``, ``progress``, ``status``, ``error`` and is told
        ``widget._stack_changed()`` after every change of the log.
    stack, source
        As for [`ActionLog`][etspy_widgets.actions.ActionLog].
    """

    def __init__(self, widget, stack=None, source: str | None = None):
        self._widget = widget
        self.log = ActionLog(stack, source)
        self._jobs = JobRunner(self._done, self._failed)
        self._last_seconds = 0.0
        self.last_traceback = ""

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    # -- running -----------------------------------------------------------------
    def run(self, actions, label: str, block: bool, after=None):
        """Apply ``actions`` (one or a list) on the job thread; with ``block`` return the
        last result (and raise its error), else return None at once."""
        actions = actions if isinstance(actions, list) else [actions]
        outcome: dict = {}

        def body(cancel):
            started = time.perf_counter()
            try:
                result = None
                for action in actions:
                    result = self.log.apply(action, self.controls(action, cancel), cancel)
                if after is not None:
                    after()
            except BaseException as err:
                outcome["error"] = err
                raise
            self._last_seconds = time.perf_counter() - started
            outcome["result"] = result
            return result

        w = self._widget
        w.error = ""
        w.busy, w.job, w.progress = True, label, -1.0
        w.status = f"{label}…"
        try:
            thread = self._jobs.start(label, body)
        except RuntimeError:
            w.busy = self._jobs.busy
            raise
        if not block:
            return None
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def controls(self, action, cancel) -> dict:
        """The run-time controls ``action``'s verb accepts, with this run's values."""
        receiver = self.log.state.get(action.receiver) if action.receiver else None
        method = getattr(receiver, action.verb, None) if receiver is not None else None
        if method is None or action.verb == "isig":
            return {}
        names, given = accepted_controls(method), action.arguments
        controls = {}
        if "show_progressbar" in names and "show_progressbar" not in given:
            controls["show_progressbar"] = False
        if "cancel" in names:
            controls["cancel"] = cancel
        if "callbacks" in names and action.verb == "reconstruct":
            params = inspect.signature(method).parameters
            nx = int(np.asarray(receiver.data).shape[-1])
            iterations = int(given.get("iterations", params["iterations"].default)
                             if "iterations" in params else 1)
            controls["callbacks"] = [self.progress_callback(max(1, nx * iterations))]
        return controls

    def progress_callback(self, total: int):
        """A ``cb(algorithm)`` counting slice-iterations (``algorithm.k`` slices each call),
        at most 10 updates a second to ``widget.progress``."""
        lock = threading.Lock()
        state = {"done": 0, "last": 0.0}

        def report(algorithm):
            with lock:
                state["done"] += int(getattr(algorithm, "k", 1))
                fraction = min(1.0, state["done"] / total)
                now = time.monotonic()
                if fraction < 1.0 and now - state["last"] < 0.1:
                    return
                state["last"] = now
            self._widget.progress = fraction
        return report

    def _done(self, label, result):
        w = self._widget
        w.busy, w.progress = False, -1.0
        w._stack_changed()
        w.status = f"{label}: done in {self._last_seconds:.1f} s."

    def _failed(self, label, err):
        w = self._widget
        w.busy, w.progress = False, -1.0
        if isinstance(err, Cancelled):
            w.status = f"Cancelled: {label}. Nothing changed."
            w.error = ""
        else:
            self.report(label, err)
        w._stack_changed()

    def report(self, what: str, err: BaseException) -> None:
        """Show ``err`` in the status line; keep its traceback in ``last_traceback``."""
        w = self._widget
        self.last_traceback = "".join(traceback.format_exception(err))
        w.error = error_line(err)
        w.status = f"{what} failed: {w.error}"

    # -- cancel, undo, redo ----------------------------------------------------------
    def cancel(self) -> bool:
        asked = self._jobs.cancel()
        self._widget.status = (f"Cancelling {self._jobs.label}…" if asked
                               else "Nothing to cancel.")
        return asked

    def undo(self):
        return self._step("undo", self.log.undo, "Undone", "Nothing to undo.")

    def redo(self):
        return self._step("redo", self.log.redo, "Redone", "Nothing to redo.")

    def _step(self, what, fn, done, nothing):
        if self._jobs.busy:
            raise NotReadyError(f"Cannot {what} while {self._jobs.label} runs: wait or Cancel.")
        action = fn()
        self._widget.status = nothing if action is None else f"{done}: {action.comment}."
        self._widget._stack_changed()
        return action

    def wait(self, timeout: float | None = None) -> bool:
        return self._jobs.wait(timeout)
