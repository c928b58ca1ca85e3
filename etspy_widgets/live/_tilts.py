"""Where the tilt of a newly arrived projection comes from: a growing ``.mdoc``, the file
name, the file's own metadata, or a list given up front.

A source answers ``tilt(path)`` with a float, or None while the tilt is not known yet (a
SerialEM ``.mdoc`` is written after the image: the file waits until its section appears).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..engine.errors import InvalidTiltsError, TomoFileError
from ..engine.io import parse_mdoc

logger = logging.getLogger(__name__)

# a signed number, or one with a decimal point, at the end of the stem: "tilt_007_+21.0",
# "series_-3.00deg"; a plain sequence number such as "tomo_012" is not a tilt
NAME_TILT = re.compile(r"(?<![\d.])([+-]\d+(?:\.\d+)?|\d+\.\d+)(?:deg|°)?$")
KINDS = ("auto", "mdoc", "names", "metadata", "list")


def natural_key(name: str):
    """Sort key that orders ``a2`` before ``a10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def name_tilt(name: str, pattern: re.Pattern = NAME_TILT) -> float | None:
    """The tilt written in a file name (the first group of ``pattern`` in the stem), or None."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    match = pattern.search(stem)
    if match is None:
        return None
    return float(match.group(1))


def _frame_name(value) -> str:
    """The base name of a SerialEM ``SubFramePath`` (Windows or POSIX separators)."""
    return re.split(r"[\\/]", str(value).strip())[-1]


class TiltSource:
    """Resolve the tilt of each file; ``kind`` names the source for the log."""

    kind = "list"

    def refresh(self, folder: Path) -> None:
        """Re-read what may have grown (the ``.mdoc``); called once per poll."""

    def tilt(self, path: Path, names: Sequence[str]) -> float | None:
        """The tilt of ``path`` (degrees) or None while unknown; ``names`` are all matched
        names in the folder, in natural order."""
        raise NotImplementedError

    def describe(self) -> str:
        return repr(self.kind)


class ListTilts(TiltSource):
    """Tilts given up front: a sequence (the k-th file in natural name order gets the k-th
    tilt), a mapping ``{file name: tilt}``, or a callable ``f(path) -> tilt``."""

    def __init__(self, tilts):
        self.kind = "list"
        self._fn = tilts if callable(tilts) else None
        self._map = dict(tilts) if isinstance(tilts, Mapping) else None
        self._seq = None
        if self._fn is None and self._map is None:
            arr = np.asarray(tilts, dtype=np.float64).reshape(-1)
            if not np.isfinite(arr).all():
                raise InvalidTiltsError(f"tilts= holds NaN or infinite values: {arr.tolist()}.")
            self._seq = arr

    def tilt(self, path, names):
        if self._fn is not None:
            value = self._fn(path)
            return None if value is None else float(value)
        if self._map is not None:
            value = self._map.get(path.name, self._map.get(str(path)))
            return None if value is None else float(value)
        k = names.index(path.name)
        if k >= self._seq.size:
            raise InvalidTiltsError(
                f"tilts= holds {self._seq.size} angles but {path.name} is file number {k + 1} "
                "(in name order); give one tilt per file, a {name: tilt} dict, or a function.")
        return float(self._seq[k])

    def describe(self):
        if self._seq is not None:
            return repr([float(t) for t in self._seq])
        return "<dict>" if self._map is not None else "<function>"


class NameTilts(TiltSource):
    """The tilt in each file name (``pattern``'s first group)."""

    kind = "names"

    def __init__(self, pattern: str | re.Pattern | None = None):
        self.pattern = NAME_TILT if pattern is None else re.compile(pattern)
        if self.pattern.groups < 1:
            raise InvalidTiltsError(
                f"The tilt pattern {self.pattern.pattern!r} has no group; put the number in "
                r"parentheses, e.g. r'_([+-]?\d+\.\d+)$'.")

    def tilt(self, path, names):
        return name_tilt(path.name, self.pattern)

    def describe(self):
        return "'names'" if self.pattern is NAME_TILT else repr(self.pattern.pattern)


class MdocTilts(TiltSource):
    """``TiltAngle`` of the ``.mdoc`` section that names the file (``SubFramePath`` or
    ``ImageFile``), else of ``[ZValue = k]`` for the k-th file in name order (one ``.mdoc``).

    The ``.mdoc`` is re-read when its size or time changes, and only once it has kept them
    for one poll (a file being rewritten is never half read).
    """

    kind = "mdoc"

    def __init__(self, path: Path | None = None):
        self.path = None if path is None else Path(path)
        self._seen: dict[Path, tuple] = {}
        self._stable: dict[Path, tuple] = {}
        self._by_name: dict[str, float] = {}
        self._by_z: dict[int, float] = {}
        self._n_files = 0

    def _files(self, folder: Path) -> list[Path]:
        if self.path is not None:
            return [self.path] if self.path.is_file() else []
        return sorted(p for p in folder.glob("*.mdoc") if not p.name.startswith("."))

    def refresh(self, folder):
        files = self._files(folder)
        changed = False
        for p in files:
            try:
                st = p.stat()
            except OSError:
                continue
            sig = (st.st_size, st.st_mtime_ns, st.st_ino)
            if self._seen.get(p) != sig:  # changed since the last poll: wait one more
                self._seen[p] = sig
                continue
            if self._stable.get(p) != sig:
                self._stable[p] = sig
                changed = True
        if changed:
            self._parse([p for p in files if p in self._stable])

    def _parse(self, files):
        by_name, by_z = {}, {}
        for p in files:
            try:
                mdoc = parse_mdoc(p)
            except TomoFileError as err:  # an empty file just created: try again later
                logger.debug("mdoc %s not readable yet: %s", p, err)
                continue
            for k, section in enumerate(mdoc.sections):
                if "TiltAngle" not in section:
                    continue
                angle = float(np.atleast_1d(section["TiltAngle"])[0])
                for key in ("SubFramePath", "ImageFile", "FileName"):
                    if key in section:
                        by_name[_frame_name(section[key])] = angle
                by_z[int(section.get("ZValue", k))] = angle
        self._by_name, self._by_z = by_name, by_z
        self._n_files = len(files)

    def tilt(self, path, names):
        if path.name in self._by_name:
            return self._by_name[path.name]
        if self._by_name or self._n_files != 1:
            return None  # the mdoc names its files; this one is not in it (yet)
        return self._by_z.get(names.index(path.name))

    def describe(self):
        return repr(str(self.path)) if self.path is not None else "'mdoc'"


class MetadataTilts(TiltSource):
    """The tilt the file carries: MRC extended header (FEI, SerialEM) or a ``X.mrc.mdoc``
    beside it, the stage tilt of a DM/TIFF/EMD file. Read by the loader itself
    (``Watcher`` asks the reader, see ``_reader.read_projection``)."""

    kind = "metadata"

    def tilt(self, path, names):
        return np.nan  # known only once the file is read


def make_source(tilts, folder: Path) -> TiltSource:
    """The tilt source for ``watch(..., tilts=...)``.

    ``"auto"`` (or None): an ``.mdoc`` in the folder, else numbers in the names, else the
    files' metadata (chosen when the first file is complete: see ``AutoTilts``).
    """
    if tilts is None or (isinstance(tilts, str) and tilts == "auto"):
        return AutoTilts(folder)
    if isinstance(tilts, str | Path) and str(tilts).lower().endswith(".mdoc"):
        return MdocTilts(Path(tilts) if Path(tilts).is_absolute() else folder / tilts)
    if isinstance(tilts, re.Pattern):
        return NameTilts(tilts)
    if isinstance(tilts, str):
        kind = tilts.lower()
        if kind == "mdoc":
            return MdocTilts()
        if kind == "names":
            return NameTilts()
        if kind == "metadata":
            return MetadataTilts()
        raise InvalidTiltsError(
            f"tilts={tilts!r} is not a tilt source. Give 'auto', 'mdoc', 'names', "
            "'metadata', the path of an .mdoc, a regular expression (re.compile(...)) for "
            "the names, a list of angles (file name order), a {name: angle} dict or a "
            "function of the path.")
    if isinstance(tilts, Callable | Mapping | Sequence | np.ndarray):
        return ListTilts(tilts)
    raise InvalidTiltsError(f"tilts= of type {type(tilts).__name__} is not understood.")


class AutoTilts(TiltSource):
    """An ``.mdoc`` in the folder, else the names, else the files' metadata; decided at the
    first complete file and kept (``kind`` then names the choice)."""

    kind = "auto"

    def __init__(self, folder: Path):
        self.folder = folder
        self.chosen: TiltSource | None = None

    def refresh(self, folder):
        if self.chosen is not None:
            self.chosen.refresh(folder)

    def tilt(self, path, names):
        if self.chosen is None:
            if any(not p.name.startswith(".") for p in self.folder.glob("*.mdoc")):
                self.chosen = MdocTilts()
                self.chosen.refresh(self.folder)  # read once it has kept its size a poll
            elif name_tilt(path.name) is not None:
                self.chosen = NameTilts()
            else:
                self.chosen = MetadataTilts()
            self.kind = self.chosen.kind
            logger.info("watch: tilts from %s", self.kind)
        return self.chosen.tilt(path, names)

    def describe(self):
        return self.chosen.describe() if self.chosen is not None else "'auto'"
