"""Tilt-axis alignment on NumPy arrays: the rotation and offset that make the axis the
horizontal line through the image centre.

Results are the correction to APPLY (``docs/conventions.md``):
[`rotate_shift_stack`][etspy_widgets.engine.transform.rotate_shift_stack] ``(data, angle, yshift)``
turns the measured axis into row ``(ny - 1) / 2``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ..errors import InvalidDataError
from ..project import filter_sinograms, get_projector
from ..transform import bin_stack, compose_rigid
from ._register import _background_free, _row_com, best_slices, check_stack
from ._slices import SliceSampler


def _correction_for_axis(slope: float, offset: float, shape) -> tuple[float, float]:
    """Rotation and y shift that bring the line ``row = cy + offset + slope (x - cx)`` onto
    row ``cy`` (rotation about the centre first, then the shift)."""
    angle = -np.degrees(np.arctan(slope))
    # the line passes through (cx, cy + offset); after rotation that point is at
    # row cy + offset cos(angle)
    yshift = -offset * np.cos(np.deg2rad(angle))
    return float(angle), float(yshift)


def com_axis(data, tilts, slices=None, nslices: int = 20, *, iterations: int = 6,
             tol: float = 0.002, refine: bool = True, refine_limit: float = 10.0) -> dict:
    """Tilt axis from centre-of-mass traces, solved self-consistently.

    One measurement (``com_axis_once``) under-reads a rotated axis: the rotation moves
    mass between columns over tilt, which pulls each column's fitted axis row towards the
    centre. The measured residual rotation is zero exactly when the trial rotation is right,
    so the trial rotation is found as the root of the residual by the secant method; the
    chosen columns are sampled from the rotated stack (``SliceSampler``), never the
    whole stack.

    The traces only see features that move: an object that is round about the rotation
    centre (a support sphere) is the same in a rotated image and dilutes the signal of the
    particles on it, so the rotation read from the traces can fall short or wander. With
    ``refine`` the rotation is taken from mass conservation instead (every slice keeps its
    mass over tilt, ``refine_rotation``, scanned over ``±refine_limit`` degrees) and the
    offset is read from the traces at that rotation. Returns the ``rotation``, ``yshift`` and
    ``xshift`` to apply.
    """

    data = check_stack(data)
    _n, _ny, nx = data.shape
    if slices is None:
        slices = best_slices(_background_free(data), max(3, min(int(nslices), nx // 3)))
    slices = np.sort(np.asarray(slices, dtype=np.int64))
    sampler = SliceSampler(data, slices)

    def measure(angle):
        cols = sampler.sinograms(0.0, angle).transpose(1, 2, 0)  # (n, ny, k)
        return com_axis_once(cols, tilts, np.arange(len(slices)), columns=slices,
                             centre_x=(nx - 1) / 2.0)

    if refine:
        # the rotation from mass conservation, scanned over the whole range; the traces
        # give only the offset, at that rotation (their own secant search is not run: it
        # would be discarded, and on a series whose traces carry little signal it wanders
        # to rotations where the chosen columns turn out of the image)
        a1 = refine_rotation(data, 0.0, span=refine_limit)
        r1 = measure(a1)
    else:
        a0, r0 = 0.0, measure(0.0)
        a1 = r0["rotation"]
        r1 = measure(a1) if abs(a1) <= refine_limit else r0
        for _ in range(max(0, int(iterations))):
            f0, f1 = r0["rotation"], r1["rotation"]
            if abs(f1) < tol or f1 == f0:
                break
            a2 = a1 - f1 * (a1 - a0) / (f1 - f0)
            if not np.isfinite(a2) or abs(a2) > refine_limit:
                break  # the traces carry too little signal: do not follow them out
            a0, r0, a1, r1 = a1, r1, a2, measure(a2)
        if not np.isfinite(a1) or abs(a1) > refine_limit:
            a1, r1 = 0.0, r0
    residual = 0.0 if refine else r1["rotation"]
    total = compose_rigid((a1, 0.0, 0.0), (residual, r1["yshift"], 0.0))
    out = dict(r1)
    out["rotation"], out["yshift"], out["xshift"] = total
    out["slices"] = slices
    return out


def com_axis_once(data, tilts, slices=None, nslices: int = 20, *, columns=None,
                  centre_x=None) -> dict:
    """Tilt axis from centre-of-mass traces (Wolf et al. 2012).

    In each chosen column the centre of mass across the axis follows
    ``r + a cos θ + b sin θ`` over tilt, ``r`` being where the tilt axis crosses that column.
    A straight line through the ``r`` of all columns is the axis.

    ``columns`` gives the x position of each of ``slices`` when ``data`` holds only
    those columns, and ``centre_x`` the centre column of the full image then.

    Returns
    -------
    dict
        ``rotation`` (degrees) and ``yshift`` (pixels) to apply, the measured ``slope`` and
        ``offset`` of the axis, the ``slices`` used and the per-slice ``axis_rows``.
    """
    data = np.asarray(data)
    data = _background_free(data.astype(np.float64))
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    _n, ny, nx = data.shape
    if np.ptp(tilts) < 20:
        raise InvalidDataError(
            "CoM tilt alignment needs a tilt range of at least 20° (got "
            f"{np.ptp(tilts):.1f}°); set the tilts first, e.g. stack.set_tilts(-70, 2)."
        )
    if slices is None:
        slices = best_slices(data, max(3, min(int(nslices), nx // 3)))
    slices = np.sort(np.asarray(slices, dtype=np.int64))
    if slices.size < 2:
        raise InvalidDataError("CoM tilt alignment needs at least 2 slices.")
    coms = _row_com(np.moveaxis(data[:, :, slices], 1, 2))  # (n, k)
    th = np.deg2rad(tilts)
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, coms, rcond=None)
    rows = coef[0]
    xs = slices if columns is None else np.asarray(columns, dtype=np.float64)
    cy = (ny - 1) / 2.0
    cx = (nx - 1) / 2.0 if centre_x is None else float(centre_x)
    slope, intercept = np.polyfit(xs - cx, rows - cy, 1)
    angle, yshift = _correction_for_axis(slope, intercept, (ny, nx))
    return {"rotation": angle, "yshift": yshift, "slope": float(slope),
            "offset": float(intercept), "slices": slices, "axis_rows": rows}


def _profile_spread(small: np.ndarray, angle: float) -> float:
    """Variance over tilt of the mass profiles along the axis after rotating by ``angle``.

    With the axis horizontal every slice keeps its mass at every tilt, so the column
    profiles ``sum_y`` of all projections coincide; a rotated axis makes them differ.
    The profile of the rotated image is formed directly: every pixel's mass is split
    linearly between the two columns its rotated position falls between.
    """
    n, ny, nx = small.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    a = np.deg2rad(angle)
    xr = np.cos(a) * (xx - (nx - 1) / 2) - np.sin(a) * (yy - (ny - 1) / 2) + (nx - 1) / 2
    i0 = np.floor(xr).astype(np.int64).ravel() + 1  # one guard bin each side
    w = (xr.ravel() - (i0 - 1)).astype(np.float64)
    width = nx + 3
    i0 = np.clip(i0, 0, width - 2)
    flat = small.reshape(n, -1)
    base = (np.arange(n)[:, None] * width + i0[None, :]).ravel()
    prof = np.bincount(base, (flat * (1 - w)).ravel(), n * width)
    prof += np.bincount(base + 1, (flat * w).ravel(), n * width)
    prof = prof.reshape(n, width)
    return float(np.var(prof, axis=0).sum())


def refine_rotation(data, angle: float, span: float = 3.0) -> float:
    """Rotation within ``angle ± span`` at which the mass profiles along the axis agree best.

    A 0.5° scan then a bounded search of ``_profile_spread`` on a copy binned to
    ≤ 128 px.
    """

    factor = max(1, int(np.ceil(max(data.shape[1:]) / 128)))
    small = bin_stack(data, factor).astype(np.float64)
    coarse = np.arange(angle - span, angle + span + 0.01, 0.5)
    spread = [_profile_spread(small, a) for a in coarse]
    best = float(coarse[int(np.argmin(spread))])
    res = optimize.minimize_scalar(lambda a: _profile_spread(small, a),
                                   bounds=(best - 0.5, best + 0.5), method="bounded",
                                   options={"xatol": 0.005})
    return float(res.x)


def maximage_rotation(data, limit: float = 10, delta: float = 0.1,
                      refine: bool = True) -> dict:
    """Tilt-axis rotation from the maximum image (edges + Hough transform).

    Over tilt every feature moves across the axis only, so the maximum image is streaked
    perpendicular to the axis. Sobel + Canny edges and a Hough transform over ``±limit``
    degrees (step ``delta``) give a first look; with ``refine`` the answer comes from making
    the mass profiles along the axis of all projections agree (``_profile_spread``, on
    a copy binned to ≤ 128 px): a 0.5° scan over ``±limit``, then a bounded search.

    Returns
    -------
    dict
        ``rotation`` (degrees, to apply) and the ``maximage``.
    """
    from skimage.feature import canny
    from skimage.filters import sobel
    from skimage.transform import hough_line, hough_line_peaks

    data = check_stack(data)
    image = data.max(axis=0).astype(np.float64)
    edges = canny(sobel(image))
    angles = np.deg2rad(np.arange(-limit, limit + delta / 2, delta))
    hspace, theta, dist = hough_line(edges, angles)
    _, found, dists = hough_line_peaks(hspace, theta, dist, num_peaks=5)
    # the streaks' normals lie at the axis' rotation from the x axis; turning the content
    # back by that angle (ETSpy's trans_stack(angle=-mean)) makes the axis horizontal
    rough = -float(np.degrees(np.mean(found))) if len(found) else 0.0
    angle = rough
    if refine:
        angle = refine_rotation(data, 0.0, span=limit)
    return {"rotation": angle, "hough_rotation": rough, "maximage": image,
            "hough_angles": np.asarray(found), "hough_dists": np.asarray(dists)}


class _ShiftedSinograms:
    """Ramp-filtered sinograms shifted along the detector by a Fourier phase ramp."""

    def __init__(self, filtered):
        self.n_det = filtered.shape[-1]
        size = int(2 ** np.ceil(np.log2(self.n_det + 64)))
        self.size = size
        self.spec = np.fft.rfft(filtered, n=size, axis=-1)
        self.k = np.fft.rfftfreq(size)

    def __call__(self, shift):
        ramp = np.exp(-2j * np.pi * self.k * shift)
        out = np.fft.irfft(self.spec * ramp, n=self.size, axis=-1)[..., :self.n_det]
        return np.ascontiguousarray(out, dtype=np.float32)


def _offset_criterion(shifter, tilts, thickness, shift):
    sino = shifter(shift)
    rec = get_projector(tilts, sino.shape[-1], thickness, kernel="pixel").back_slices(sino)
    gy, gx = np.gradient(rec, axis=(1, 2))
    return float(np.hypot(gy, gx).sum(dtype=np.float64))


def offset_search(data, tilts, slices=None, *, nslices: int = 8, shift_limit: float = 20,
                  thickness=None, rotation: float = 0.0) -> dict:
    """The y shift that puts the tilt axis on the centre row, by reconstruction sharpness.

    For a few columns (the ``nslices`` with most mass unless ``slices`` is given), sampled
    from the stack as it is after rotating it by ``rotation`` degrees (only those columns
    are computed, ``SliceSampler``), the ramp-filtered sinograms are shifted by trial
    amounts (Fourier phase ramp) and back-projected with the fast FBP; an axis in the wrong
    place smears every feature into arcs, so the total variation of the reconstruction
    ``Σ |∇ rec|`` is least at the right shift. A scan over ``±shift_limit`` on sinograms
    binned to ≤ 128 detector pixels is refined on sinograms binned to ≤ 256 pixels by
    fitting a V to a quarter-(binned-)pixel scan around its minimum. A few seconds at
    600 px (ETSpy's ``also_shift`` runs 40 SIRT-100 reconstructions).

    Returns
    -------
    dict
        ``yshift`` (pixels, to apply after the rotation) and the coarse ``scan``.
    """

    data = check_stack(data)
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    _, ny, _ = data.shape
    if slices is None:
        slices = best_slices(_background_free(data), nslices)
    slices = np.atleast_1d(np.asarray(slices, dtype=np.int64))
    thickness = ny if thickness is None else int(thickness)
    sino = SliceSampler(data, slices).sinograms(0.0, rotation)  # (k, n, ny)

    def binned_criterion(factor):
        nb = ny // factor
        b = sino[:, :, :nb * factor].reshape(len(slices), len(tilts), nb, factor).mean(-1)
        shifter = _ShiftedSinograms(filter_sinograms(np.ascontiguousarray(b), nb, "ram-lak",
                                                     axis=-1))
        # the binned detector's centre sits (ny - nb f) / 2 original pixels above the full one's
        centre = -(ny - nb * factor) / 2.0
        thick = max(8, thickness // factor)
        return lambda s: _offset_criterion(shifter, tilts, thick, (s + centre) / factor)

    coarse_f = max(1, int(np.ceil(ny / 128)))
    crit = binned_criterion(coarse_f)
    grid = np.arange(-np.floor(shift_limit / coarse_f), np.floor(shift_limit / coarse_f) + 1)
    grid = grid * coarse_f
    scores = np.array([crit(s) for s in grid])
    best = float(grid[int(np.argmin(scores))])
    fine_f = max(1, int(np.ceil(ny / 256)))
    crit = binned_criterion(fine_f)
    span = max(2.0, 1.5 * coarse_f)
    fine = np.arange(best - span, best + span + 0.01, 0.25 * fine_f)
    fscores = np.array([crit(s) for s in fine])
    # the criterion is V-shaped about the answer: fit a + b |s - s0| by scanning s0
    cands = np.arange(best - span + 0.5, best + span - 0.49, 0.01)
    errs = []
    for s0 in cands:
        design = np.stack([np.ones_like(fine), np.abs(fine - s0)], axis=1)
        _, resid, *_ = np.linalg.lstsq(design, fscores, rcond=None)
        errs.append(resid[0] if resid.size else 0.0)
    yshift = float(cands[int(np.argmin(errs))])
    return {"yshift": yshift, "scan": (grid, scores), "slices": slices}
