"""Read one arrived projection with ``etspy_widgets.load`` (MRC, TIFF, DM3/DM4, and any other
single-image format ``load`` reads), refusing a file that is still being written."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.errors import TomoFileError
from ..engine.io import load, read_mrc_header

_NO_TILT = "No tilt angles found"
MRC_TYPES = (".mrc", ".mrcs", ".st", ".ali", ".preali")


class NotReadyError(TomoFileError):
    """The file is incomplete (still being written): try again at the next poll."""


@dataclass(frozen=True)
class Calibration:
    """The image axes of a projection: what ``watch.stack`` takes from the first file."""

    names: tuple
    scales: tuple
    offsets: tuple
    units: tuple

    @classmethod
    def of(cls, stack) -> Calibration:
        axes = stack.axes_manager.signal_axes
        return cls(tuple(str(a.name) for a in axes), tuple(float(a.scale) for a in axes),
                   tuple(float(a.offset) for a in axes), tuple(str(a.units) for a in axes))

    def apply(self, stack) -> None:
        for ax, name, scale, offset, units in zip(stack.axes_manager.signal_axes, self.names,
                                                  self.scales, self.offsets, self.units,
                                                  strict=True):
            ax.name, ax.scale, ax.offset, ax.units = name, scale, offset, units


class _Catch(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.missing = False

    def emit(self, record):
        if _NO_TILT in record.getMessage():
            self.missing = True


def check_complete(path: Path) -> None:
    """Raise ``NotReadyError`` when an MRC file is shorter than its header says."""
    if path.suffix.lower() in MRC_TYPES:
        try:
            read_mrc_header(path)
        except TomoFileError as err:
            raise NotReadyError(str(err)) from err


def _fast_mrc(path: Path):
    """The image of a one-image MRC read by RosettaSciIO's reader alone (the array
    ``load`` wraps, without building a HyperSpy signal: ~10× faster, and no cyclic garbage
    for the collector), or None when the file is not a plain 2-D MRC."""
    from rsciio.mrc import file_reader

    try:
        out = file_reader(str(path))
    except Exception as err:  # a file still being written, or replaced meanwhile
        raise NotReadyError(f"RosettaSciIO could not read {path.name}: {err}") from err
    if len(out) != 1 or np.ndim(out[0]["data"]) != 2:
        return None
    return np.array(out[0]["data"])  # out of the memory map: the file may be replaced


def read_projection(path: Path, tilt: float | None, *, fast: bool = False):
    """``(image, tilt, calibration)`` of a one-image file.

    ``tilt=None`` takes the tilt from the file's metadata (MRC extended header or a
    ``X.mrc.mdoc`` beside it, the stage tilt of DM/TIFF/EMD), as ``load`` reads it.
    ``fast=True`` (a known tilt and an MRC file) reads only the pixels, with RosettaSciIO's
    MRC reader, and returns no calibration (the series keeps its first file's).

    Raises
    ------
    NotReadyError
        If the file is incomplete or unreadable now (it may still be being written).
    TomoFileError
        If it holds several images, or ``tilt=None`` and it carries no tilt.
    """
    check_complete(path)
    if fast and tilt is not None and path.suffix.lower() in (".mrc", ".mrcs"):
        image = _fast_mrc(path)
        if image is not None:
            return image, float(tilt), None
    io_logger = logging.getLogger("etspy_widgets.engine.io")
    catch = _Catch()
    io_logger.addHandler(catch)
    try:
        if tilt is not None:
            stack = load(path, tilts=[float(tilt)])
        elif path.suffix.lower() in MRC_TYPES:
            stack = load(path)
        else:  # a list of one: the stage tilt of DM/TIFF files is read for lists
            stack = load([path])
    except TomoFileError as err:
        if tilt is None and "No stage tilt" in str(err):
            raise TomoFileError(
                f"{path.name} carries no tilt in its metadata; give watch(..., tilts=...) "
                "('mdoc', 'names', or a list of angles).") from err
        raise NotReadyError(str(err)) from err
    finally:
        io_logger.removeHandler(catch)
    if tilt is None and catch.missing:
        raise TomoFileError(
            f"{path.name} carries no tilt (no extended-header tilt, no .mdoc beside it); give "
            "watch(..., tilts=...) ('mdoc', 'names', or a list of angles).")
    data = np.asarray(stack.data)
    if data.ndim != 3 or data.shape[0] != 1:
        raise TomoFileError(
            f"{path.name} holds {data.shape[:-2]} images; watch() follows one projection per "
            "file (load a whole-series file with etw.load).")
    value = float(stack.tilt_values[0]) if tilt is None else float(tilt)
    return data[0], value, Calibration.of(stack)
