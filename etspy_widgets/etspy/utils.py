"""Utilities with ETSpy's names: tilt schemes, masks, weighting, sinogram filters, frame averaging.

``etspy_widgets.api.utils`` is this module, so ETSpy notebooks that call
``etspy.utils.calc_golden_ratio_angles(...)`` and friends keep working.
"""

from __future__ import annotations

import numpy as np

from ..engine.errors import (
    InvalidArgumentError,
    InvalidDataError,
    UnknownMethodError,
    check_method,
)
from ..engine.signals import TomoStack
from ..engine.transform import shift_stack

_ACCURACY = {"low": 0.025, "medium": 0.01, "high": 0.001}
_SINO_FILTERS = ("ram-lak", "shepp-logan", "hanning", "hann", "cosine", "cos")


def calc_est_angles(num_points: int) -> np.ndarray:
    """Tilt angles (degrees, sorted) for equally sloped tomography (Miao et al. 2005).

    The slopes ``tan θ`` (for |θ| ≤ 45°) or ``cot θ`` (beyond) step in equal increments
    of ``2 / num_points``; ``2 * num_points`` angles are returned, from -90° upwards.
    """
    if int(num_points) != num_points or num_points < 2 or num_points % 2:
        raise InvalidArgumentError(
            f"N must be an even number (num_points, an even integer ≥ 2); got "
            f"{num_points!r}.")
    n = int(num_points)
    steps = (n + 2 - 2 * np.arange(1, n + 1)) / n  # n equally spaced slopes in (-1, 1]
    near_zero = np.arctan(steps)  # |θ| ≤ 45°
    upper = np.pi / 2 + np.arctan((n + 2 - 2 * np.arange(n // 2 + 1, n + 1)) / n)
    lower = -np.pi / 2 + np.arctan((n + 2 - 2 * np.arange(1, n // 2 + 1)) / n)
    return np.sort(np.rad2deg(np.concatenate([upper, near_zero, lower])))


def calc_golden_ratio_angles(tilt_range: float, nangles: int) -> np.ndarray:
    """Golden-ratio tilt scheme over ``tilt_range`` degrees centred on 0 (Kaestner et al. 2011)."""
    if nangles < 1:
        raise InvalidArgumentError(f"nangles must be ≥ 1; got {nangles}.")
    alpha = np.deg2rad(tilt_range)
    golden = (1 + np.sqrt(5)) / 2
    i = np.arange(1, nangles + 1)
    return np.rad2deg(np.mod(i * alpha * golden, alpha) - alpha / 2)


def get_radial_mask(mask_shape: tuple[int, int], center: tuple[int, int] | None = None):
    """Boolean disc mask of shape ``(rows, cols)``, centred at ``center=(x, y)``.

    Its radius is the largest that fits inside the array around that centre.
    """
    rows, cols = mask_shape
    cx, cy = (cols // 2, rows // 2) if center is None else center
    radius = min(cx, cy, cols - cx, rows - cy)
    yy, xx = np.ogrid[:rows, :cols]
    return np.hypot(xx - cx, yy - cy) < radius


def weight_stack(stack, accuracy: str = "medium"):
    """Window each projection across the tilt axis so that all carry the same mass.

    After Sanders et al. (2015): the projection of least total mass sets the target; every
    other projection is multiplied by the profile ``w(y) = (cos(π r²)/2 + 1/2)^(p·δ)``
    (``r`` from -1 to 1 across y) with the smallest power ``p`` (to 1 step) that brings its
    mass below the target. Used before centre-of-mass alignment so that material entering
    the field of view at high tilt does not pull the centre of mass. Returns a copy.
    """
    delta = _ACCURACY.get(str(accuracy).lower())
    if delta is None:
        raise UnknownMethodError("accuracy level", accuracy, _ACCURACY)
    data = np.asarray(stack.data, dtype=np.float64)
    ntilts, ny, _ = data.shape
    mass = data.sum(axis=(1, 2))
    target, ref = mass.min(), int(mass.argmin())
    r = np.linspace(-1, 1, ny)
    base = np.cos(np.pi * r**2) / 2 + 0.5
    row_mass = data.sum(axis=2)  # (ntilts, ny): windowed mass is row_mass @ window
    max_power = 1e7  # the window tends to zero everywhere off-centre, so this is never hit
    powers = np.zeros(ntilts)
    for j in range(ntilts):
        if j == ref or row_mass[j].sum() <= target:
            continue
        lo, hi = 0.0, 1.0
        while (row_mass[j] @ base ** (hi * delta)) >= target and hi < max_power:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = np.floor((lo + hi) / 2)
            if (row_mass[j] @ base ** (mid * delta)) < target:
                hi = mid
            else:
                lo = mid
        powers[j] = hi
    out = stack.deepcopy()
    window = base[None, :] ** (powers[:, None] * delta)  # (ntilts, ny)
    out.data = (np.asarray(stack.data) * window[:, :, None]).astype(
        np.result_type(stack.data.dtype, np.float32))
    return out


def filter_stack(stack, filter_name: str = "shepp-logan", cutoff: float = 0.5):
    """Apply an FBP-style Fourier filter along y (across the tilt axis) to every sinogram.

    ``cutoff`` is the fraction of the sampling rate kept (0.5 = Nyquist). Returns a copy.
    """
    name = check_method("filter type", filter_name, _SINO_FILTERS)
    data = np.asarray(stack.data, dtype=np.float64)
    if data.ndim not in (2, 3):
        raise InvalidDataError(f"Method can only be applied to 2 or 3-dimensional stacks; "
                               f"got data of shape {data.shape}.")
    ny = data.shape[1]
    size = max(64, 2 ** int(np.ceil(np.log2(2 * ny))))
    freq = np.fft.rfftfreq(size)  # cycles per pixel, 0 … 0.5
    response = np.abs(freq) * (freq <= cutoff)
    omega = 2 * np.pi * freq
    if name == "shepp-logan":
        response = response * np.sinc(freq)
    elif name in ("hanning", "hann"):
        response = response * (1 + np.cos(omega)) / 2
    elif name in ("cosine", "cos"):
        response = response * np.cos(omega / 2)
    shape = [1] * data.ndim
    shape[1] = -1
    spectrum = np.fft.rfft(data, n=size, axis=1) * response.reshape(shape)
    filtered = np.fft.irfft(spectrum, n=size, axis=1)[:, :ny]
    out = stack.deepcopy()
    out.data = filtered.astype(np.float32)
    return out


def multiaverage(stack: np.ndarray, nframes: int, ny: int, nx: int) -> np.ndarray:
    """Register the ``nframes`` frames of one tilt to the first by phase correlation; average."""
    from skimage.registration import phase_cross_correlation


    frames = np.asarray(stack, dtype=np.float32).reshape(nframes, ny, nx)
    total = frames[0].astype(np.float64).copy()
    for frame in frames[1:]:
        shift, _, _ = phase_cross_correlation(frames[0], frame, upsample_factor=20)
        total += shift_stack(frame[None], np.asarray(shift)[None])[0]
    return (total / nframes).astype(np.float32)


def register_serialem_stack(stack, ncpus: int = 1):
    """Average the frames of a SerialEM multi-frame stack (navigation (frames, tilts)).

    Frames of each tilt are registered to the first by sub-pixel phase correlation and
    averaged; returns a TomoStack with one projection per tilt and the stack's tilts.
    """

    data = np.asarray(stack.data)
    if data.ndim != 4:
        raise InvalidDataError(
            f"register_serialem_stack needs (tilts, frames, ny, nx) data; got {data.shape}."
        )
    ntilts, nframes, ny, nx = data.shape
    averaged = np.stack([multiaverage(data[i], nframes, ny, nx) for i in range(ntilts)])
    tilts = np.asarray(stack.tilts.data, dtype=np.float64).reshape(ntilts, -1)[:, 0]
    out = TomoStack(averaged, tilts=tilts)
    for src, dst in zip(stack.axes_manager.signal_axes, out.axes_manager.signal_axes,
                        strict=True):
        dst.update_from(src, ("scale", "offset", "units"))
    return out
