"""IMOD files: ``.xf`` transforms, ``.tlt`` angles, and MRC stacks/volumes with a voxel size.

``.xf`` (IMOD's "linear transformation" file): one line per projection,
``a11 a12 a21 a22 dx dy``, the map from a raw image to the aligned one

    x' = a11 (x - xci) + a12 (y - yci) + dx + xco
    y' = a21 (x - xci) + a22 (y - yci) + dy + yco

with ``(xci, yci)`` the centre of the input image and ``(xco, yco)`` that of the output
(IMOD man page ``xf2rotmagstr``, https://bio3d.colorado.edu/imod/doc/man/xf2rotmagstr.html).
IMOD's coordinates run from 0 at the left edge of the first pixel to ``nx`` at the right
edge of the last, and the centre is ``nx / 2`` (IMOD ``libcfshr/cubinterp.c``, the routine
``newstack -xform`` uses: "Xi is a coordinate running from 0 at the left edge of the first
pixel to nxa at the right edge"; "rotate around center of image when input center is
specified as nx/2"). In 0-based pixel indices that centre is ``(nx - 1) / 2``, ours
(``docs/conventions.md``); ``x`` is the column and ``y`` the row as stored in the MRC file
(the array index as ``mrcfile`` reads it). IMOD writes the matrix with 7 decimals and the
shifts with 3 (``f12.7``, ``f12.3``); so do we.

IMOD's ``tilt`` wants the tilt axis along **Y** in the aligned stack; ours is along x. Our
transform is therefore followed by ``IMOD_TURN``, a rotation by -90° (our sign: a point
``(x, y)`` goes to ``(y, -x)`` about the centre, so IMOD's X is our y and IMOD's Y runs
against our x); the aligned IMOD frame is ``(nx_ours, ny_ours)`` → ``(ny, nx)``. Whether
IMOD's reconstruction of our ``.ali`` + ``.tlt`` has our handedness is not checked here (no
IMOD on the test machines).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError, TomoFileError
from ..signals import get_rigid

IMOD_TURN = -90.0  # degrees, our sign: our aligned frame (axis along x) -> IMOD's (along Y)
MRC_LABEL = "etspy-widgets: IMOD frame (tilt axis along Y)"


def rotation(angle: float) -> np.ndarray:
    """Our rotation by ``angle`` degrees on ``(x, y)`` (``docs/conventions.md``)."""
    a = np.deg2rad(angle)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def stack_affines(stack, raw_shape=None):
    """``(A, d, out_shape)``: raw → aligned in our frame, ``p' - c' = A (p - c) + d``.

    ``p = (x, y)`` pixel indices of the raw image, ``c`` its centre, ``c'`` the centre of
    the aligned image (``out_shape`` = ``(ny, nx)`` of ``stack``, smaller when it was
    cropped). The canonical pipeline (``docs/conventions.md``): shift ``s`` (y, x), crop at
    ``(row0, col0)``, rotate by ``tiltaxis`` about the cropped centre, shift
    ``(yshift, xshift)``; so ``d = R (s + c - o - c') + t``.

    Raises
    ------
    TomoFileError
        For a cropped stack without ``raw_shape`` (the size of the unaligned images, which
        the crop does not record).
    """
    angle, yshift, xshift = get_rigid(stack.metadata)
    shifts = stack.shift_values[:, ::-1]  # (sx, sy)
    ny, nx = (int(v) for v in stack.data.shape[-2:])
    c_out = np.array([(nx - 1) / 2, (ny - 1) / 2])
    bounds = stack.metadata.get_item("Tomography.crop_bounds")
    cropped = bool(stack.metadata.get_item("Tomography.cropped", False)) and bounds is not None
    offset = np.zeros(2)
    if cropped:
        if raw_shape is None:
            raise TomoFileError(
                "This stack was cropped (shift_crop); the transforms depend on the size of the "
                "unaligned images, which the crop does not record: give raw_shape=(ny, nx) "
                "of the raw series.")
        offset = np.array([float(bounds[2]), float(bounds[0])])
    rny, rnx = raw_shape if raw_shape is not None else (ny, nx)
    c_in = np.array([(rnx - 1) / 2, (rny - 1) / 2])
    rot = rotation(angle)
    t = np.array([xshift, yshift])
    A = np.repeat(rot[None], shifts.shape[0], axis=0)
    d = (rot @ (shifts + c_in - offset - c_out).T).T + t
    return A, d, (ny, nx)


def turn(A, d, shape, angle: float = IMOD_TURN):
    """Follow ``(A, d)`` by a turn of the output by ``angle`` (±90°): ``(T A, T d, shape')``."""
    T = np.round(rotation(angle))
    shape = shape[::-1] if abs(angle) % 180 == 90 else shape
    return np.einsum("ij,njk->nik", T, A), d @ T.T, tuple(shape)


def turn_images(data, angle: float = IMOD_TURN):
    """Turn ``(n, ny, nx)`` images by ±90° exactly (no interpolation), our rotation sign.

    A point ``(x, y)`` about the centre goes to ``(x cos a - y sin a, x sin a + y cos a)``:
    for -90°, ``out[X, ...]`` with ``X = y`` and ``Y = (nx - 1) - x``.
    """
    if angle == -90.0:
        return np.flip(np.swapaxes(data, -1, -2), axis=-2)
    if angle == 90.0:
        return np.flip(np.swapaxes(data, -1, -2), axis=-1)
    raise InvalidArgumentError(f"turn_images turns by ±90°; got {angle}.")


def format_xf(A, d) -> str:
    lines = [f"{a[0, 0]:12.7f}{a[0, 1]:12.7f}{a[1, 0]:12.7f}{a[1, 1]:12.7f}{v[0]:12.3f}{v[1]:12.3f}"
             for a, v in zip(A, d, strict=True)]
    return "\n".join(lines) + "\n"


def read_xf(path):
    """``(A (n, 2, 2), d (n, 2))`` from an IMOD ``.xf``/``.xg`` file.

    Raises
    ------
    TomoFileError
        If a line does not hold six numbers.
    """
    path = Path(path)
    rows = []
    for k, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            values = [float(v) for v in raw.split()]
        except ValueError:
            values = []
        if len(values) != 6:
            raise TomoFileError(
                f"{path}, line {k}: {raw.strip()!r} is not an IMOD transform. An .xf file "
                "holds six numbers per line: a11 a12 a21 a22 dx dy.")
        rows.append(values)
    if not rows:
        raise TomoFileError(f"{path} holds no transforms (an IMOD .xf has one line per image).")
    arr = np.array(rows)
    return arr[:, :4].reshape(-1, 2, 2), arr[:, 4:]


def format_tlt(tilts) -> str:
    return "".join(f"{t:9.3f}\n" for t in np.asarray(tilts, dtype=np.float64).reshape(-1))


def write_mrc(path, data, voxel_angstrom=None, label=None) -> None:
    """Write ``data`` (2D/3D) as MRC at ``path`` with the voxel size in Å (``mrcfile``).

    float64 is stored as float32 (MRC has no 64-bit mode); other dtypes mrcfile accepts are
    kept. Written one section at a time for a lazy (dask) array.
    """
    import mrcfile

    dtype = np.dtype(data.dtype)
    if dtype == np.float64:
        dtype = np.dtype(np.float32)
    shape = tuple(int(s) for s in data.shape)
    with mrcfile.new_mmap(path, shape=shape, mrc_mode=mrcfile.utils.mode_from_dtype(dtype),
                          overwrite=True) as mrc:
        for k in range(shape[0]):
            mrc.data[k] = np.asarray(data[k], dtype=dtype)
        mrc.update_header_from_data()
        mrc.update_header_stats()
        if voxel_angstrom is not None:
            mrc.voxel_size = tuple(float(v) for v in voxel_angstrom)
        if label:
            mrc.add_label(label)


def mrc_labels(path) -> list[str]:
    """The text labels of an MRC header ([] when mrcfile cannot read them)."""
    import warnings

    import mrcfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mrcfile.open(path, header_only=True, permissive=True) as mrc:
                nlabl = min(int(mrc.header.nlabl), 10)
                return [bytes(mrc.header.label[k]).decode("ascii", errors="replace").strip()
                        for k in range(nlabl)]
    except (OSError, ValueError, AttributeError):
        return []


_TO_ANGSTROM = {"nm": 10.0, "µm": 1e4, "um": 1e4, "Å": 1.0, "A": 1.0, "pm": 0.01}


def voxel_angstrom(axes) -> tuple | None:
    """``(x, y, z)`` voxel size in Å from HyperSpy axes in MRC order (x fastest), or None."""
    sizes = []
    for ax in axes:
        factor = _TO_ANGSTROM.get(str(ax.units))
        if factor is None:
            return None
        sizes.append(float(ax.scale) * factor)
    return tuple(sizes)
