"""SerialEM ``.mdoc`` files and IMOD tilt sidecars (``.rawtlt``, ``.tlt``).

An ``.mdoc`` is a header of ``key = value`` lines followed by one ``[ZValue = n]`` section per
image, each with its own ``TiltAngle = ...``. ETSpy reads only the first 35 lines and so drops
the tilts of every image but the first; here every section is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import TomoFileError

_SECTION = re.compile(r"^\[\s*(\w+)\s*=\s*(.*?)\s*\]\s*$")
_TILT_AXIS = re.compile(r"Tilt\s*axis\s*angle\s*=\s*([-+]?\d+(?:\.\d*)?)", re.IGNORECASE)
_DATETIME_FORMATS = ("%d-%b-%y %H:%M:%S", "%d-%b-%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S",
                     "%d-%b-%y %H:%M", "%Y-%b-%d %H:%M:%S")


def _value(text: str):
    """A number, a list of numbers, or the string itself."""
    parts = text.split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return text
    if len(numbers) == 1:
        return numbers[0]
    return numbers


@dataclass
class Mdoc:
    """A parsed SerialEM ``.mdoc``: global ``header`` values and one dict per image section."""

    path: Path
    header: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)

    @property
    def tilts(self) -> np.ndarray:
        """``TiltAngle`` of each ``[ZValue = n]`` section, ordered by ``n`` (degrees)."""
        found = [(s.get("ZValue", k), s["TiltAngle"]) for k, s in enumerate(self.sections)
                 if "TiltAngle" in s]
        if not found:
            return np.zeros(0)
        found.sort(key=lambda item: item[0])
        return np.array([float(np.atleast_1d(t)[0]) for _, t in found])

    @property
    def tilt_axis_angle(self) -> float | None:
        """SerialEM's tilt-axis angle (degrees, from the ``[T = ... Tilt axis angle = a ...]``
        title line), or None."""
        value = self.header.get("TiltAxisAngle")
        return float(value) if isinstance(value, float) else None

    def acquisition_order(self) -> np.ndarray | None:
        """The rank of each image (in ``ZValue`` order) in acquisition time, from each
        section's ``DateTime``; None unless every image section has a readable one.

        A dose-symmetric series is acquired 0, +3, -3, +6, ...; SerialEM may store it in
        that order or sorted by tilt, and only ``DateTime`` tells the order of exposure
        (AreTomo3 2.3.1 orders by it too).
        """
        found = [(s.get("ZValue", k), _datetime(s.get("DateTime"))) for k, s in
                 enumerate(self.sections) if "TiltAngle" in s]
        if not found or any(t is None for _, t in found):
            return None
        found.sort(key=lambda item: item[0])
        times = [t for _, t in found]
        order = sorted(range(len(times)), key=lambda k: times[k])  # stable for equal times
        rank = np.empty(len(times), dtype=int)
        rank[order] = np.arange(len(times))
        return rank

    def first(self, key: str, default=None):
        """A value from the header, else from the first section that has it."""
        if key in self.header:
            return self.header[key]
        for section in self.sections:
            if key in section:
                return section[key]
        return default


def parse_mdoc(path) -> Mdoc:
    """Read a SerialEM ``.mdoc`` file.

    Raises
    ------
    TomoFileError
        If the file cannot be read or holds no ``key = value`` lines.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise TomoFileError(f"Cannot read the SerialEM metadata file {path}: {err}") from err
    if "\x00" in text or text.count("\ufffd") > max(8, len(text) // 100):
        raise TomoFileError(
            f"{path} is not a SerialEM .mdoc file: it holds binary data, not text. Give the "
            "real .mdoc, or pass the tilts yourself: load(path, tilts=angles).")
    mdoc = Mdoc(path)
    current = mdoc.header
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _SECTION.match(line)
        if match:
            key, value = match.groups()
            if key == "ZValue":
                current = {"ZValue": int(float(value))}
                mdoc.sections.append(current)
            elif key != "T":
                current = {key: _value(value)}
                mdoc.sections.append(current)
            elif (axis := _TILT_AXIS.search(value)) is not None:  # [T = ...]: free-text titles
                mdoc.header["TiltAxisAngle"] = float(axis.group(1))
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            current[key.strip()] = _value(value.strip())
    if not mdoc.header and not mdoc.sections:
        raise TomoFileError(f"{path} is not a SerialEM .mdoc file (no 'key = value' lines).")
    return mdoc


def require_tilts(mdoc: Mdoc) -> np.ndarray:
    """The tilts of ``mdoc``; an .mdoc without ``TiltAngle`` lines is refused (not zeros)."""
    tilts = mdoc.tilts
    if not tilts.size:
        raise TomoFileError(
            f"{mdoc.path} has no 'TiltAngle = ...' lines, so it gives no tilts. Give the "
            "SerialEM .mdoc of the tilt series, or pass the tilts: load(path, tilts=angles).")
    return tilts


def _datetime(value):
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def find_mdoc(data_path) -> Path | None:
    """``X.mrc.mdoc`` or ``X.mdoc`` beside ``X.mrc``, whichever exists first."""
    data_path = Path(data_path)
    for candidate in (data_path.with_name(data_path.name + ".mdoc"),
                      data_path.with_suffix(".mdoc")):
        if candidate.is_file():
            return candidate
    return None


def read_tilt_file(path) -> np.ndarray:
    """Tilt angles (degrees) from an IMOD ``.rawtlt`` / ``.tlt`` file: one number per line.

    Raises
    ------
    TomoFileError
        If a line is not a number.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv_tilts(path)
    values = []
    for k, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            values.append(float(line.split()[0]))
        except ValueError as err:
            raise TomoFileError(
                f"{path}, line {k}: {line!r} is not a tilt angle. A .rawtlt/.tlt file holds one "
                "angle in degrees per line."
            ) from err
    return np.array(values, dtype=np.float64)


def _read_csv_tilts(path: Path) -> np.ndarray:
    """Tilts from a CSV: one column, or the column named ``tilt``/``angle`` in a header row,
    else the last column."""
    rows = [[c.strip() for c in line.split(",")] for line in
            path.read_text(errors="replace").splitlines() if line.strip()]
    column = -1
    if rows and not _is_number(rows[0][-1]):
        names = [c.lower() for c in rows.pop(0)]
        found = [k for k, c in enumerate(names) if "tilt" in c or "angle" in c]
        column = found[0] if found else -1
    try:
        return np.array([float(r[column]) for r in rows], dtype=np.float64)
    except (ValueError, IndexError) as err:
        raise TomoFileError(f"{path}: not a CSV of tilt angles ({err}); give one angle in "
                            "degrees per row, or a column named 'tilt' or 'angle'.") from err


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def find_tilt_file(data_path) -> Path | None:
    """The tilt sidecar beside ``data_path``: IMOD's refined ``.tlt`` first for an ``.ali``,
    the raw ``.rawtlt`` first otherwise, then a ``.csv``."""
    data_path = Path(data_path)
    order = (".tlt", ".rawtlt") if data_path.suffix.lower() == ".ali" else (".rawtlt", ".tlt")
    order = (*order, ".csv")
    for suffix in order:
        for candidate in (data_path.with_suffix(suffix), data_path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None
