"""The tilt chain every reader shares, and the tilts of folders and lists of image files."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..errors import MismatchedTiltError, TomoFileError
from ..validate import as_tilt_array
from . import _mdoc

logger = logging.getLogger("etspy_widgets.engine.io._load")

# single-image files a folder (or a list) of which makes a series
IMAGE_TYPES = (".dm3", ".dm4", ".tif", ".tiff", ".emd", ".ser", ".emi")


def _warn_no_tilts(source: str, n: int) -> np.ndarray:
    logger.warning(
        "No tilt angles found for %s (no tilts=, no .rawtlt/.tlt/.mdoc beside it, none in the "
        "header): all %d tilts are set to 0. Give them with load(..., tilts=angles) or "
        "stack.set_tilts(start, step) before aligning or reconstructing.", source, n)
    return np.zeros(n)


def _checked_tilts(tilts, n: int, source: str) -> np.ndarray:
    arr = as_tilt_array(getattr(tilts, "data", tilts),
                        "tilts" if source == "tilts=" else f"tilts in {source}").reshape(-1)
    if arr.size != n:
        err = MismatchedTiltError(arr.size, n)
        err.args = (f"{source}: {err.args[0]}",)
        raise err
    return arr


def _resolve_tilts(path, n: int, sources, tilts=None) -> np.ndarray:
    """The one tilt chain of every reader: ``tilts=``, then each source in order, then zeros.

    ``sources`` is a sequence of ``(label, getter)``; a getter returns ``None`` when its
    source has no tilts (or none for this file), else the tilts, which must then hold one
    angle per projection (``MismatchedTiltError`` naming ``label`` otherwise). With no
    tilts found, all ``n`` tilts are 0 and a warning says how to set them.
    """
    if tilts is not None:
        return _checked_tilts(tilts, n, "tilts=")
    for label, getter in sources:
        found = getter()
        if found is not None:
            values = _checked_tilts(found, n, str(label))
            logger.info("Tilts of %s read from %s", Path(str(path)).name, label)
            return values
    return _warn_no_tilts(str(path), n)


def _sidecar_source(path) -> tuple:
    """The ``.rawtlt``/``.tlt`` (or ``.csv``) file beside ``path`` as a tilt source."""
    tilt_file = _mdoc.find_tilt_file(path)
    return (tilt_file, lambda: None if tilt_file is None else _mdoc.read_tilt_file(tilt_file))


def _all_or_none(values) -> np.ndarray | None:
    return None if any(v is None for v in values) else np.array(values, dtype=np.float64)


_NAME_TILT = re.compile(r"(?:tilt|angle|alpha|deg)[_\s=:]*([-+]?\d+(?:\.\d+)?)", re.IGNORECASE)


# a last number with a sign or a decimal point (``TS_01_-3.0``), never a plain counter (``img_007``)
# a last number with a sign or a decimal point (``TS_01_-3.0``), never a plain counter
_LAST_NUMBER = re.compile(r"([-+]\d+(?:\.\d+)?|\d+\.\d+)(?!.*\d)")


def _name_tilt(path) -> float | None:
    """The tilt a file name gives: ``tilt_-60.0.tif``, ``angle+12.tif``, ``TS_01_-3.0.tif``.

    A plain counter (``img_007.tif``) is not a tilt.
    """
    stem = Path(path).stem
    match = _NAME_TILT.search(stem) or _LAST_NUMBER.search(stem)
    if match is None:
        return None
    value = float(match.group(1))
    return value if -90.0 <= value <= 90.0 else None


def _folder_tilts(paths) -> np.ndarray | None:
    """Tilts from the one ``.rawtlt``/``.tlt``/``.csv`` file in the files' folder (file order)."""
    folder = Path(paths[0]).parent
    found = sorted(p for ext in ("*.rawtlt", "*.tlt", "*.csv") for p in folder.glob(ext))
    if len(found) != 1 or any(Path(p).parent != folder for p in paths):
        return None
    return _mdoc.read_tilt_file(found[0])


def _no_series_tilts(paths):
    missing = [str(p) for p in paths][:3]
    raise TomoFileError(
        f"No tilts for the files {missing}...: no stage tilt in their metadata "
        "(Acquisition_instrument.TEM.Stage.tilt_alpha), none in their names (tilt_-60.0.tif), "
        "no .rawtlt/.tlt/.csv in their folder. Give the tilts with load(files, tilts=angles) "
        "in file order.")


def _natural_key(path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", Path(path).name)]


def _folder_files(folder: Path) -> list[Path]:
    """The image files of a folder, of its most common type, in natural order."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_TYPES
             and not p.name.startswith(".") and p.suffix.lower() != ".emi"]
    if not files:
        raise TomoFileError(f"The folder {folder} holds no image files ({', '.join(IMAGE_TYPES)}).")
    exts = [p.suffix.lower() for p in files]
    common = max(set(exts), key=exts.count)
    return sorted((p for p in files if p.suffix.lower() == common), key=_natural_key)


# -- lists of files ------------------------------------------------------------------------
