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

import inspect
import site
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable

from ..engine.errors import NotReadyError


class Superseded(BaseException):
    """Raised inside a request a newer one replaced (``submit(..., supersede=True)``).

    A ``BaseException``, as ``KeyboardInterrupt`` is: a stop, not an error, so no
    ``except Exception`` on the way (a widget's failure note, an engine's fallback)
    takes it for one; the worker's loop catches it."""


#: Where the libraries live (the standard library, site-packages): no request is stopped
#: inside their code. Raising at an arbitrary call there leaves their state half-changed:
#: at the call of llvmlite's ``_LLVMLock.__exit__`` it left the LLVM lock held by the
#: worker for good, and the next Numba compile on another thread deadlocked (the
#: quick-start notebook hung with cold Numba caches).
_LIBRARY = tuple(sorted({
    *(sysconfig.get_paths().get(key, "") for key in ("stdlib", "platstdlib", "purelib",
                                                      "platlib")),
    *getattr(site, "getsitepackages", list)(),
    getattr(site, "getusersitepackages", str)(),
} - {""}))
#: Calls not stopped even from our code: clean-ups (a stop there skips them) and resumed
#: generators (a stop there is thrown into their own code).
_CLEANUPS = frozenset({"__exit__", "__aexit__", "__del__"})
_RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _own_code(frame) -> bool:
    """Whether ``frame`` runs this package's code or the user's (a script, a notebook
    cell, a test), not a library's."""
    name = frame.f_globals.get("__name__") or ""
    if name in ("__main__", "etspy_widgets") or name.startswith("etspy_widgets."):
        return True
    filename = frame.f_code.co_filename
    return not filename.startswith("<") and not filename.startswith(_LIBRARY)


def stoppable_call(frame) -> bool:
    """Whether a request may be stopped at the call that opens ``frame``: a call of our own
    code from our own code, not a clean-up nor a resumed generator. ``Superseded`` is then
    raised before the callee runs a line, as if the call had failed in our code; never
    inside a library (Numba's compiler, llvmlite's lock, NumPy's Python code), nor in a
    library's callback the garbage collector runs (its error would be ignored)."""
    code = frame.f_code
    if code.co_name in _CLEANUPS or code.co_flags & _RESUMABLE:
        return False
    caller = frame.f_back
    return caller is not None and _own_code(frame) and _own_code(caller)


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
        in it at its next call of our code from our code (a trace hook on this worker's
        thread only, set while a request runs; never inside a library's code, see
        ``stoppable_call``), so a long computation of a stale state ends within one NumPy
        call, Numba kernel or Numba compile instead of running to its end.
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
        if self._stale and stoppable_call(frame):
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
