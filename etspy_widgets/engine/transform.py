"""Shifting, rotating, cropping and binning tilt series held as NumPy arrays.

Every function here follows ``docs/conventions.md``:

* a tilt series is ``(n_tilts, ny, nx)``, the tilt axis along x;
* a shift is the shift *applied* to the data: shifting by ``(sy, sx)`` moves the
  content of an image to ``(y + sy, x + sx)``, i.e. ``out(y, x) = in(y - sy, x - sx)``;
  ``shifts[:, 0]`` is y (across the tilt axis), ``shifts[:, 1]`` is x (along it);
* a rotation by ``angle`` degrees turns the content about the image centre
  ``((ny - 1) / 2, (nx - 1) / 2)``: a point at ``(x, y)`` relative to the centre goes to
  ``(x cos a - y sin a, x sin a + y cos a)`` (ETSpy's ``trans_stack`` angle; with y
  pointing down the screen a positive angle turns the content clockwise);
* ``rotate_shift_stack`` rotates first, then shifts by ``(yshift, xshift)`` (the
  same sign as ``shifts``).

These functions never modify their input.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidArgumentError, InvalidDataError, UnknownMethodError

SHIFT_TYPES = ("fourier", "interp")
_CHUNK = 8  # projections per FFT batch: bounds the extra memory to a few images


def _float(data) -> np.ndarray:
    data = np.asarray(data)
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def _check_shifts(shifts, n: int) -> np.ndarray:
    shifts = np.asarray(getattr(shifts, "data", shifts), dtype=np.float64).reshape(-1, 2)
    if shifts.shape[0] != n:
        raise InvalidDataError(
            f"Got {shifts.shape[0]} shifts for {n} projections; give one (y, x) pair per "
            "projection."
        )
    if not np.isfinite(shifts).all():
        raise InvalidDataError("The shifts hold NaN or infinite values.")
    return shifts


def fourier_shift_stack(data, shifts, pad: str = "edge") -> np.ndarray:
    """Shift each projection by a sub-pixel amount with a Fourier phase ramp.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections.
    shifts : array-like
        ``(n, 2)`` shifts (y, x) in pixels, the shift applied to the content.
    pad : str
        ``numpy.pad`` mode for the border that keeps the FFT from wrapping content
        around; what moves in from outside the image takes these values.

    Returns
    -------
    numpy.ndarray
        Shifted copy, same shape, float dtype.
    """
    data = _float(data)
    n, ny, nx = data.shape
    shifts = _check_shifts(shifts, n)
    out = np.empty_like(data)
    py = int(np.ceil(np.abs(shifts[:, 0]).max())) + 2
    px = int(np.ceil(np.abs(shifts[:, 1]).max())) + 2
    from scipy import fft as sfft

    fy, fx = sfft.next_fast_len(ny + 2 * py), sfft.next_fast_len(nx + 2 * px, real=True)
    ky = np.fft.fftfreq(fy)[:, None]
    kx = np.fft.rfftfreq(fx)[None, :]
    ctype = np.complex128 if data.dtype == np.float64 else np.complex64
    for start in range(0, n, _CHUNK):
        block = data[start:start + _CHUNK]
        padded = np.pad(block, ((0, 0), (py, fy - ny - py), (px, fx - nx - px)), mode=pad)
        spec = sfft.rfft2(padded, workers=-1)
        s = shifts[start:start + _CHUNK]
        ramp = np.exp(-2j * np.pi * (ky[None] * s[:, 0, None, None]
                                     + kx[None] * s[:, 1, None, None])).astype(ctype)
        spec *= ramp
        res = sfft.irfft2(spec, s=(fy, fx), workers=-1)
        out[start:start + _CHUNK] = res[:, py:py + ny, px:px + nx]
    return out


def interp_shift_stack(data, shifts, order: int = 3) -> np.ndarray:
    """Shift each projection by spline interpolation (``scipy.ndimage.shift``).

    Same arguments and sign as ``fourier_shift_stack``; borders take the nearest value.
    """
    data = _float(data)
    shifts = _check_shifts(shifts, data.shape[0])
    out = np.empty_like(data)
    for i, img in enumerate(data):
        out[i] = ndimage.shift(img, shifts[i], order=order, mode="nearest")
    return out


def shift_stack(data, shifts, shift_type: str = "fourier", **kwargs) -> np.ndarray:
    """Apply ``shifts`` with the chosen method (``"fourier"`` or ``"interp"``)."""
    kind = str(shift_type).lower()
    if kind == "fourier":
        return fourier_shift_stack(data, shifts, **kwargs)
    if kind == "interp":
        return interp_shift_stack(data, shifts, **kwargs)
    raise UnknownMethodError("shift type", shift_type, SHIFT_TYPES)


def rotation_source_coords(shape, angle: float = 0.0, yshift: float = 0.0,  # noqa: PLR0917
                           xshift: float = 0.0, rows=None, cols=None):
    """Where, in the input image, each output pixel of ``rotate_shift_stack`` comes from.

    Parameters
    ----------
    shape : tuple
        ``(ny, nx)`` of the image.
    angle, yshift, xshift : float
        The rotation (degrees) and the shift applied after it (pixels).
    rows, cols : array-like, optional
        Output pixel coordinates (broadcast together); default the whole image.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Input row and column coordinates, shaped like ``rows``/``cols`` broadcast.
    """
    ny, nx = shape
    if rows is None or cols is None:
        rows, cols = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    cy, cx = (ny - 1) / 2.0, (nx - 1) / 2.0
    yo = np.asarray(rows, dtype=np.float64) - yshift - cy
    xo = np.asarray(cols, dtype=np.float64) - xshift - cx
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    # inverse of  x' = c x - s y,  y' = s x + c y
    xi = c * xo + s * yo
    yi = -s * xo + c * yo
    return yi + cy, xi + cx


def rotate_shift_stack(data, angle: float = 0.0, yshift: float = 0.0, xshift: float = 0.0,
                       order: int = 1) -> np.ndarray:
    """Rotate every projection about the image centre, then shift it (see module conventions).

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections.
    angle : float
        Rotation in degrees (ETSpy's ``trans_stack`` sign).
    yshift, xshift : float
        Shift applied after the rotation, same sign as ``shifts``: content moves by
        ``+yshift`` rows and ``+xshift`` columns.
    order : int
        Spline order (1 = linear, as ETSpy's default).

    Returns
    -------
    numpy.ndarray
        Transformed copy; pixels from outside the image are 0.
    """
    data = _float(data)
    if angle == 0.0 and yshift == 0.0 and xshift == 0.0:
        return data.copy()
    ri, ci = rotation_source_coords(data.shape[1:], angle, yshift, xshift)
    out = np.empty_like(data)
    coords = np.stack([ri, ci])
    for i, img in enumerate(data):
        out[i] = ndimage.map_coordinates(img, coords, order=order, mode="grid-constant", cval=0.0)
    return out


def _shear(data, k: float, axis: int) -> np.ndarray:
    """Fourier shear of ``(n, ny, nx)`` images: along ``axis`` (2: x, 1: y) every line is
    shifted by ``k`` times its distance from the centre along the other axis."""
    from scipy import fft as sfft

    other = 1 if axis == 2 else 2
    size, across = data.shape[axis], data.shape[other]
    pos = np.arange(across) - (across - 1) / 2.0
    pad = int(np.ceil(abs(k) * across / 2)) + 4
    width = [(0, 0)] * 3
    width[axis] = (pad, pad)
    padded = np.pad(data, width, mode="edge")
    m = padded.shape[axis]
    spec = sfft.rfft(padded, axis=axis, workers=-1)
    freq = np.fft.rfftfreq(m)
    if axis == 2:   # rows (y) shift along x by k * (y - cy)
        phase = np.exp(-2j * np.pi * freq[None, :] * (k * pos)[:, None])[None]
    else:           # columns (x) shift along y by k * (x - cx)
        phase = np.exp(-2j * np.pi * freq[:, None] * (k * pos)[None, :])[None]
    spec *= phase.astype(spec.dtype)
    out = sfft.irfft(spec, n=m, axis=axis, workers=-1)
    index = [slice(None)] * 3
    index[axis] = slice(pad, pad + size)
    return out[tuple(index)].astype(data.dtype)


def fourier_rotate_stack(data, angle: float) -> np.ndarray:
    """Rotate every projection about its centre (module sign) by three Fourier shears
    (x, y, x: Unser et al. 1995): band-limited interpolation, as ``fourier_shift_stack``."""
    data = _float(data)
    a = np.deg2rad(float(angle))
    if a == 0.0:
        return data.copy()
    out = _shear(data, -np.tan(a / 2), 2)
    out = _shear(out, np.sin(a), 1)
    return _shear(out, -np.tan(a / 2), 2)


def align_stack(data, shifts=None, angle: float = 0.0, yshift: float = 0.0,
                xshift: float = 0.0, *, crop=None, order: int = 3) -> np.ndarray:
    """The whole canonical pipeline (``docs/conventions.md``) in ONE resampling of ``data``.

    ``apply_shifts(shifts)``, the crop to ``crop`` and ``trans_stack(xshift, yshift,
    angle)`` each resample (or cut) the series; done in turn, their interpolation errors
    add up. Here every output pixel is traced back through the rotation, the crop and its
    projection's shift to the raw image and sampled there once, with a spline of
    ``order`` (3, cubic, by default). What the shift brings in from outside the raw image
    takes the nearest edge value (as ``fourier_shift_stack``'s ``"edge"`` padding); what
    the rotation brings in from outside the (cropped) frame is 0 (as
    ``rotate_shift_stack``).

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` raw projections.
    shifts : array-like, optional
        ``(n, 2)`` per-projection shifts (y, x), applied first.
    angle, yshift, xshift : float
        Then the rotation about the centre of the (cropped) image and the shift after it.
    crop : (slice, slice), optional
        Rows and columns kept after the shifts (``crop_bounds``); default all.
    order : int or "fourier"
        Spline order (0 to 5), or ``"fourier"``: band-limited interpolation throughout
        (``fourier_shift_stack``, then ``fourier_rotate_stack``, then the shift after it;
        each step is exact for band-limited images, so the steps do not add interpolation
        error; it was the most accurate on the end-to-end figure, ``docs/quality.md``).

    Returns
    -------
    numpy.ndarray
        ``(n, rows, cols)`` float copy.
    """
    data = _float(data)
    n, ny, nx = data.shape
    shifts = np.zeros((n, 2)) if shifts is None else _check_shifts(shifts, n)
    rows, cols = crop if crop is not None else (slice(0, ny), slice(0, nx))
    r0, c0 = int(rows.start or 0), int(cols.start or 0)
    oy = int(rows.stop if rows.stop is not None else ny) - r0
    ox = int(cols.stop if cols.stop is not None else nx) - c0
    ri, ci = rotation_source_coords((oy, ox), angle, yshift, xshift)
    outside = (ri < -0.5) | (ri > oy - 0.5) | (ci < -0.5) | (ci > ox - 0.5)
    if order == "fourier":
        out = fourier_shift_stack(data, shifts) if np.any(shifts) else data.copy()
        out = fourier_rotate_stack(out[:, r0:r0 + oy, c0:c0 + ox], angle)
        if yshift or xshift:
            out = fourier_shift_stack(out, np.tile([yshift, xshift], (n, 1)))
    else:
        out = np.empty((n, oy, ox), dtype=data.dtype)
        for i, img in enumerate(data):
            coords = np.stack([ri + r0 - shifts[i, 0], ci + c0 - shifts[i, 1]])
            out[i] = ndimage.map_coordinates(img, coords, order=int(order), mode="nearest")
    if outside.any():
        out[:, outside] = 0
    return out


def crop_bounds(shifts, shape) -> tuple[slice, slice]:
    """Rows and columns that hold real data in every projection after ``shifts`` were applied.

    A projection shifted by ``+s`` along an axis has ``ceil(s)`` invented pixels at the
    start of it; one shifted by ``-s`` has ``ceil(s)`` at the end. Shifts of one sign leave
    the other side untouched (ETSpy's ``shift_crop`` returned an empty stack then).

    Returns
    -------
    (slice, slice)
        ``(rows, cols)`` to index ``data[:, rows, cols]``.

    Raises
    ------
    InvalidDataError
        If the shifts span the whole image (nothing common remains).
    """
    shifts = np.asarray(getattr(shifts, "data", shifts), dtype=np.float64).reshape(-1, 2)
    ny, nx = shape[-2:]
    tol = 1e-6
    out = []
    for axis, size in ((0, ny), (1, nx)):
        s = shifts[:, axis]
        lo = int(np.ceil(max(s.max(), 0.0) - tol))
        hi = size - int(np.ceil(max(-s.min(), 0.0) - tol))
        if hi - lo < 1:
            raise InvalidDataError(
                f"The shifts ({s.min():.1f} .. {s.max():.1f} px along "
                f"{'y' if axis == 0 else 'x'}) leave no pixel common to all projections; "
                "check the alignment before cropping."
            )
        out.append(slice(lo, hi))
    return out[0], out[1]


def bin_stack(data, factor: int) -> np.ndarray:
    """Average ``factor × factor`` blocks of each projection (trailing rows/columns dropped)."""
    factor = int(factor)
    if factor < 1:
        raise InvalidArgumentError(f"The binning factor must be a positive integer; got {factor}.")
    data = _float(data)
    if factor == 1:
        return data.copy()
    n, ny, nx = data.shape
    by, bx = ny // factor, nx // factor
    if by < 1 or bx < 1:
        raise InvalidDataError(f"Binning {ny}×{nx} images by {factor} leaves nothing.")
    view = data[:, :by * factor, :bx * factor].reshape(n, by, factor, bx, factor)
    return view.mean(axis=(2, 4), dtype=np.float64).astype(data.dtype)


def binned_shift(shift: float, factor: float) -> float:
    """A shift in original pixels expressed in pixels of a stack binned by ``factor``.

    Block ``k`` of the binned stack averages original pixels ``k f .. k f + f - 1``;
    a shift is a length, so it simply scales: ``s / f``.
    """
    return shift / factor


def compose_rigid(first: tuple[float, float, float], then: tuple[float, float, float]):
    """Compose two (angle, yshift, xshift) transforms about the same centre.

    Applying ``first`` then ``then`` equals applying the result once: angles add and the
    first translation is turned by the second angle.
    """
    a1, y1, x1 = first
    a2, y2, x2 = then
    t = np.deg2rad(a2)
    c, s = np.cos(t), np.sin(t)
    x = c * x1 - s * y1 + x2
    y = s * x1 + c * y1 + y2
    return float(a1 + a2), float(y), float(x)
