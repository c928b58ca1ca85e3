"""Write files so that a failure never leaves a half-written result behind.

Everything is written to a temporary name beside the target and renamed into
place only when the write has finished (``os.replace`` is atomic on POSIX for
files; folders such as ``.zspy`` stores are swapped in two renames).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto ``target`` on success.

    The temporary path keeps the target's suffix so that writers which pick a
    format from the extension still work. On any exception the temporary file
    or folder is removed and ``target`` is left as it was.

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is False.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} already exists. Pass overwrite=True to replace it, or choose "
            "another file name."
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"Cannot write {target}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"Cannot write {target}: the folder {parent} is not writable.")
    tmp = parent / f".{target.stem}.partial-{uuid.uuid4().hex[:8]}{target.suffix}"
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"Nothing was written for {target}.")
        _move_into_place(tmp, target)
    finally:
        _remove(tmp)


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
