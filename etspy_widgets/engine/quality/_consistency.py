"""Per-projection consistency: reconstruct, reproject, compare every projection with its
reprojection.

The series is binned so that its images are at most ``max_size`` pixels, reconstructed
with a few SIRT iterations (non-negative) from the projections not excluded, and
reprojected at every tilt. For each projection: the normalised RMS residual
``‖p − r‖ / ‖p‖``, the normalised cross-correlation, and the shift ``(dy, dx)`` that,
applied to the projection, brings it onto its reprojection (the shift projection
matching would apply; ``docs/conventions.md`` sign), in unbinned pixels.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDataError
from ..recon import get_projector, reconstruct_slices
from ..transform import bin_stack
from ._measures import _ncc


def working_factor(shape, max_size: int) -> int:
    """The binning factor that brings ``(ny, nx)`` to at most ``max_size`` pixels."""
    return max(1, int(np.ceil(max(shape) / max(int(max_size), 8))))


def _peak_offsets(cc: np.ndarray) -> np.ndarray:
    """Sub-pixel position of the maximum of each ``(n, ny, nx)`` circular correlation
    (3-point parabola per axis), as a signed shift ``(dy, dx)``."""
    n, ny, nx = cc.shape
    flat = cc.reshape(n, -1).argmax(1)
    py, px = np.divmod(flat, nx)
    i = np.arange(n)
    out = np.empty((n, 2))
    for axis, p, size in ((0, py, ny), (1, px, nx)):
        if axis == 0:
            y0, y1, y2 = cc[i, (p - 1) % size, px], cc[i, p, px], cc[i, (p + 1) % size, px]
        else:
            y0, y1, y2 = cc[i, py, (p - 1) % size], cc[i, py, p], cc[i, py, (p + 1) % size]
        den = (y0 - 2 * y1 + y2).astype(np.float64)
        frac = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den < 0, den, -1.0), 0.0)
        s = p + frac
        out[:, axis] = np.where(s > size / 2, s - size, s)
    return out


def _cc_shift(ref: np.ndarray, img: np.ndarray) -> np.ndarray:
    """Sub-pixel ``(dy, dx)`` to apply to each ``img`` to match ``ref`` (batched real FFT
    in single precision on all cores, Hann window, 3-point parabolic peak)."""
    from scipy import fft as sfft

    _, ny, nx = img.shape
    win = np.outer(np.hanning(ny), np.hanning(nx)).astype(np.float32)
    a = (ref - ref.mean(axis=(1, 2), keepdims=True, dtype=np.float32)) * win
    b = (img - img.mean(axis=(1, 2), keepdims=True, dtype=np.float32)) * win
    fa = sfft.rfft2(a.astype(np.float32, copy=False), workers=-1)
    fa *= np.conj(sfft.rfft2(b.astype(np.float32, copy=False), workers=-1))
    return _peak_offsets(sfft.irfft2(fa, s=(ny, nx), workers=-1))


def half_rotation(ref: np.ndarray, img: np.ndarray) -> np.ndarray:
    """In-plane rotation (degrees, ``trans_stack`` sign) to apply to each ``img`` to match
    ``ref``, from the shifts of its halves: across the axis from the left and right
    halves, along it from the top and bottom ones (the mean of the two). The images are
    band-passed first (Laplacian of a Gaussian, σ = 1 px), so that small features, which
    a rotation moves, count more than a large round body, which it does not."""
    from scipy import ndimage

    ref = -ndimage.gaussian_laplace(np.asarray(ref, np.float32), 1.0, axes=(1, 2))
    img = -ndimage.gaussian_laplace(np.asarray(img, np.float32), 1.0, axes=(1, 2))
    _, ny, nx = img.shape
    hy, hx = ny // 2, nx // 2
    left = _cc_shift(ref[:, :, :hx], img[:, :, :hx])
    right = _cc_shift(ref[:, :, hx:], img[:, :, hx:])
    top, bottom = _cc_shift(ref[:, :hy], img[:, :hy]), _cc_shift(ref[:, hy:], img[:, hy:])
    a1 = np.arctan2(right[:, 0] - left[:, 0], hx)
    a2 = -np.arctan2(bottom[:, 1] - top[:, 1], hy)
    return np.rad2deg(0.5 * (a1 + a2))


def reproject(vol: np.ndarray, tilts, n_det: int) -> np.ndarray:
    """Reproject a ``(nx, thickness, ny)`` volume to ``(n, ny, nx)`` projections."""
    vol = np.ascontiguousarray(vol, dtype=np.float32)
    proj = get_projector(tilts, n_det, vol.shape[1])
    return np.ascontiguousarray(proj.forward(vol).transpose(1, 2, 0))


def consistency(data, tilts, rec=None, *, exclude=None, iterations: int = 10,
                thickness=None, max_size: int = 128) -> dict:
    """Compare every projection with the reprojection of a reconstruction.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` projections, aligned as they are.
    tilts : array-like
        Degrees.
    rec : numpy.ndarray, optional
        A reconstruction ``(nx, thickness, ny)`` of this series at its full size to
        reproject; default: SIRT of the binned series.
    exclude : array-like of int, optional
        Projections left out of the reconstruction (they are still compared).
    iterations : int
        SIRT iterations.
    thickness : int, optional
        Height of the reconstruction in unbinned pixels (default ``ny``).
    max_size : int
        Bin the images to at most this size first (ignored with ``rec``).

    Returns
    -------
    dict
        ``residual``, ``ncc``, ``dy``, ``dx`` (``(n,)`` arrays), ``factor`` (binning),
        ``volume`` (the binned reconstruction), ``reprojection``, ``projections`` (the
        binned data).
    """
    data = np.asarray(data, dtype=np.float32)
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    n, ny, nx = data.shape
    if rec is not None:
        vol = np.asarray(rec, dtype=np.float32)
        if vol.ndim != 3 or vol.shape[0] != nx or vol.shape[2] != ny:
            raise InvalidDataError(
                f"rec must be a reconstruction of this series, shape ({nx}, thickness, {ny}); "
                f"got {vol.shape}. Reconstruct it from this stack, or leave rec=None."
            )
        factor, small = 1, data
    else:
        factor = working_factor((ny, nx), max_size)
        small = bin_stack(data, factor) if factor > 1 else data
        keep = np.ones(n, bool)
        if exclude is not None and len(exclude):
            keep[np.asarray(exclude, int)] = False
        if keep.sum() < 3:
            raise InvalidDataError("Fewer than 3 projections left to reconstruct from.")
        th = small.shape[1] if thickness is None else max(4, int(thickness) // factor)
        vol = reconstruct_slices(small[keep], tilts[keep], "SIRT", iterations=int(iterations),
                                 thickness=th, constrain=True)
    rep = reproject(vol, tilts, small.shape[1])
    diff = (small - rep).reshape(n, -1).astype(np.float64)
    norm = np.sqrt((small.reshape(n, -1).astype(np.float64) ** 2).sum(1))
    residual = np.sqrt((diff**2).sum(1)) / np.maximum(norm, 1e-30)
    shifts = _cc_shift(rep, small) * factor
    return {"residual": residual, "ncc": _ncc(small, rep), "dy": shifts[:, 0],
            "dx": shifts[:, 1], "rotation": half_rotation(rep, small), "factor": factor,
            "volume": vol, "reprojection": rep,
            "projections": small}


def thickness_estimate(vol: np.ndarray, fraction: float = 0.1) -> float:
    """Thickness of the object in a ``(nx, thickness, ny)`` volume, in its pixels: the
    extent of the rows (z) whose mean positive density exceeds ``fraction`` of the most."""
    prof = np.clip(np.asarray(vol, float), 0, None).mean(axis=(0, 2))
    if prof.max() <= 0:
        return 0.0
    above = np.flatnonzero(prof >= fraction * prof.max())
    return float(above[-1] - above[0] + 1)
