"""Where a loaded series came from: the load call, and the size and SHA-256 of its files.

``load`` (as the package exports it) records ``stack = etw.load(...)`` as the first line of
the history, with every argument by name and the path as given, and stores in
``metadata.Tomography.sources`` one entry per file read (the data and the tilt or ``.mdoc``
sidecars beside it): ``{"path", "size", "sha256"}``. The history carries the same facts as a
comment line under the load line (``# source <path>: <size> bytes, sha256 <hex>``), so a
script written from it can be checked by ``etspy_widgets.replay`` before it runs. A saved
file that has a history keeps it (one written before sources were recorded replays, as
before, on the data given to ``replay``; ``metadata.Tomography.sources`` then names the
saved file itself).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import numpy as np

from ..._script import assign, call
from ..signals import SOURCES, canonical_kwargs, history_of, set_history
from ._mdoc import find_mdoc, find_tilt_file

SOURCE_COMMENT = re.compile(r"^# source (?P<path>.+): (?P<size>\d+) bytes, "
                            r"sha256 (?P<sha256>[0-9a-f]{64})$")
_CHUNK = 1 << 20


def sha256_of(path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path, shown=None) -> dict:
    """``{"path", "size", "sha256"}`` of one file (``shown``: the path as the user gave it)."""
    path = Path(path)
    return {"path": os.fspath(shown if shown is not None else path),
            "size": int(path.stat().st_size), "sha256": sha256_of(path)}


def source_comment(record: dict) -> str:
    """The history comment line that carries one file's size and checksum."""
    return f"# source {record['path']}: {record['size']} bytes, sha256 {record['sha256']}"


def parse_source_comments(lines) -> list[dict]:
    """The file records written by [`source_comment`][] in ``lines`` (a script or history)."""
    out = []
    for line in lines:
        match = SOURCE_COMMENT.match(line.strip())
        if match:
            out.append({"path": match["path"], "size": int(match["size"]),
                        "sha256": match["sha256"]})
    return out


def _files_read(filename) -> list[tuple[Path, str]]:
    """The files a load of ``filename`` reads: each data file and its tilt/mdoc sidecars."""
    if isinstance(filename, (str, os.PathLike)):
        items = [filename]
    elif isinstance(filename, (list, tuple)) and all(
            isinstance(i, (str, os.PathLike)) for i in filename):
        items = list(filename)
    else:
        return []
    out = []
    for item in items:
        path = Path(item).expanduser()
        if not path.is_file():
            continue
        out.append((path, os.fspath(item)))
        for side in (find_tilt_file(path), find_mdoc(path)):
            if side is not None:
                shown = os.fspath(Path(os.fspath(item)).with_name(side.name))
                out.append((side, shown))
    return out


def _starts_from_source(lines) -> bool:
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    return bool(re.match(r"^(stack|rec) = etw\.", first))


def recorded_load(load):
    """Wrap the engine's ``load`` so that its result knows where it came from."""

    @functools.wraps(load)
    def wrapper(filename, *args, **kwargs):
        if isinstance(filename, np.ndarray) or hasattr(filename, "axes_manager"):
            return load(filename, *args, **kwargs)  # data from memory: the signal says so
        files = _files_read(filename)
        out = load(filename, *args, **kwargs)
        kept = [ln for ln in history_of(out) if not ln.startswith("#")]
        if kept:
            # a saved result: its history says how it was made (from its own source, or —
            # written before sources were recorded — from data the replay must be given)
            if not _starts_from_source(kept):
                out.metadata.set_item("Tomography.sources",
                                      [file_record(path, shown) for path, shown in files])
            return out
        written = canonical_kwargs(load, (filename, *args), kwargs, method=False, always=())
        line = assign(out._history_name, call("etw.load", written))
        records = [file_record(path, shown) for path, shown in files]
        set_history(out, [line, *(source_comment(r) for r in records)])
        out.metadata.set_item("Tomography.sources", records)
        return out

    SOURCES["etw.load"] = wrapper
    return wrapper


__all__ = ["SOURCE_COMMENT", "file_record", "parse_source_comments", "recorded_load",
           "sha256_of", "source_comment"]
