"""ETSpy's ``etspy.io`` helpers by their names, as thin wrappers over ``load`` and our readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidTiltsError, MismatchedTiltError
from . import _mdoc, _mrc
from ._load import _dm_tilts, load


def load_serialem(mrcfile, mdocfile):
    """Load a SerialEM tilt series and its ``.mdoc`` (ETSpy's ``load_serialem``).

    ``load(mrcfile, mdocs=[mdocfile])``: a ``TomoStack`` with the ``.mdoc``'s tilts (ETSpy
    left them at zero) and its microscope metadata; the pixel size is HyperSpy's (ETSpy
    divided it by ten once more).
    """
    return load(mrcfile, mdocs=[mdocfile])


def load_serialem_series(mrcfiles, mdocfiles):
    """Load a SerialEM multi-frame series, one MRC per tilt (ETSpy's ``load_serialem_series``).

    Returns ``(stack, tilts)`` as ETSpy: ``stack`` has navigation axes
    ``(Frames, Projections)`` and data ``(n_tilts, n_frames, ny, nx)``, sorted by tilt;
    ``tilts`` is ``(n_tilts, n_frames)``. ``stack`` is a ``TomoStack`` (a ``Signal2D``)
    that also holds the tilts; ``mrcfiles[k]`` is paired with ``mdocfiles[k]``.
    """
    stack = load(list(mrcfiles), mdocs=list(mdocfiles))
    return stack, np.asarray(stack.tilts.data)[..., 0].copy()


def get_mrc_tilts(stack, filename) -> np.ndarray | None:
    """Tilts of an MRC file (ETSpy's ``get_mrc_tilts``), or None when it has none.

    In ETSpy's order: the FEI extended header (as HyperSpy read it into ``stack``), the
    SerialEM extended header, then a ``.rawtlt`` (or ``.tlt``) file beside ``filename``.
    """
    n = int(stack.data.shape[0])
    tilts = _mrc.fei_tilts(stack, n)
    if tilts is None:
        found = _mrc.serialem_tilts(filename, _mrc.read_mrc_header(filename))
        tilts = None if found is None else found[:n]
    if tilts is None and (tilt_file := _mdoc.find_tilt_file(Path(filename))) is not None:
        tilts = _mdoc.read_tilt_file(tilt_file)
        if tilts.size != n:
            err = MismatchedTiltError(tilts.size, n)
            err.args = (f"Number of tilts in {tilt_file.suffix} file inconsistent with data "
                        f"shape ({tilt_file.name}). {err.args[0]}",)
            raise err
    return tilts


def get_dm_tilts(s) -> np.ndarray:
    """Tilts of a DM tilt series from its Tomography tags (ETSpy's ``get_dm_tilts``).

    ``minimum + step·k`` for each of the ``n`` images (never one short), else a
    degree-calibrated navigation axis.

    Raises
    ------
    InvalidTiltsError
        When the signal has neither (ETSpy raised a ``KeyError``).
    """
    n = int(s.data.shape[0]) if s.data.ndim == 3 else 1
    tilts = _dm_tilts(s, n)
    if tilts is None:
        raise InvalidTiltsError(
            "The signal has no DM tomography tags "
            "(ImageList.TagGroup0.ImageTags.Tomography.Tomography_setup.Tilt_angles) "
            "and no navigation axis in degrees.")
    return tilts


def parse_mrc_header(filename) -> dict:
    """The MRC header fields ETSpy's ``parse_mrc_header`` returned that we read, as a dict.

    Keys: ``nx``, ``ny``, ``nz``, ``mode``, ``nextra`` (extended-header bytes),
    ``ext_type``, ``nint``, ``nreal``, ``byteorder``, and ``ext_header`` (the extended
    header as 16-bit integers, as ETSpy). ETSpy's other keys (cell sizes, origin, labels...)
    are not read; the header is checked (a truncated or non-MRC file raises
    ``TomoFileError``).
    """
    header = _mrc.read_mrc_header(filename)
    with open(filename, "rb") as fh:
        fh.seek(_mrc.HEADER_BYTES)
        ext = fh.read(header.nsymbt)
    return {
        "nx": header.nx, "ny": header.ny, "nz": header.nz, "mode": header.mode,
        "nextra": header.nsymbt, "ext_type": header.exttyp, "nint": header.nint,
        "nreal": header.nreal, "byteorder": header.byteorder,
        "ext_header": np.frombuffer(ext[:len(ext) // 2 * 2], dtype=f"{header.byteorder}i2"),
    }


__all__ = ["get_dm_tilts", "get_mrc_tilts", "load_serialem", "load_serialem_series",
           "parse_mrc_header"]
