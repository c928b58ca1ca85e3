"""AreTomo ``.aln`` files: the global-alignment block, read and written.

Layout and conventions from ``cryoet-alignment`` (the converters between AreTomo3, IMOD and
the CryoET Data Portal, https://github.com/uermel/cryoet-alignment,
``io/aretomo3/aln.py`` and ``io/cryoet_data_portal/alignment.py``):

* header lines ``# AreTomo Alignment / Priims bprmMn``, ``# RawSize = nx ny nz``,
  ``# NumPatches = 0``, ``# DarkFrame = ...`` (one per removed image), ``# AlphaOffset``,
  ``# BetaOffset``, then ``# SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT`` and one row per
  kept image: ``SEC`` 1-based, ``ROT`` (tilt-axis angle, degrees, ``%11.4f``), ``GMAG``
  (``%11.5f``), ``TX``/``TY`` (pixels, ``%11.3f``), four fit columns (``%9.2f``) and
  ``TILT`` (degrees, ``%10.2f``); ``# Local Alignment`` starts the patch block (not read).
* AreTomo's ``(ROT, TX, TY)`` and IMOD's ``.xf`` describe the same map: ``A = R(ROT)ᵀ``,
  ``d = -A (TX, TY)`` (``are2imod``; inversely ``R(ROT) = Aᵀ``, ``(TX, TY) = -Aᵀ d``,
  ``imod2are``), with ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` and both aligned frames
  having the tilt axis along Y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TomoFileError

HEADER = "# AreTomo Alignment / Priims bprmMn"
COLUMNS = ("# SEC     ROT         GMAG       TX          TY      SMEAN     SFIT    SCALE"
           "     BASE     TILT")


def imod_to_aln(A, d):
    """``(ROT, TX, TY)`` per image from IMOD ``(A, d)`` (``imod2are``)."""
    R = np.transpose(A, (0, 2, 1))
    rot = np.degrees(np.arctan2(R[:, 1, 0], R[:, 0, 0]))
    t = -np.einsum("nij,nj->ni", R, d)
    return rot, t


def aln_to_imod(rot, t):
    """IMOD ``(A, d)`` from AreTomo's ``ROT`` (degrees) and ``(TX, TY)`` (``are2imod``)."""
    a = np.deg2rad(np.asarray(rot, dtype=np.float64))
    R = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)],
                 -2)
    A = np.transpose(R, (0, 2, 1))
    d = -np.einsum("nij,nj->ni", A, np.asarray(t, dtype=np.float64))
    return A, d


def format_aln(A, d, tilts, raw_shape) -> str:
    """The text of an ``.aln`` (global alignment only) for IMOD-frame transforms ``(A, d)``."""
    rot, t = imod_to_aln(A, d)
    ny, nx = raw_shape
    lines = [HEADER, f"# RawSize = {nx} {ny} {len(tilts)}", "# NumPatches = 0",
             f"# AlphaOffset ={0.0:>9.2f}", f"# BetaOffset ={0.0:>9.2f}", COLUMNS]
    for k, (r, (tx, ty), tilt) in enumerate(zip(rot, t, tilts, strict=True), start=1):
        lines.append(f"{k:>5}{r:>11.4f}{1.0:>11.5f}{tx:>11.3f}{ty:>11.3f}"
                     f"{1.0:>9.2f}{1.0:>9.2f}{1.0:>9.2f}{0.0:>9.2f}{tilt:>10.2f}")
    return "\n".join(lines) + "\n"


def read_aln(path):
    """``(A, d, tilts, raw_size, dark)`` of an ``.aln``'s global block (IMOD frame transforms
    of the kept images; ``dark``: 0-based indices in the raw series of the images AreTomo
    removed as dark frames, ``# DarkFrame = index ...``).

    Raises
    ------
    TomoFileError
        If the file has no ``# AreTomo Alignment`` header, a row is malformed or ``GMAG`` is
        not 1 (magnification changes are not applied here).
    """
    path = Path(path)
    text = path.read_text(errors="replace").splitlines()
    if not text or not text[0].startswith("# AreTomo Alignment"):
        raise TomoFileError(f"{path} is not an AreTomo .aln file (its first line is not "
                            "'# AreTomo Alignment ...').")
    rows, raw, in_global, dark = [], None, False, []
    for k, line in enumerate(text, start=1):
        if line.startswith("# RawSize"):
            raw = tuple(int(v) for v in line.split("=")[1].split())
        elif line.startswith("# DarkFrame"):
            try:
                dark.append(int(line.split("=")[1].split()[0]))
            except (IndexError, ValueError) as err:
                raise TomoFileError(f"{path}, line {k}: {line.strip()!r} is not a DarkFrame "
                                    "line ('# DarkFrame = index ...').") from err
        elif line.startswith("# SEC"):
            in_global = True
        elif line.startswith("# Local Alignment"):
            break
        elif in_global and line.strip() and not line.startswith("#"):
            try:
                values = [float(v) for v in line.split()]
            except ValueError:
                values = []
            if len(values) != 10:
                raise TomoFileError(f"{path}, line {k}: {line.strip()!r} is not an .aln row "
                                    "(SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT).")
            rows.append(values)
    if not rows:
        raise TomoFileError(f"{path} holds no global-alignment rows.")
    arr = np.array(rows)
    if np.any(np.abs(arr[:, 2] - 1.0) > 1e-4):
        raise TomoFileError(f"{path}: GMAG differs from 1 ({arr[:, 2].min():.5f}.."
                            f"{arr[:, 2].max():.5f}); magnification changes are not applied.")
    A, d = aln_to_imod(arr[:, 1], arr[:, 3:5])
    return A, d, arr[:, 9], raw, sorted(dark)
