"""``watch(folder)``: follow a folder into which a microscope writes one projection per file.

A polling thread (no file-system notification library needed) lists the folder every
``poll`` seconds. A file is read only when it is complete: its size, time and inode have
not changed for ``settle`` seconds (``settle=0`` when the writer renames finished files into
place, as SerialEM does), an MRC is as long as its header says, and the reader succeeds.
A file whose size or time changes after it was read is read again and replaces its
projection; a file that disappears is taken out. Files come in any order: the series is
kept sorted by tilt.
"""

from __future__ import annotations

import fnmatch
import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..engine.errors import InvalidDataError, TomographyError
from ..engine.io import load, sha256_of
from ..engine.signals import SOURCES, TomoStack, history_of, set_history
from ._reader import Calibration, NotReadyError, read_projection
from ._recon import LiveFrame, LiveReconstructor
from ._tilts import MetadataTilts, make_source, natural_key

logger = logging.getLogger(__name__)
STOP_TIMEOUT = 30.0


class WatchTimeout(TomographyError, TimeoutError):
    """``wait_for``/``wait`` ran out of time."""


@dataclass
class Projection:
    """One projection of the series, as read from its file."""

    name: str
    tilt: float
    data: np.ndarray
    signature: tuple      # (size, mtime_ns, inode) when read
    version: int          # 1 for the first read, +1 per rewrite
    complete: float       # time.time() when the file was found complete
    read: float           # time.time() when it was read

    @property
    def key(self) -> tuple:
        return (self.name, self.version)


@dataclass(frozen=True)
class ProjectionEvent:
    """What the per-projection callback receives."""

    kind: str             # "new", "replaced" or "removed"
    name: str
    tilt: float
    index: int            # position in tilt order now (-1 when removed)
    count: int            # projections in now
    latency: float        # seconds from the file found complete to this event
    live: LiveFrame | None  # the live state after the batch (None in ``watch.events``)
    last: bool = True     # the last event of its batch (one live update per batch)
    flag: str = ""        # the live quality strip's reason for this projection, if marked


