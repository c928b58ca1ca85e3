"""Projection matching (after Odstrčil et al., Opt. Express 27, 36637 (2019)).

Alternate a reconstruction of the currently aligned series and a re-projection of it, and
register every projection to its re-projection, in both image directions, from coarse to
fine binning. Unlike pairwise registration nothing accumulates along the series: each
projection is compared with what the whole series says it should look like.

What makes it fast:

- **multi-resolution**: the stack is binned once per level (``levels``, coarse first);
  the coarse levels take out the large errors where a reconstruction costs little;
- **a band of slices** at the fine levels: a shift moves a whole projection, so a band of
  ``band`` neighbouring slices (columns along the tilt axis, where the series has the most
  mass variation) measures it as well as all of them, at a fraction of the cost;
- **warm starts**: each round's SIRT starts from the previous round's volume, and each
  level from the coarser level's volume resampled, so a few iterations per round suffice;
- the projector is ``engine.project.get_projector`` on the column-block layout the
  series already has (``data[:, :, x0:x1]`` is a sinogram block without a transpose).

A rigid translation of the object moves projection ``i`` by ``c + a cos θi + b sin θi``
across the axis (and a constant along it): such patterns are consistent with every
reconstruction, so projection matching returns whatever of them the initial shifts had;
they move the reconstruction, they do not blur it.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from ..errors import InvalidDataError
from ..project import get_projector
from ..recon.algorithms import SIRT
from ..transform import bin_stack, fourier_shift_stack
from ._register import _spectral_weight, check_stack, check_start


def _register_to(refs: np.ndarray, imgs: np.ndarray, upsample: int,
                 lowpass: float = 0.2) -> np.ndarray:
    """Shift to apply to each ``imgs[i]`` (``(n, h, w)``) to match ``refs[i]``."""
    from skimage.registration import phase_cross_correlation

    h, w = imgs.shape[1:]
    weight = _spectral_weight((h, w), lowpass, 0.0)
    win = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1]) if w >= 8 else \
        np.hanning(h + 2)[1:-1, None] * np.ones((1, w))
    out = np.zeros((imgs.shape[0], 2))
    a = sfft.fft2((refs - refs.mean(axis=(1, 2), keepdims=True)) * win, workers=-1) * weight
    b = sfft.fft2((imgs - imgs.mean(axis=(1, 2), keepdims=True)) * win, workers=-1) * weight
    for i in range(imgs.shape[0]):
        out[i] = phase_cross_correlation(a[i], b[i], space="fourier",
                                         upsample_factor=upsample, normalization=None)[0]
    return out


def _without_rigid_motion(update: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Remove from a change of shifts what a rigid translation of the object would explain.

    Across the axis that is ``c + a cos θ + b sin θ`` (``basis``), along it a constant:
    the data cannot tell such motions from a moved object. The rounds let the shifts
    follow the reconstruction freely (holding them back stalls convergence); at the end
    these components of the total change are removed, so the result keeps the initial
    shifts' placement of the object (e.g. COM-CL's: its centre of mass on the axis).
    """
    out = update.copy()
    coef, *_ = np.linalg.lstsq(basis, out[:, 0], rcond=None)
    out[:, 0] -= basis @ coef
    out[:, 1] -= out[:, 1].mean()
    return out


