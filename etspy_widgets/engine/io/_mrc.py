"""MRC header checks and the tilt angles MRC headers carry (FEI and SerialEM extended headers).

Reading the pixels is left to RosettaSciIO; this module only makes sure a file *is* a complete
MRC before handing it over (so a truncated or mis-named file fails with a clear
``TomoFileError`` instead of an mmap error deep inside the reader), and reads the
extended-header tilts RosettaSciIO does not expose (SerialEM's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TomoFileError

HEADER_BYTES = 1024
# MRC mode -> bytes per pixel (mode 101 packs two 4-bit pixels per byte)
_MODE_BYTES = {0: 1, 1: 2, 2: 4, 3: 4, 4: 8, 6: 2, 12: 2, 101: 0.5}


@dataclass(frozen=True)
class MrcHeader:
    """The header fields needed to check a file and to find its tilts."""

    nx: int
    ny: int
    nz: int
    mode: int
    nsymbt: int
    exttyp: str
    nint: int
    nreal: int
    byteorder: str

    @property
    def data_bytes(self) -> int:
        per_row = int(np.ceil(self.nx * _MODE_BYTES[self.mode]))
        return per_row * self.ny * self.nz


def _plausible(words: np.ndarray) -> bool:
    nx, ny, nz, mode = (int(w) for w in words[:4])
    nsymbt = int(words[23])
    return (0 < nx < 2**20 and 0 < ny < 2**20 and 0 < nz < 2**24 and mode in _MODE_BYTES
            and 0 <= nsymbt < 2**31)


def read_mrc_header(path) -> MrcHeader:
    """Read and check the header of an MRC file (also IMOD ``.ali``/``.rec``/``.st``).

    Raises
    ------
    TomoFileError
        If the file is shorter than a header, is not an MRC file (implausible sizes or mode),
        or is shorter than its header says (truncated).
    """
    path = Path(path)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        raw = fh.read(HEADER_BYTES)
    if len(raw) < HEADER_BYTES:
        raise TomoFileError(
            f"{path} is {len(raw)} bytes long, shorter than an MRC header (1024 bytes): it is "
            "not an MRC file or it was cut short. Check the file or copy it again."
        )
    byteorder = None
    for order in ("<", ">"):
        if _plausible(np.frombuffer(raw[:96], dtype=f"{order}i4")):
            byteorder = order
            break
    if byteorder is None:
        words = np.frombuffer(raw[:16], dtype="<i4").tolist()
        raise TomoFileError(
            f"{path} is not an MRC file: its header gives sizes/mode {words} (expected three "
            "positive image sizes and a mode in "
            f"{sorted(_MODE_BYTES)}). Check the file type; MRC files from IMOD, SerialEM or "
            "FEI/Thermo software are supported."
        )
    words = np.frombuffer(raw[:96], dtype=f"{byteorder}i4")
    shorts = np.frombuffer(raw[128:132], dtype=f"{byteorder}i2")
    header = MrcHeader(
        nx=int(words[0]), ny=int(words[1]), nz=int(words[2]), mode=int(words[3]),
        nsymbt=int(words[23]),
        exttyp=raw[104:108].decode("ascii", errors="replace").strip("\x00 "),
        nint=int(shorts[0]), nreal=int(shorts[1]), byteorder=byteorder,
    )
    expected = HEADER_BYTES + header.nsymbt + header.data_bytes
    if size < expected:
        raise TomoFileError(
            f"{path} is truncated: its header describes {header.nz} images of "
            f"{header.nx} x {header.ny} pixels (mode {header.mode}), {expected} bytes in all, "
            f"but the file has only {size} bytes. The copy or the acquisition was cut short."
        )
    image = max(1, header.data_bytes // max(header.nz, 1))
    if size - expected >= image:
        raise TomoFileError(
            f"{path}: its header describes {header.nz} images of {header.nx} x {header.ny} "
            f"pixels (mode {header.mode}, {expected} bytes in all) but the file has {size} "
            f"bytes, {(size - expected) / image:.1f} images more: the header disagrees with "
            "the data. Fix the header (IMOD: alterheader) or write the file again."
        )
    return header


def serialem_tilts(path, header: MrcHeader) -> np.ndarray | None:
    """Tilt angles from a SerialEM extended header (``SERI``/``AGAR``), or None.

    SerialEM writes ``nint`` bytes per image; when bit 1 of ``nreal`` is set the first two
    bytes are the tilt angle × 100 as a 16-bit integer.
    """
    if header.exttyp not in ("SERI", "AGAR", "") or not header.nreal & 1 or header.nint < 2:
        return None
    if header.exttyp == "" and header.nint > 128:  # not SerialEM's packed layout
        return None
    if header.nsymbt < header.nint * header.nz:
        return None
    with open(path, "rb") as fh:
        fh.seek(HEADER_BYTES)
        ext = fh.read(header.nint * header.nz)
    sections = np.frombuffer(ext, dtype=np.uint8).reshape(header.nz, header.nint)
    raw = sections[:, :2].copy().view(f"{header.byteorder}i2")[:, 0]
    return raw.astype(np.float64) / 100.0


def fei_tilts(signal, n: int) -> np.ndarray | None:
    """Tilt angles RosettaSciIO read from an FEI extended header, or None when absent/all zero."""
    om = signal.original_metadata
    if not om.has_item("fei_header.a_tilt"):
        return None
    tilts = np.asarray(om.get_item("fei_header.a_tilt"), dtype=np.float64).ravel()
    if tilts.size < n:
        return None
    tilts = tilts[:n]
    return tilts if np.any(tilts) else None
