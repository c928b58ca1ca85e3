"""Work off the kernel's message thread: newest-wins previews and cancellable jobs.

* ``LatestWorker`` runs one request at a time; a request submitted while one
  runs replaces any request still waiting (stale requests are dropped, never
  queued), so after the last slider event the display catches up within one
  compute time.
* ``JobRunner`` runs one long job (registration, reconstruction) at a time on
  its own thread, with a cancel event and a progress callback; a second job while
  one runs is refused with a message, not queued silently.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable

from ..engine.errors import NotReadyError


class Superseded(Exception):
    """Raised inside a request a newer one replaced (``submit(..., supersede=True)``)."""


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _ours(frame) -> bool:
    """Whether ``frame`` runs this package's code (where a ``Superseded`` may unwind: its
    locks are ``with`` blocks)."""
    return frame is not None and frame.f_code.co_filename.startswith(_PACKAGE)


def error_line(err: BaseException) -> str:
    """One line that says what went wrong, with the exception class."""
    text = str(err).strip() or repr(err)
    return f"{type(err).__name__}: {text}"


class LatestWorker:
    """A daemon thread that runs the newest submitted callable; older waiting ones are dropped.

    Parameters
    ----------
    on_error : callable
        Called with the exception of a failed request (from the worker thread).
    name : str
        Thread name (shown in debuggers).
    stoppable : bool
        Whether ``submit(fn, supersede=True)`` may stop the request running (a trace hook
        on the worker's thread while a request runs; off for the live previews).
    """

    def __init__(self, on_error: Callable[[BaseException], None], name: str = "preview",
                 stoppable: bool = False):
        self._on_error = on_error
        self._stoppable = stoppable  # requests can be superseded while they run
        self._cond = threading.Condition()
        self._pending: Callable | None = None
        self._running = False
        self._closed = False
        self._stale = False  # the running request was superseded: stop it
        self.submitted = 0
        self.completed = 0
        self.dropped = 0
        self.superseded = 0
        self._thread = threading.Thread(target=self._loop, name=f"etw-{name}", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], object], supersede: bool = False) -> None:
        """Ask for ``fn`` to run; replaces a request that has not started yet.

        With ``supersede`` the request running now is stopped too: ``Superseded`` is raised
        in it at its next call from one of this package's functions into another (a trace
        hook on this worker's thread only, set while a request runs; never inside a
        library, whose locks it would leave held), so a long computation of a stale state
        ends within one step of the engine instead of running to its end.
        """
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            if supersede and self._running and self._stoppable:
                self._stale = True
            self._pending = fn
            self.submitted += 1
            self._cond.notify_all()

    def _trace(self, frame, event, arg):
        # only at a call from this package's code into this package's code: raised inside
        # a library (numba's compiler and LLVM locks take the lock, then call Python
        # callbacks), the exception leaves the library's lock held, and the next thread that
        # compiles waits for ever (seen: a reconstruction hung after a superseded report)
        if self._stale and _ours(frame) and _ours(frame.f_back):
            self._stale = False
            raise Superseded("a newer request replaced this one")

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                fn, self._pending = self._pending, None
                self._running, self._stale = True, False
            try:
                if self._stoppable:
                    sys.settrace(self._trace)
                try:
                    fn()
                finally:
                    if self._stoppable:
                        sys.settrace(None)
            except Superseded:
                self.superseded += 1
            except BaseException as err:
                try:
                    self._on_error(err)
                except Exception:  # the reporter itself failed: last resort
                    traceback.print_exc()
            finally:
                with self._cond:
                    self._running, self._stale = False, False
                    self.completed += 1
                    self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._pending is None and not self._running, timeout=timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()


class JobRunner:
    """Runs one long job at a time on a daemon thread, cancellable.

    Parameters
    ----------
    on_done : callable(label, result)
    on_error : callable(label, exception)
        Called from the job thread when a job ends (``Cancelled`` included).
    """

    def __init__(self, on_done, on_error):
        self._on_done = on_done
        self._on_error = on_error
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self.label = ""

    @property
    def busy(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, label: str, fn: Callable[[threading.Event], object]) -> threading.Thread:
        """Run ``fn(cancel_event)`` on a new thread.

        Raises
        ------
        RuntimeError
            If another job is still running.
        """
        with self._lock:
            if self.busy:
                raise NotReadyError(
                    f"{self.label} is still running: wait for it (wb.wait()) or press Cancel."
                )
            self.cancel_event = threading.Event()
            self.label = label
            event = self.cancel_event

            def body():
                try:
                    result = fn(event)
                except BaseException as err:
                    self._on_error(label, err)
                else:
                    self._on_done(label, result)

            self._thread = threading.Thread(target=body, name=f"etw-job-{label}", daemon=True)
            self._thread.start()
            return self._thread

    def cancel(self) -> bool:
        """Ask the running job to stop; False when none runs."""
        if not self.busy:
            return False
        self.cancel_event.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