def _band_centre(data: np.ndarray, width: int) -> int:
    """Centre column (unbinned) of the ``width`` neighbouring columns whose mass varies most
    over tilt: where the projections have structure to register (ignores the margins)."""
    nx = data.shape[2]
    if width >= nx:
        return nx // 2
    mass = data.sum(axis=1, dtype=np.float64)  # (n, nx)
    score = mass.std(axis=0) + np.abs(np.diff(mass, axis=1, prepend=mass[:, :1])).mean(0)
    run = np.convolve(score, np.ones(width), mode="valid")  # windows [i, i + width)
    lo = max(nx // 10, 0)
    hi = max(lo + 1, len(run) - nx // 10)
    i = lo + int(np.argmax(run[lo:hi]))
    return i + width // 2


class _Level:
    """One binning level: the binned stack, the band of columns used, the projector."""

    def __init__(self, data, tilts, factor, *, thickness, band, centre, max_shift):
        _, ny, nx = data.shape
        self.factor = f = int(factor)
        self.by, self.bx = ny // f, nx // f
        self.thick = max(8, int(thickness) // f)
        width = min(self.bx, max(8, int(band))) if band else self.bx
        c0 = int(np.clip(round(centre / f) - width // 2, 0, self.bx - width))
        self.c0, self.c1 = c0, c0 + width
        # the band plus a margin for the x shifts: shifted, then cropped to the band
        self.m = int(np.ceil(max_shift / f)) + 4
        self.p0, self.p1 = max(0, c0 - self.m), min(self.bx, self.c1 + self.m)
        x0, x1 = self.p0 * f, self.p1 * f
        self.binned = bin_stack(data[:, :self.by * f, x0:x1], f)
        self.proj = get_projector(tilts, self.by, self.thick, kernel="strip")

    @property
    def k(self) -> int:
        return self.c1 - self.c0

    def aligned(self, shifts: np.ndarray) -> np.ndarray:
        """The band of the stack with ``shifts`` (unbinned pixels) applied, ``(n, by, k)``."""
        moved = fourier_shift_stack(self.binned, shifts / self.factor)
        return np.ascontiguousarray(moved[:, :, self.c0 - self.p0:self.c1 - self.p0])

    def volume_from(self, coarse: _Level, x: np.ndarray) -> np.ndarray:
        """The coarse level's volume resampled onto this level's grid and band, scaled."""
        vol = x.reshape(coarse.thick, coarse.by, coarse.k)
        r = coarse.factor / self.factor
        zoomed = ndimage.zoom(vol, (self.thick / coarse.thick, self.by / coarse.by, r),
                              order=1, mode="nearest", grid_mode=True)
        # column j of this level sits at coarse column (j + 0.5) / r - 0.5 of the full grid
        off = round(self.c0 - coarse.c0 * r)
        out = np.zeros((self.thick, self.by, self.k), np.float32)
        lo, hi = max(0, -off), min(self.k, zoomed.shape[2] - off)
        if hi > lo:
            out[:, :, lo:hi] = zoomed[:self.thick, :self.by, lo + off:hi + off]
        return np.ascontiguousarray(out.reshape(-1, self.k) / r)


def projection_matching(data, tilts, start=None, *, initial="COM-CL", levels=(4, 2),
                        iterations: int = 4, sirt_iterations: int = 20,
                        thickness=None, upsample: int = 50, tol: float = 0.02,
                        callback=None, warm: bool = True, max_size: int = 320,
                        band: int = 128, lowpass: float = 0.1) -> dict:
    """Refine shifts by matching each projection to the re-projection of a reconstruction.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections (unaligned).
    tilts : array-like
        Degrees.
    start : int, optional
        The projection whose shift is kept at zero (default the middle one).
    initial : array-like or None
        Starting shifts: an ``(n, 2)`` array of shifts to refine, or None for zeros
        (``compute_shifts(..., "PM", initial="COM-CL")`` starts from a method's).
    levels : sequence of int
        Binning factors, coarse to fine. The default stops at 2: on the simulated
        catalyst (90 × 256², noisy) the unbinned level does not lower the error further
        (the blur of a SIRT re-projection, not the pixel size, limits it) and costs most.
    iterations : int
        Most reconstruct/re-project/register rounds per level (stops earlier when the
        largest update is below ``tol`` binned pixels).
    sirt_iterations : int
        SIRT iterations of the first (cold) round; a warm round runs a third of them.
    thickness : int, optional
        Reconstruction height in unbinned pixels (default ``ny``).
    upsample : int
        Sub-pixel factor of the registration.
    callback : callable, optional
        Called as ``callback(level, round, shifts, update)``.
    warm : bool
        Start each round's SIRT from the previous round's volume and each level from the
        coarser one's (resampled): a sharper volume for the same work.
    max_size : int
        Skip levels whose binned images are larger than this (the coarsest level always
        runs).
    band : int
        Columns (slices along the tilt axis) reconstructed at a level whose binned width
        exceeds it: the ``band`` neighbouring columns with the most mass variation
        (``0``: all columns at every level).
    lowpass : float
        Gaussian spectral weight of the registration, cycles per binned pixel: what a
        blurred reconstruction cannot re-project (the finest detail) is left out.

    Returns
    -------
    dict
        ``shifts`` (``(n, 2)``, to apply), ``history`` (largest update per round).
    """
    data = check_stack(data)
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    n, ny, nx = data.shape
    start = check_start(start, n)
    if isinstance(initial, str):
        raise InvalidDataError(
            f"initial={initial!r}: give the shifts as an (n, 2) array here; "
            "etspy_widgets.engine.align.projection_matching starts from a method name."
        )
    if initial is None:
        shifts = np.zeros((n, 2))
    else:
        shifts = np.array(getattr(initial, "data", initial), dtype=np.float64).reshape(n, 2)
    initial_shifts = shifts.copy()
    thickness = ny if thickness is None else int(thickness)
    th = np.deg2rad(tilts)
    gauge = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    band = int(band or 0)
    centre = _band_centre(data, band) if band else nx // 2
    max_shift = float(np.abs(shifts[:, 1]).max()) + 8.0
    history = []
    prev = x = None
    coarsest = max(int(v) for v in levels)
    for level in levels:
        factor = int(level)
        if min(ny, nx) // factor < 16 or (max(ny, nx) // factor > max_size
                                          and factor != coarsest):
            continue
        lev = _Level(data, tilts, factor, thickness=thickness, band=band, centre=centre,
                     max_shift=max_shift)
        if not warm or prev is None:
            x, its = None, int(sirt_iterations)
        else:
            x, its = lev.volume_from(prev, x), max(3, int(sirt_iterations) // 2)
        for rnd in range(int(iterations)):
            aligned = lev.aligned(shifts)
            y = aligned.reshape(n * lev.by, lev.k)
            x = SIRT(lev.proj, y, constrain=True, x0=x if warm else None).run(its)
            reproj = lev.proj.fp_cols(x).reshape(n, lev.by, lev.k)
            update = _register_to(reproj, aligned, upsample, lowpass)
            update -= update[start]
            shifts = shifts + update * factor
            biggest = float(np.abs(update).max())
            history.append((factor, rnd, biggest))
            if callback is not None:
                callback(factor, rnd, shifts, update)
            its = max(3, int(sirt_iterations) // 3) if warm else int(sirt_iterations)
            if biggest < tol:
                break
        prev = lev
    shifts = initial_shifts + _without_rigid_motion(shifts - initial_shifts, gauge)
    shifts = shifts - shifts[start]
    return {"shifts": shifts, "history": history}


__all__ = ["projection_matching"]