def _is_temporary(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low.endswith((".tmp", ".part", ".partial", "~")) \
        or ".partial-" in low


class Watcher:
    """A growing tilt series read from a folder (see ``watch``)."""

    def __init__(self, folder, pattern: str = "*.mrc", tilts="auto", *,
                 callback: Callable[[ProjectionEvent], None] | None = None,
                 reconstruct: bool | LiveReconstructor | dict = True, settle: float = 0.5,
                 poll: float = 0.1, expected: int | None = None,
                 idle_timeout: float | None = None, marker: str | None = "acquisition.done",
                 auto_stop: bool = True, start: bool = True, method: str | None = None,
                 iterations: int | None = None, freeze_gc: bool = True):
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise FileNotFoundError(
                f"watch({str(folder)!r}): no such folder. Create it first (the acquisition "
                "writes into it), or check the path.")
        if settle < 0 or poll <= 0:
            raise InvalidDataError(f"settle must be ≥ 0 and poll > 0 (s); got {settle}, {poll}.")
        if expected is not None and int(expected) < 1:
            raise InvalidDataError(f"expected must be ≥ 1 projections; got {expected}.")
        self.pattern = pattern
        self.tilts_arg = tilts
        self.source = make_source(tilts, self.folder)
        self.callback = callback
        options = {k: v for k, v in (("method", method), ("iterations", iterations))
                   if v is not None}
        if options and not (reconstruct is True or isinstance(reconstruct, dict)):
            raise InvalidDataError(
                f"method/iterations ({options}) set the live reconstruction; pass them with "
                "reconstruct=True (or in its dict), not with "
                f"reconstruct={reconstruct!r}.")
        if reconstruct is True:
            reconstruct = LiveReconstructor(**options)
        elif isinstance(reconstruct, dict):
            reconstruct = LiveReconstructor(**{**reconstruct, **options})
        self.freeze_gc = bool(freeze_gc)
        self.recon: LiveReconstructor | None = reconstruct or None
        self.settle, self.poll = float(settle), float(poll)
        self.expected = None if expected is None else int(expected)
        self.idle_timeout, self.marker, self.auto_stop = idle_timeout, marker, auto_stop
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._projections: dict[str, Projection] = {}
        self._seen: dict[str, tuple] = {}          # name -> (signature, first seen)
        self._failed: dict[str, tuple] = {}        # name -> signature that failed to read
        self._calibration: Calibration | None = None
        self._stack_cache = None
        self._stop = threading.Event()
        self.done = threading.Event()
        self.ready = threading.Event()  # set once the thread is up and compiled
        self.end_reason = ""
        self._thread: threading.Thread | None = None
        self._last_new = None
        self._marker_seen = False
        self.errors: list[str] = []
        self.events: list[ProjectionEvent] = []
        self.live: LiveFrame | None = None
        self.started = time.time()
        self._files_used: list[tuple[str, float]] | None = None
        self._hashes: dict[str, tuple] = {}
        if start:
            self.start()

    # -- thread ------------------------------------------------------------------------
    def start(self) -> Watcher:
        """Start (or resume) following the folder; files already there are read first."""
        if self.running:
            return self
        self._stop.clear()
        self.done.clear()
        self.end_reason = ""
        self._files_used = None
        self._thread = threading.Thread(target=self._run, name=f"watch {self.folder.name}",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT) -> Watcher:
        """Stop following the folder and record the files used (see ``code``)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise WatchTimeout(f"The watcher of {self.folder} did not stop within "
                                   f"{timeout} s (a read or update is hanging).")
        with self._lock:
            self._files_used = [(p.name, p.tilt) for p in self._sorted()]
            self._changed.notify_all()
        return self

    def close(self) -> None:
        """``stop`` (for ``with etw.watch(...) as w:``)."""
        self.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self):
        try:
            if self.recon is not None:
                self.recon.warm_up()
            if self.freeze_gc:
                # what is alive now (the libraries, compiled kernels, the caller's data)
                # stays alive: moved out of the collector's sight, a full collection no
                # longer walks it (they took 0.2–0.6 s each, every few 1024² files)
                gc.collect()
                gc.freeze()
            self.ready.set()
            while not self._stop.is_set():
                self.poll_once()
                if self._series_ended():
                    self.done.set()
                    if self.auto_stop:
                        self._stop.set()
                        with self._lock:
                            self._files_used = [(p.name, p.tilt) for p in self._sorted()]
                    break
                self._stop.wait(self.poll)
        except Exception as err:  # the thread must not die silently
            logger.exception("watch %s failed", self.folder)
            self.errors.append(f"{type(err).__name__}: {err}")
            self.end_reason = f"error: {err}"
            self.done.set()
        finally:
            if self.freeze_gc:
                gc.unfreeze()  # collectable again once the series has ended
            with self._lock:
                self._changed.notify_all()

    def _series_ended(self) -> bool:
        n = len(self._projections)
        if self.expected is not None and n >= self.expected:
            self.end_reason = f"{n} of {self.expected} projections in"
            return True
        if self._marker_seen and not self._pending():
            self.end_reason = f"end marker {self.marker} found"
            return True
        if self.idle_timeout is not None and self._last_new is not None \
                and time.monotonic() - self._last_new > self.idle_timeout:
            self.end_reason = f"no new file for {self.idle_timeout} s"
            return True
        return False

    def _pending(self) -> bool:
        return any(name not in self._projections and name not in self._failed
                   for name in self._seen)

    # -- one poll -------------------------------------------------------------------------
    def _listing(self) -> dict[str, tuple]:
        out = {}
        with os.scandir(self.folder) as it:
            for entry in it:
                if not fnmatch.fnmatch(entry.name, self.pattern) or _is_temporary(entry.name):
                    continue
                try:
                    st = entry.stat()
                except OSError:  # renamed or deleted meanwhile
                    continue
                if entry.is_file():
                    out[entry.name] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return out

    def poll_once(self) -> list[ProjectionEvent]:
        """List the folder once, read what is complete, update the live state."""
        now = time.time()
        # the marker is looked for before the listing: every file written before it is listed
        marker_seen = bool(self.marker) and (self.folder / self.marker).exists()
        listing = self._listing()
        names = sorted(listing, key=natural_key)
        self.source.refresh(self.folder)
        ready = []
        for name in names:
            sig = listing[name]
            known = self._projections.get(name)
            if known is not None and known.signature == sig:
                self._seen.pop(name, None)
                continue
            if self._failed.get(name) == sig:
                continue
            seen = self._seen.get(name)
            if seen is None or seen[0] != sig:
                self._seen[name] = (sig, now)
                if self.settle > 0:
                    continue
                seen = self._seen[name]
            if now - seen[1] >= self.settle:
                ready.append((name, sig, seen[1]))
        self._marker_seen = marker_seen
        removed = [n for n in self._projections if n not in listing]
        for name in [n for n in self._seen if n not in listing]:
            del self._seen[name]
        return self._ingest(ready, removed, names)

    def _read(self, name, sig, since, names):
        path = self.folder / name
        tilt = self.source.tilt(path, names)
        if tilt is None:
            return None  # its tilt is not known yet (the .mdoc lags): next poll
        metadata = isinstance(self.source, MetadataTilts) or \
            getattr(getattr(self.source, "chosen", None), "kind", "") == "metadata"
        try:
            image, tilt, calibration = read_projection(
                path, None if metadata else tilt, fast=self._calibration is not None)
        except NotReadyError as err:
            stale = time.time() - since > max(2.0, 4 * self.settle)
            if stale:  # a file that keeps its size and still cannot be read is broken
                self._failed[name] = sig
                self.errors.append(f"{name}: {err}")
            logger.debug("watch: %s not ready (%s)", name, err)
            return None
        except TomographyError as err:
            self._failed[name] = sig
            self.errors.append(f"{name}: {err}")
            logger.warning("watch: %s skipped: %s", name, err)
            return None
        if not np.isfinite(tilt):
            self._failed[name] = sig
            self.errors.append(f"{name}: tilt {tilt} is not finite")
            return None
        if self._calibration is None and calibration is not None:
            self._calibration = calibration
        return Projection(name, float(tilt), image, sig, 1, since, time.time())

    def _ingest(self, ready, removed, names) -> list[ProjectionEvent]:
        changes = []
        for name, sig, since in ready:
            proj = self._read(name, sig, since, names)
            if proj is None:
                continue
            with self._lock:
                old = self._projections.get(name)
                if old is not None:
                    proj.version = old.version + 1
                self._projections[name] = proj
                self._stack_cache = None
                self._seen.pop(name, None)
                self._failed.pop(name, None)
            self._last_new = time.monotonic()
            changes.append(("replaced" if old is not None else "new", proj))
        with self._lock:
            for name in removed:
                proj = self._projections.pop(name)
                self._stack_cache = None
                changes.append(("removed", proj))
        if not changes:
            return []
        live = None
        if self.recon is not None and self._projections:
            ordered = self._sorted()
            try:
                live = self.recon.update([p.key for p in ordered], [p.tilt for p in ordered],
                                         [p.data for p in ordered])
            except TomographyError as err:
                self.errors.append(f"live update: {err}")
                logger.warning("watch: live update failed: %s", err)
        events = []
        with self._lock:
            self.live = live or self.live
            order = {p.name: i for i, p in enumerate(self._sorted())}
            done = time.time()
            flags = live.flags if live is not None else {}
            for k, (kind, proj) in enumerate(changes):
                events.append(ProjectionEvent(kind, proj.name, proj.tilt,
                                              order.get(proj.name, -1), len(order),
                                              done - proj.complete, live,
                                              k == len(changes) - 1,
                                              flags.get(proj.name, "")))
            # the history keeps no live frames: memory stays flat over a long series
            self.events.extend(replace(e, live=None) for e in events)
            del self.events[:-10000]
            self._changed.notify_all()
        if self.callback is not None:
            for event in events:
                try:
                    self.callback(event)
                except Exception as err:  # a broken callback must not stop the watcher
                    logger.exception("watch callback failed")
                    self.errors.append(f"callback: {type(err).__name__}: {err}")
        return events

    # -- the series so far -----------------------------------------------------------
    def _sorted(self) -> list[Projection]:
        return sorted(self._projections.values(), key=lambda p: (p.tilt, natural_key(p.name)))

    @property
    def count(self) -> int:
        """Projections in now."""
        return len(self._projections)

    @property
    def files(self) -> list[Path]:
        """The files of the projections in, in tilt order."""
        with self._lock:
            return [self.folder / p.name for p in self._sorted()]

    @property
    def tilts(self) -> np.ndarray:
        """Their tilts (degrees), ascending."""
        with self._lock:
            return np.array([p.tilt for p in self._sorted()])

    @property
    def stack(self) -> TomoStack:
        """The ``TomoStack`` of the projections so far, in tilt order (a new object after
        each change; the same one while nothing changed)."""
        with self._lock:
            if self._stack_cache is not None:
                return self._stack_cache
            ordered = self._sorted()
            if not ordered:
                raise InvalidDataError(f"No projection has arrived in {self.folder} yet; "
                                       "wait with watch.wait_for(1, timeout).")
            tilts = np.array([p.tilt for p in ordered])
            stack = TomoStack(np.stack([p.data for p in ordered]), tilts=tilts)
            self._calibration.apply(stack)
            nav = stack.axes_manager.navigation_axes[-1]
            nav.name, nav.units, nav.offset = "Projections", "degrees", float(tilts[0])
            step = float(np.mean(np.diff(tilts))) if tilts.size > 1 else 0.0
            nav.scale = step if step != 0 else 1.0
            stack.metadata.General.title = f"live: {self.folder.name}"
            self._stack_cache = stack
            return stack

    def wait_for(self, n: int, timeout: float | None = None) -> TomoStack:
        """Block until ``n`` projections are in; return the stack.

        Raises
        ------
        WatchTimeout
            If they are not in within ``timeout`` seconds, or the watcher stopped first.
        """
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while len(self._projections) < n:
                if not self.running:
                    raise WatchTimeout(
                        f"The watcher of {self.folder} stopped with {self.count} of {n} "
                        f"projections ({self.end_reason or 'stopped'}).")
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise WatchTimeout(
                        f"{self.count} of {n} projections arrived in {self.folder} within "
                        f"{timeout} s. Errors so far: {self.errors[-3:] or 'none'}.")
                self._changed.wait(0.5 if left is None else min(left, 0.5))
        return self.stack

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the series ended (``expected``, ``marker`` or ``idle_timeout``);
        False on timeout."""
        return self.done.wait(timeout)

    # -- the record ---------------------------------------------------------------------
    def _call(self) -> str:
        args = [repr(str(self.folder)), f"pattern={self.pattern!r}",
                f"tilts={self.source.describe()}"]
        return f"watch = etw.watch({', '.join(args)})"

    def _source_lines(self, used) -> list[str]:
        """``# source`` lines (size, SHA-256) of the files used: replay checks them."""
        lines = []
        for name, _ in used:
            path = self.folder / name
            try:
                st = path.stat()
            except OSError:
                continue
            sig = (st.st_size, st.st_mtime_ns, st.st_ino)
            if self._hashes.get(name, (None,))[0] != sig:
                self._hashes[name] = (sig, sha256_of(path))
            lines.append(f"# source {path}: {st.st_size} bytes, sha256 {self._hashes[name][1]}")
        return lines

    @property
    def code(self) -> str:
        """A script that rebuilds the live result offline from the exact files used (with
        their size and SHA-256, which ``etw.replay`` checks before it runs).

        Before ``stop`` it names the files in now; after, the ones used when it stopped.
        """
        with self._lock:
            used = self._files_used
            if used is None:
                used = [(p.name, p.tilt) for p in self._sorted()]
        files = [str(self.folder / name) for name, _ in used]
        tilts = [float(t) for _, t in used]
        lines = ["import etspy_widgets as etw",
                 f"# live: {self._call()}",
                 f"# {len(used)} projections"
                 + (f", stopped: {self.end_reason}" if self.end_reason else "")
                 + "; the files used, in tilt order:"]
        recon = self.recon
        if recon is not None and recon.register and len(used) > 1:
            lines.append(f"stack = etw.live.load_registered({files!r}, {tilts!r}, "
                         f"binning={recon.register_binning or 1}, "
                         f"upsample_factor={recon.register_upsample}, "
                         f"start={LiveReconstructor.start_index(tilts)})")
        else:
            lines.append(f"stack = etw.load({files!r}, tilts={tilts!r})")
        lines += self._source_lines(used)
        return "\n".join(lines) + "\n"

    def result(self):
        """``(aligned stack, slice images)`` of the series now, computed in one go from the
        whole series as offline code would (``code``), with the live shifts."""
        with self._lock:
            stack = self.stack
            ordered = self._sorted()
        if self.recon is None:
            return stack, None
        keys = [p.key for p in ordered]
        frame = self.recon.frame
        if frame is None or list(frame.keys) != keys:  # e.g. the last update failed
            frame = self.recon.update(keys, [p.tilt for p in ordered], [p.data for p in ordered])
        aligned = stack.apply_shifts(frame.shifts, "interp") if self.recon.register else stack
        return aligned, self.recon.finish(aligned.data, aligned.tilt_values)

    def status(self) -> str:
        """One line: how many are in, how long the last one took."""
        if not self.events:
            return f"Watching {self.folder} ({self.pattern}): nothing yet."
        last = self.events[-1]
        flags = self.live.flags if self.live is not None else {}
        marked = ""
        if flags:
            shown = ", ".join(f"{name} ({reason})" for name, reason in list(flags.items())[:3])
            marked = f"; {len(flags)} flagged: {shown}" + (", …" if len(flags) > 3 else "")
        return (f"{self.count} projection(s) in; last {last.name} ({last.tilt:+.1f}°) "
                f"{last.kind} in {last.latency:.2f} s" + marked
                + (f"; ended: {self.end_reason}" if self.done.is_set() else ""))

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<Watcher {self.folder} {self.pattern!r} {state}: {self.count} in>"


def load_registered(files, tilts, *, binning: int = 1, upsample_factor: int = 20,
                    start: int | None = None) -> TomoStack:
    """``etw.load(files, tilts=tilts)`` registered as ``watch`` registers it: pairwise phase
    correlation of neighbours in tilt on images binned by ``binning`` (``stack.rebin``;
    ``upsample_factor`` at that binning), composed from ``start`` (default the tilt nearest
    0°), no drift correction, the shifts applied by interpolation.

    The offline half of live tomography, and a data source a replayed script may call
    (``stack = etw.live.load_registered([...], [...], binning=2, upsample_factor=40)``): the
    result's history is that line and the ``# source`` size and SHA-256 of every file.
    """
    files = [str(f) for f in files]
    tilts = [float(t) for t in tilts]
    stack = load(files, tilts=tilts)
    sources = [ln for ln in history_of(stack) if ln.startswith("# source ")]
    start = LiveReconstructor.start_index(tilts) if start is None else int(start)
    if len(tilts) < 2:
        out = stack
    elif binning == 1:
        out = stack.stack_register("PC", start=start, drift=None,
                                   upsample_factor=upsample_factor, shift_type="interp")
    else:
        binned = stack.rebin(scale=(1, binning, binning))
        shifts = binned.stack_register("PC", start=start, drift=None,
                                       upsample_factor=upsample_factor).shift_values * binning
        out = stack.apply_shifts(shifts, "interp")
    line = (f"stack = etw.live.load_registered({files!r}, {tilts!r}, binning={int(binning)}, "
            f"upsample_factor={int(upsample_factor)}, start={start})")
    set_history(out, [line, *sources])
    return out


SOURCES["etw.live.load_registered"] = load_registered  # replay may call it


def watch(folder, pattern: str = "*.mrc", tilts="auto", **kwargs) -> Watcher:
    """Follow ``folder`` while projections arrive; see the live tomography guide.

    Parameters
    ----------
    folder : str or Path
        Where the acquisition writes one projection per file.
    pattern : str
        Glob of the projection files (``"*.mrc"``, ``"*.tif"``, ``"*.dm4"``...). Hidden
        files and ``*.tmp``/``*.part`` names (writers' temporary names) are ignored.
    tilts : "auto", "mdoc", "names", "metadata", path, regex, list, dict or callable
        Where each file's tilt comes from: a SerialEM ``.mdoc`` in the folder (re-read as
        it grows), a number in the name (``"tilt_012_-3.0.mrc"``, or your regex's first
        group), the file's own metadata, a list (k-th file in name order), a
        ``{name: tilt}`` dict or ``f(path)``. ``"auto"``: an ``.mdoc`` if one is there, else
        the names, else the metadata.
    **kwargs
        ``callback`` (called with a ``ProjectionEvent`` per new, replaced or removed
        projection; ``event.flag`` is the live quality strip's reason when it marks the
        projection), ``reconstruct`` (True, False, a ``LiveReconstructor`` or its
        keywords), ``method`` (``"FBP"``: running sums, the default; ``"SIRT"``:
        ``iterations`` warm-started SIRT iterations per update), ``freeze_gc`` (default
        True: ``gc.freeze()`` once the watcher is up, so that Python's full garbage
        collections skip what was alive then; undone when it ends), ``settle`` (s a file
        must keep its size; 0 for writers that rename), ``poll`` (s), ``expected``
        (series length), ``idle_timeout`` (s), ``marker`` (file whose appearance ends the
        series), ``auto_stop``, ``start``.

    Returns
    -------
    Watcher
        ``.stack``, ``.wait_for(n, timeout)``, ``.stop()``, ``.live``, ``.code``.

    Examples
    --------
    >>> import etspy_widgets as etw                                        # doctest: +SKIP
    >>> w = etw.watch("/data/session1", pattern="*.mrc", tilts="mdoc", settle=0)  # doctest: +SKIP
    >>> stack = w.wait_for(10, timeout=120)                              # doctest: +SKIP
    >>> w.stop(); print(w.code)                                          # doctest: +SKIP
    """
    return Watcher(folder, pattern, tilts, **kwargs)
