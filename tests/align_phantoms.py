"""Analytic phantoms for the alignment tests: sums of 3D Gaussian blobs projected exactly.

A blob at ``(X, Y, Z)`` (X along the tilt axis, Y across it, Z along the beam at 0°; all
relative to the centre of rotation, which sits at the image centre) projects at tilt θ to
an isotropic 2D Gaussian at column ``cx + X`` and row ``cy + Y cos θ - Z sin θ``
(ASTRA's parallel geometry, as ``etspy_widgets.engine.geometry`` documents).
Misalignment is applied analytically by moving the 2D centres, so the truth is exact:

* ``shifts[i]`` is the correction to APPLY to projection ``i`` (the data is the truth
  moved by ``-shifts[i]``);
* ``rotation``/``yshift`` is the correction to apply with ``rotate_shift_stack``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Phantom:
    data: np.ndarray          # misaligned projections (n, ny, nx)
    truth: np.ndarray         # aligned projections
    tilts: np.ndarray
    shifts: np.ndarray        # correction to apply, (n, 2)
    rotation: float = 0.0     # correction to apply, degrees
    yshift: float = 0.0       # correction to apply, pixels


def blobs_catalyst(rng, n=60, radius=0.3, size=(96, 96)):
    """Blobs filling a ball (a 'catalyst particle'), in pixels relative to the centre."""
    ny, nx = size
    r = radius * min(ny, nx)
    pts = []
    while len(pts) < n:
        p = rng.uniform(-r, r, 3)
        if np.linalg.norm(p) < r:
            pts.append(p)
    pts = np.array(pts)
    sig = rng.uniform(1.5, 3.0, n)
    amp = rng.uniform(0.5, 1.5, n)
    mass = amp * sig**3
    pts[:, 1:] -= (pts[:, 1:] * mass[:, None]).sum(0) / mass.sum()  # centre of mass on the axis
    return np.column_stack([pts, sig, amp])


def blobs_rod(rng, size=(128, 128), off_axis=20.0):
    """A needle along x plus a few particles far off the tilt axis."""
    _ny, nx = size
    xs = np.linspace(-0.35 * nx, 0.35 * nx, 40)
    rod = [(x, 0.0, 0.0, 3.0, 1.0) for x in xs]
    parts = [(rng.uniform(-0.3, 0.3) * nx, off_axis * np.cos(a), off_axis * np.sin(a), 2.0, 3.0)
             for a in rng.uniform(0, 2 * np.pi, 6)]
    return np.array(rod + parts)


def project(blobs, tilts, size, centre_shift=None, *, rotation=0.0, yshift=0.0):
    """Render projections; ``centre_shift[i]`` moves every blob of projection i by (dy, dx);
    ``rotation``/``yshift`` rotate about the centre / shift the result (as applied to data)."""
    ny, nx = size
    cy, cx = (ny - 1) / 2, (nx - 1) / 2
    th = np.deg2rad(tilts)
    yy = np.arange(ny)[:, None]
    xx = np.arange(nx)[None, :]
    out = np.zeros((len(tilts), ny, nx))
    a = np.deg2rad(rotation)
    c, s = np.cos(a), np.sin(a)
    for i, t in enumerate(th):
        for bx, by, bz, sig, amp in blobs:
            row = by * np.cos(t) - bz * np.sin(t)
            col = bx
            # rotate the centre about the image centre, then shift (content motion)
            col, row = c * col - s * row, s * col + c * row + yshift
            row, col = row + cy, col + cx
            if centre_shift is not None:
                row += centre_shift[i, 0]
                col += centre_shift[i, 1]
            out[i] += amp * np.sqrt(2 * np.pi) * sig * np.exp(
                -((yy - row) ** 2 + (xx - col) ** 2) / (2 * sig**2))
    return out.astype(np.float32)


def make_phantom(kind="catalyst", size=(96, 96), tilts=None, *, jitter=5.0, rotation=0.0,
                 yshift=0.0, noise=0.0, seed=0) -> Phantom:
    """A misaligned tilt series with its exact truth (see module docstring for signs)."""
    rng = np.random.default_rng(seed)
    tilts = np.arange(-70, 71, 5.0) if tilts is None else np.asarray(tilts, float)
    blobs = blobs_rod(rng, size) if kind == "rod" else blobs_catalyst(rng, size=size)
    truth = project(blobs, tilts, size)
    mis = rng.uniform(-jitter, jitter, (len(tilts), 2))
    # data content sits at truth moved by mis, misaligned axis by the inverse correction
    data = project(blobs, tilts, size, centre_shift=mis, rotation=-rotation,
                   yshift=0.0)
    if yshift or rotation:
        # axis displaced: correction (rotate by `rotation`, then shift by `yshift`) must
        # undo it; render blobs at the inverse-transformed positions
        data = _render_inverse(blobs, tilts, size, mis, rotation=rotation, yshift=yshift)
    if noise:
        scale = noise
        data = rng.poisson(np.clip(data, 0, None) * scale).astype(np.float32) / scale
    return Phantom(data=data, truth=truth, tilts=tilts, shifts=-mis, rotation=rotation,
                   yshift=yshift)


def _render_inverse(blobs, tilts, size, mis, *, rotation, yshift):
    ny, nx = size
    cy, cx = (ny - 1) / 2, (nx - 1) / 2
    th = np.deg2rad(tilts)
    yy = np.arange(ny)[:, None]
    xx = np.arange(nx)[None, :]
    out = np.zeros((len(tilts), ny, nx))
    a = np.deg2rad(-rotation)
    c, s = np.cos(a), np.sin(a)
    for i, t in enumerate(th):
        for bx, by, bz, sig, amp in blobs:
            # truth centre relative to the image centre
            row = by * np.cos(t) - bz * np.sin(t)
            col = bx
            # undo the correction: subtract yshift, rotate by -rotation
            row = row - yshift
            col, row = c * col - s * row, s * col + c * row
            row, col = row + cy + mis[i, 0], col + cx + mis[i, 1]
            out[i] += amp * np.sqrt(2 * np.pi) * sig * np.exp(
                -((yy - row) ** 2 + (xx - col) ** 2) / (2 * sig**2))
    return out.astype(np.float32)


def residual_rms(aligned, truth, margin=0.15):
    """RMS (px) of the remaining misalignment of ``aligned`` against ``truth``, after
    removing the common offset: each projection's shift measured by sub-pixel
    cross-correlation of the central region."""
    from skimage.registration import phase_cross_correlation

    n, ny, nx = truth.shape
    my, mx = int(margin * ny), int(margin * nx)
    sl = np.s_[my:ny - my, mx:nx - mx]
    d = np.array([phase_cross_correlation(truth[i][sl], aligned[i][sl], upsample_factor=100,
                                          normalization=None)[0] for i in range(n)])
    d -= d.mean(axis=0)
    return float(np.sqrt(np.mean(np.sum(d**2, axis=1)))), d
