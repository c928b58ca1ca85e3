"""Stack registration on NumPy arrays: the shifts to APPLY to each projection.

All functions take ``data`` ``(n, ny, nx)`` and return ``(n, 2)`` shifts (y, x) in pixels,
the shift that, applied with ``etspy_widgets.engine.transform.shift_stack``, aligns
the projection (``docs/conventions.md``). The projection ``start`` gets zero shift where
a method has a reference.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, optimize

from ..errors import InvalidArgumentError, InvalidDataError, check_finite
from ..validate import check_index

REGISTER_METHODS = ("PC", "StackReg", "COM", "COM-CL", "PM")


def check_stack(data, what: str = "tilt series") -> np.ndarray:
    """Return ``data`` as a float array after checking it can be aligned at all."""
    data = np.asarray(data)
    if data.ndim != 3:
        raise InvalidDataError(f"The {what} must be (n_tilts, ny, nx); got shape {data.shape}.")
    if data.shape[0] < 2:
        raise InvalidDataError(
            f"The {what} has {data.shape[0]} projection(s); alignment needs at least 2."
        )
    if min(data.shape[1:]) < 4:
        raise InvalidDataError(f"Images of {data.shape[1:]} pixels are too small to align.")
    check_finite(data, what)
    flat = data.reshape(data.shape[0], -1)
    blank = np.flatnonzero(flat.max(axis=1) == flat.min(axis=1))
    if blank.size:
        raise InvalidDataError(
            f"Projection(s) {blank.tolist()[:10]} are constant (e.g. all zero): nothing to "
            "align on. Remove them with stack.remove_projections([...])."
        )
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def check_start(start, n: int) -> int:
    """The reference projection: the middle one by default; negative counts from the end."""
    if start is None:
        return n // 2
    return check_index("start", start, n, "projections")


def compose_outward(relative: np.ndarray, start: int) -> np.ndarray:
    """Compose pairwise shifts into absolute ones, outward from ``start``.

    ``relative[i]`` is the shift that aligns projection ``i`` to its neighbour nearer to
    ``start`` (``i - 1`` above ``start``, ``i + 1`` below); ``relative[start]`` is ignored.
    """
    n = relative.shape[0]
    out = np.zeros_like(relative, dtype=np.float64)
    for i in range(start + 1, n):
        out[i] = out[i - 1] + relative[i]
    for i in range(start - 1, -1, -1):
        out[i] = out[i + 1] + relative[i]
    return out


def _pairwise(data, start, pair_shift, progress=None) -> np.ndarray:
    n = data.shape[0]
    rel = np.zeros((n, 2))
    order = [*range(start + 1, n), *range(start - 1, -1, -1)]
    for i in order:
        ref = i - 1 if i > start else i + 1
        rel[i] = pair_shift(data[ref], data[i])
        if progress is not None:
            progress()
    return compose_outward(rel, start)


# -- phase correlation ----------------------------------------------------------
def _spectral_weight(shape, lowpass: float, highpass: float) -> np.ndarray:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    r2 = fy**2 + fx**2
    w = np.ones(shape)
    if lowpass:
        w *= np.exp(-r2 / (2 * lowpass**2))
    if highpass:
        w *= 1 - np.exp(-r2 / (2 * highpass**2))
    return w


def pc_shifts(data, start=None, *, upsample_factor: int = 50, lowpass: float = 0.15,
              highpass: float = 0.0, normalization=None, progress=None) -> np.ndarray:
    """Pairwise sub-pixel phase/cross-correlation, composed outward from ``start``.

    Each pair is correlated in Fourier space with a Gaussian spectral weight (``lowpass``
    and ``highpass`` in cycles/pixel, 0 to disable) and refined with an upsampled DFT
    (``skimage.registration.phase_cross_correlation``, ``upsample_factor``).
    ``normalization="phase"`` gives classic phase correlation; the default (plain
    cross-correlation of the weighted spectra) is far less sensitive to noise.
    """
    from skimage.registration import phase_cross_correlation

    data = check_stack(data)
    start = check_start(start, data.shape[0])
    mean = data.mean(axis=(1, 2), keepdims=True)
    weight = _spectral_weight(data.shape[1:], lowpass, highpass)
    spectra = {}

    def spec(img_index):
        if img_index not in spectra:
            spectra[img_index] = np.fft.fft2(data[img_index] - mean[img_index]) * weight
            spectra.pop(img_index - 2, None)
            spectra.pop(img_index + 2, None)
        return spectra[img_index]

    n = data.shape[0]
    rel = np.zeros((n, 2))
    for i in [*range(start + 1, n), *range(start - 1, -1, -1)]:
        ref = i - 1 if i > start else i + 1
        shift, _, _ = phase_cross_correlation(
            spec(ref), spec(i), space="fourier", upsample_factor=upsample_factor,
            normalization=normalization,
        )
        rel[i] = shift
        if progress is not None:
            progress()
    return compose_outward(rel, start)


def _integer_shift(ref, mov):
    a = np.fft.rfft2(ref - ref.mean())
    b = np.fft.rfft2(mov - mov.mean())
    cc = np.fft.irfft2(a * np.conj(b), ref.shape)
    peak = np.unravel_index(int(np.argmax(cc)), cc.shape)
    return tuple(float(p if p <= n // 2 else p - n) for p, n in zip(peak, ref.shape, strict=True))


def stackreg_shifts(data, start=None, progress=None) -> np.ndarray:
    """Pairwise translation registration with pystackreg, composed outward from ``start``."""
    from pystackreg import StackReg

    data = check_stack(data)
    start = check_start(start, data.shape[0])
    sr = StackReg(StackReg.TRANSLATION)

    def pair(ref, mov):
        # StackReg's local optimiser can lock onto a wrong optimum for shifts of several
        # pixels: start it from the integer cross-correlation peak.
        coarse = _integer_shift(ref, mov)
        moved = ndimage.shift(mov.astype(np.float64), coarse, order=0, mode="nearest")
        tmat = sr.register(ref.astype(np.float64), moved)
        # tmat maps reference coordinates to moving ones: apply the opposite shift
        return coarse[0] - tmat[1, 2], coarse[1] - tmat[0, 2]

    return _pairwise(data, start, pair, progress)


# -- centre of mass and common line ---------------------------------------------
def _background_free(data: np.ndarray) -> np.ndarray:
    """Subtract each projection's background, estimated as the median of its border frame.

    Not clipped: zero-mean noise then averages out of the centre-of-mass and mass sums
    instead of adding a positive pedestal that pulls them towards the image centre.
    """
    n, ny, nx = data.shape
    wy, wx = max(1, ny // 16), max(1, nx // 16)
    frame = np.concatenate([data[:, :wy].reshape(n, -1), data[:, -wy:].reshape(n, -1),
                            data[:, :, :wx].reshape(n, -1), data[:, :, -wx:].reshape(n, -1)],
                           axis=1)
    bg = np.median(frame, axis=1).astype(data.dtype)
    return data - bg[:, None, None]


def _row_com(profiles: np.ndarray) -> np.ndarray:
    """Centre of mass along the last axis of each profile (pixel index units)."""
    idx = np.arange(profiles.shape[-1])
    mass = profiles.sum(axis=-1)
    if np.any(mass <= 0):
        raise InvalidDataError("A projection has no mass above background; cannot use CoM.")
    return (profiles * idx).sum(axis=-1) / mass


def sinusoid_residual(values: np.ndarray, tilts: np.ndarray) -> np.ndarray:
    """``fit - values`` for a least-squares fit ``c + a cos θ + b sin θ`` (one per column).

    The path of a point rotating about the tilt axis, seen across the axis, is such a
    sinusoid; what is left over is the misalignment, and ``fit - values`` the shift to
    apply. ``values`` is ``(n,)`` or ``(n, k)``.
    """
    th = np.deg2rad(np.asarray(tilts, dtype=np.float64))
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, values, rcond=None)
    return basis @ coef - values


def _register_1d(ref: np.ndarray, line: np.ndarray, max_shift=None) -> float:
    """Sub-pixel shift to apply to ``line`` so it best matches ``ref`` (least squares).

    Integer cross-correlation peak of the (non-negative) profiles first, then a bounded
    least-squares search with a Fourier shift, re-centred while it ends on a bound.
    """
    n = ref.size
    size = 2 * n
    fa = np.fft.rfft(ref, size)
    fline = np.fft.rfft(line, size)
    cc = np.fft.irfft(fa * np.conj(fline), size)
    lags = np.fft.fftfreq(size, 1 / size)
    if max_shift is not None:
        cc = np.where(np.abs(lags) <= max_shift, cc, -np.inf)
    s0 = float(lags[int(np.argmax(cc))])
    k = np.fft.rfftfreq(size)

    def cost(s):
        moved = np.fft.irfft(fline * np.exp(-2j * np.pi * k * s), size)
        return float(np.sum((moved[:n] - ref) ** 2))

    for _ in range(5):
        res = optimize.minimize_scalar(cost, bounds=(s0 - 1.5, s0 + 1.5), method="bounded",
                                       options={"xatol": 1e-4})
        if abs(res.x - s0) < 1.45:
            break
        s0 = float(np.round(res.x))
    return float(res.x)


def mass_profile_xshifts(data: np.ndarray, start: int, iterations: int = 2) -> np.ndarray:
    """Shifts along the tilt axis (x) from the projected mass of each column.

    In parallel projection the mass in a slice is the same at every tilt, so the column
    profile ``sum_y data[i]`` (the common line of all projections, Scott et al. 2012) is
    the same curve for every projection up to the x misalignment. Each profile is
    registered to the ``start`` profile, then to the mean of the aligned profiles.
    """
    prof = data.sum(axis=1)
    n = prof.shape[0]
    ref = prof[start]
    shifts = np.array([_register_1d(ref, prof[i]) if i != start else 0.0 for i in range(n)])
    for _ in range(max(iterations - 1, 0)):
        moved = np.array([ndimage.shift(prof[i], shifts[i], order=3, mode="nearest")
                          for i in range(n)])
        ref = moved.mean(axis=0)
        shifts = np.array([_register_1d(ref, prof[i]) for i in range(n)])
        shifts -= shifts[start]
    return shifts


def best_slices(data: np.ndarray, nslices: int) -> np.ndarray:
    """Columns with the most mass relative to its variation over tilt (Sanders et al. 2015)."""
    nx = data.shape[2]
    mass = data.sum(axis=1)  # (n, nx)
    score = mass.mean(axis=0) / (mass.std(axis=0) + 1e-12 * mass.mean())
    margin = max(nx // 10, 1)
    score[:margin] = -np.inf
    score[nx - margin:] = -np.inf
    order = np.argsort(score)[::-1]
    return np.sort(order[:max(1, min(int(nslices), nx - 2 * margin))])


def com_shifts(data, tilts, start=None, *, nslices: int = 20, slices="all",
               fit: str = "constant") -> np.ndarray:
    """Centre-of-mass tracking (after Sanders et al. 2015).

    Mass is conserved in parallel projection, so (1) the mass profile along the axis,
    ``sum_y data[i]``, is the same curve at every tilt: x shifts register the profiles to
    their mean (``mass_profile_xshifts``); (2) the centre of mass across the axis of
    the slices ``slices`` (default ``"all"``; ``None`` for the ``nslices`` best,
    ``best_slices``), summed over those slices, traces the path of the object's centre of
    mass: ``fit="constant"`` keeps it on the row it has in projection ``start`` (the
    object's centre of mass becomes the tilt axis), ``fit="sinusoid"`` brings it onto the
    fitted ``c + a cos θ + b sin θ`` (keeps an object whose centre of mass is off the axis
    where it is, at the price of the part of the jitter that looks like such a path).
    """
    data = _background_free(check_stack(data))
    start = check_start(start, data.shape[0])
    tilts = np.asarray(tilts, dtype=np.float64)
    x = mass_profile_xshifts(data, start)
    aligned = _xshifted(data, x)
    if isinstance(slices, str) and slices == "all":
        cols = aligned
    else:
        if slices is None:
            slices = best_slices(aligned, nslices)
        cols = aligned[:, :, np.asarray(slices)]
    coms = _row_com(cols.sum(axis=2))
    y = _y_from_coms(coms, tilts, start, fit)
    return np.stack([y, x], axis=1)


def _xshifted(data, xshifts):
    out = np.empty_like(data)
    for i in range(data.shape[0]):
        out[i] = ndimage.shift(data[i], (0, xshifts[i]), order=1, mode="constant")
    return out


def _y_from_coms(coms, tilts, ref, fit):
    if fit == "sinusoid":
        y = sinusoid_residual(coms, tilts)
        return y - y[ref]
    if fit == "constant":
        return coms[ref] - coms
    raise InvalidArgumentError(f"fit must be 'constant' or 'sinusoid'; got {fit!r}.")


def drift_correct(shifts, data, tilts, start, *, degree: int = 6) -> np.ndarray:
    """Remove the slow drift that pairwise registration accumulates.

    Pairwise shifts are precise from one projection to the next but their errors add up.
    The mass invariants of ``com_shifts`` are free of accumulation; the smooth
    (polynomial of ``degree`` in the projection index) part of the difference between the
    two is taken from the invariants, the rest from the pairwise result.
    """
    ref = com_shifts(data, tilts, start, slices="all")
    diff = shifts - ref
    idx = np.linspace(-1, 1, shifts.shape[0])
    deg = min(int(degree), shifts.shape[0] - 1)
    smooth = np.stack([np.polyval(np.polyfit(idx, diff[:, k], deg), idx) for k in (0, 1)],
                      axis=1)
    out = shifts - smooth
    return out - out[start]


def comcl_shifts(data, tilts, start=None, *, com_ref_index=None, cl_ref_index=None,
                 fit: str = "constant") -> np.ndarray:
    """Centre of mass across the axis, common line along it (Scott et al. 2012).

    y: the centre of mass of each whole projection is brought onto that of projection
    ``com_ref_index`` (``fit="constant"``, Scott's original: the object's centre of mass
    becomes the axis) or onto the fitted path (``fit="sinusoid"``, see ``com_shifts``).
    The target is that projection's centre of mass, not its index (ETSpy's defect).
    x: the common line (``mass_profile_xshifts``) registered to ``cl_ref_index``.
    """
    data = _background_free(check_stack(data))
    n = data.shape[0]
    start = check_start(start, n)
    com_ref = check_start(com_ref_index if com_ref_index is not None else start, n)
    cl_ref = check_start(cl_ref_index if cl_ref_index is not None else start, n)
    coms = _row_com(data.sum(axis=2))
    y = _y_from_coms(coms, tilts, com_ref, fit)
    x = mass_profile_xshifts(data, cl_ref, iterations=1)
    return np.stack([y, x], axis=1)
