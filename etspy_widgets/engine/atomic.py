"""Write files so that a failure never leaves a half-written result behind.

Everything is written to a temporary name beside the target (same folder, so the
same file system), flushed to disk (``fsync`` of every file written and of the
folder) and renamed into place only when the write has finished (``os.replace`` is
atomic on POSIX for files; folders such as ``.zspy`` stores are swapped in two
renames). On any exception — a full disk, Ctrl-C (``KeyboardInterrupt``), SIGTERM
in the command line (which raises the same) — the temporary is removed and the old
file, if any, is left untouched.

``overwrite=True`` replaces a *file*, or a folder that is itself a store of the kind
being written (a ``.zspy``/``.zarr`` folder holding ``.zgroup``/``zarr.json``); it
never deletes an ordinary folder.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import stat
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import DiskFullError, OutputExistsError, OutputPathError

# markers of a zarr store (v2 and v3): the only folders an overwrite may replace
_STORE_MARKERS = (".zgroup", ".zarray", "zarr.json")
_STORE_SUFFIXES = (".zspy", ".zarr")


def is_store(path: Path) -> bool:
    """True when ``path`` is a folder that a zarr writer made (a ``.zspy``/``.zarr`` store)."""
    return path.is_dir() and any((path / m).exists() for m in _STORE_MARKERS)


def check_target(target: str | os.PathLike, overwrite: bool = False) -> Path:
    """Refuse, before any work, a ``target`` that cannot be written; return it as a Path.

    Raises
    ------
    OutputExistsError
        ``target`` exists and ``overwrite`` is False.
    OutputPathError
        ``target`` is a folder that is not a store of the same kind (an overwrite never
        deletes a folder), something that is not a regular file (a pipe, a device), or its
        folder is missing or not writable.
    """
    target = Path(target)
    if target.is_dir() and not (target.suffix.lower() in _STORE_SUFFIXES and is_store(target)):
        raise OutputPathError(
            f"Cannot write {target}: it is an existing folder, and an overwrite never "
            "replaces a folder. Give a file name inside it or another name.")
    if target.exists() and not target.is_dir() and not stat.S_ISREG(target.stat().st_mode):
        raise OutputPathError(
            f"Cannot write {target}: it exists and is not a regular file (a pipe, socket or "
            "device). Choose another file name.")
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target} already exists. Pass overwrite=True to replace it, or choose "
            "another file name.")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"Cannot write {target}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"Cannot write {target}: the folder {parent} is not writable.")
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, overwrite: bool = False,
                need_bytes: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto ``target`` on success.

    The temporary path keeps the target's suffix so that writers which pick a
    format from the extension still work. On any exception (or KeyboardInterrupt)
    the temporary file or folder is removed and ``target`` is left as it was; a full
    disk (``ENOSPC``/``EDQUOT``, also when a library reports it without an errno) is
    raised as [`DiskFullError`][]. ``need_bytes`` (the size of an uncompressed output)
    refuses the write before it starts when the disk has less free space: HDF5 does not
    always recover from a full disk inside its own calls.

    Raises
    ------
    OutputExistsError, OutputPathError
        See [`check_target`][].
    DiskFullError
        The disk filled up while writing (nothing was left behind).
    """
    target = check_target(target, overwrite)
    parent = target.parent if str(target.parent) else Path(".")
    if need_bytes is not None and shutil.disk_usage(parent).free < need_bytes:
        raise DiskFullError(
            f"Not enough space to write {target}: it needs {need_bytes / 2**20:.1f} MiB and "
            f"{parent} has {_free(parent)} free; nothing was written. Free some space or "
            "write to another disk.")
    tmp = parent / f".{target.stem}.partial-{uuid.uuid4().hex[:8]}{target.suffix}"
    try:
        try:
            yield tmp
            if not tmp.exists():
                raise OSError(f"Nothing was written for {target}.")
            _sync(tmp)
            _move_into_place(tmp, target)
            _sync_dir(parent)
        except OSError as err:
            if _disk_full(err, parent):
                message = (f"The disk is full: {target} could not be written "
                           f"({_free(parent)} free in {parent}); nothing was written. Free "
                           "some space or write to another disk.")
                _release_quietly(err)
                del err
                raise DiskFullError(message) from None
            raise
    finally:
        _remove(tmp)


def _release_quietly(err: BaseException) -> None:
    """Free what the failed writer's frames hold (HDF5 handles) now, without the
    "Exception ignored" reports their close on a full disk prints: one error, one line."""
    def silent(_unraisable):
        return None

    hook, sys.unraisablehook = sys.unraisablehook, silent
    try:
        traceback.clear_frames(err.__traceback__)
        err.__traceback__ = None
        err.__context__ = err.__cause__ = None
        gc.collect()
    finally:
        sys.unraisablehook = hook


def _disk_full(err: OSError, parent: Path) -> bool:
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    # h5py and zarr wrap the failure of write(2) in their own messages, without an errno
    text = str(err).lower()
    if "no space" in text or "disk full" in text:
        return True
    try:
        return shutil.disk_usage(parent).free < 64 * 1024 and "write" in text
    except OSError:
        return False


def _free(parent: Path) -> str:
    try:
        return f"{shutil.disk_usage(parent).free / 2**20:.1f} MiB"
    except OSError:  # pragma: no cover
        return "unknown space"


def _sync(path: Path) -> None:
    """``fsync`` a file, or every file and folder of a store (then its own entry)."""
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root) / name)
            _sync_dir(Path(root))
    else:
        _fsync_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a folder we cannot open is not ours to sync
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync of a folder
            os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(tmp: Path, target: Path) -> None:
    if tmp.is_dir() or target.is_dir():
        backup = None
        if target.exists():
            backup = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, backup)
        try:
            os.replace(tmp, target)
        except BaseException:
            if backup is not None:
                os.replace(backup, target)
            raise
        if backup is not None:
            _remove(backup)
    else:
        os.replace(tmp, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        with contextlib.suppress(OSError):
            path.unlink()


__all__ = ["atomic_path", "check_target", "is_store"]
