"""Projection matching (after Odstrčil et al., Opt. Express 27, 36637 (2019)).

Alternate a reconstruction of the currently aligned series and a re-projection of it, and
register every projection to its re-projection, in both image directions, from coarse to
fine binning. Unlike pairwise registration nothing accumulates along the series: each
projection is compared with what the whole series says it should look like.

The reconstruction is ``recon.algorithms.SIRT`` on the pixel-driven projector pair
(``project.get_projector(..., kernel="pixel")``), with a non-negativity constraint,
warm-started between rounds.

A rigid translation of the object moves projection ``i`` by ``c + a cos θi + b sin θi``
across the axis (and a constant along it): such patterns are consistent with every
reconstruction, so projection matching returns whatever of them the initial shifts had;
they move the reconstruction, they do not blur it.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDataError
from ..project import get_projector
from ..recon.algorithms import SIRT
from ..transform import bin_stack, fourier_shift_stack
from ._register import _spectral_weight, check_stack, check_start


def _sirt(sino: np.ndarray, tilts, thickness: int, iterations: int, x0=None) -> np.ndarray:
    """Constrained SIRT of ``(k, n_tilts, n_det)`` sinograms to ``(k, thickness, n_det)``
    volumes on the pixel pair (``recon.algorithms.SIRT`` on its column blocks)."""
    sino = np.asarray(sino, dtype=np.float32)
    k, _, n_det = sino.shape
    proj = get_projector(tilts, n_det, thickness, kernel="pixel")
    y = np.ascontiguousarray(sino.reshape(k, -1).T)
    start = None if x0 is None else np.ascontiguousarray(
        np.asarray(x0, np.float32).reshape(k, -1).T)
    x = SIRT(proj, y, constrain=True, thresh=0.0, x0=start).run(iterations)
    return np.ascontiguousarray(x.T).reshape(k, thickness, n_det)


def _register_to(refs: np.ndarray, imgs: np.ndarray, upsample: int) -> np.ndarray:
    from skimage.registration import phase_cross_correlation

    weight = _spectral_weight(imgs.shape[1:], 0.2, 0.0)
    out = np.zeros((imgs.shape[0], 2))
    for i in range(imgs.shape[0]):
        a = np.fft.fft2(refs[i] - refs[i].mean()) * weight
        b = np.fft.fft2(imgs[i] - imgs[i].mean()) * weight
        out[i] = phase_cross_correlation(a, b, space="fourier", upsample_factor=upsample,
                                         normalization=None)[0]
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


def projection_matching(data, tilts, start=None, *, initial="COM-CL", levels=(4, 2, 1),
                        iterations: int = 6, sirt_iterations: int = 15,
                        thickness=None, upsample: int = 50, tol: float = 0.01,
                        callback=None, warm: bool = True, max_size: int = 320) -> dict:
    """Refine shifts by matching each projection to the re-projection of a reconstruction.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections (unaligned).
    tilts : array-like
        Degrees.
    start : int, optional
        The projection whose shift is kept at zero (default the middle one).
    initial : str or array-like or None
        Starting shifts: a registration method name (default ``"COM-CL"``), an ``(n, 2)``
        array of shifts to refine, or None for zeros.
    levels : sequence of int
        Binning factors, coarse to fine.
    iterations : int
        Most reconstruct/re-project/register rounds per level (stops earlier when the
        largest update is below ``tol`` binned pixels).
    sirt_iterations : int
        SIRT iterations of the first round of a level (later rounds warm-start with a third).
    thickness : int, optional
        Reconstruction height in unbinned pixels (default ``ny``).
    upsample : int
        Sub-pixel factor of the registration.
    callback : callable, optional
        Called as ``callback(level, round, shifts, update)``.
    warm : bool
        Start each round's SIRT from the previous volume: a sharper volume for the same
        work, which the registration needs (a cold SIRT-15 is too blurred).
    max_size : int
        Skip levels whose binned images are larger than this (the cost grows as size³).

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
    history = []
    for level in levels:
        factor = int(level)
        if min(ny, nx) // factor < 16 or (max(ny, nx) // factor > max_size
                                          and factor != max(levels)):
            continue
        thick = max(8, thickness // factor)
        vol = None
        for rnd in range(int(iterations)):
            aligned = bin_stack(fourier_shift_stack(data, shifts), factor)
            sino = np.ascontiguousarray(aligned.transpose(2, 0, 1))  # (nx_b, n, ny_b)
            its = sirt_iterations if vol is None or not warm else max(3, sirt_iterations // 3)
            vol = _sirt(sino, tilts, thick, its, x0=vol if warm else None)
            proj = get_projector(tilts, sino.shape[2], thick, kernel="pixel")
            reproj = proj.forward_slices(vol).transpose(1, 2, 0)
            update = _register_to(reproj, aligned, upsample)
            update -= update[start]
            shifts = shifts + update * factor
            biggest = float(np.abs(update).max())
            history.append((factor, rnd, biggest))
            if callback is not None:
                callback(factor, rnd, shifts, update)
            if biggest < tol:
                break
    shifts = initial_shifts + _without_rigid_motion(shifts - initial_shifts, gauge)
    shifts = shifts - shifts[start]
    return {"shifts": shifts, "history": history}


__all__ = ["projection_matching"]
