"""Compatibility for ``align._tiltaxis`` and ``align._pm`` (to be pointed at the new paths).

The pixel-driven projector pair is ``engine.project._pixel.PixelProjector``
(``get_projector(..., kernel="pixel")``), the ramp filter ``engine.project.fbp_filters``,
SIRT ``engine.recon.algorithms.SIRT``. These four functions delegate to them.
"""

from __future__ import annotations

import numpy as np

from ..project import get_projector
from ..project.fbp_filters import filter_sinograms
from ..recon.algorithms import SIRT


def _pixel(tilts, n_det, thickness):
    return get_projector(np.asarray(tilts, np.float64), int(n_det), int(thickness),
                         kernel="pixel")


def backproject(sino: np.ndarray, tilts, thickness: int) -> np.ndarray:
    """Back-project ``(n_slices, n_tilts, n_det)`` sinograms to ``(n_slices, thickness, n_det)``."""
    sino = np.asarray(sino, dtype=np.float32)
    return _pixel(tilts, sino.shape[-1], thickness).back_slices(sino)


def forward_project(vol: np.ndarray, tilts, n_det: int | None = None) -> np.ndarray:
    """Project ``(n_slices, thickness, n_det)`` volumes to ``(n_slices, n_tilts, n_det)``."""
    vol = np.asarray(vol, dtype=np.float32)
    n_det = vol.shape[2] if n_det is None else int(n_det)
    if n_det != vol.shape[2]:
        raise ValueError(f"n_det ({n_det}) must equal the slices' width ({vol.shape[2]}).")
    return _pixel(tilts, n_det, vol.shape[1]).forward_slices(vol)


def ramp_filter(sino: np.ndarray) -> np.ndarray:
    """Ram-Lak filter along the detector axis (last): ``filter_sinograms(..., "ram-lak")``."""
    return filter_sinograms(sino, sino.shape[-1], "ram-lak", axis=-1)


def sirt(sino: np.ndarray, tilts, thickness: int, iterations: int = 50, *,
         constrain: bool = True, thresh: float = 0.0, x0=None) -> np.ndarray:
    """SIRT on the pixel pair: ``recon.algorithms.SIRT`` on slice-first blocks."""
    sino = np.asarray(sino, dtype=np.float32)
    k, _, n_det = sino.shape
    proj = _pixel(tilts, n_det, thickness)
    y = np.ascontiguousarray(sino.reshape(k, -1).T)
    start = None if x0 is None else np.ascontiguousarray(
        np.asarray(x0, np.float32).reshape(k, -1).T)
    x = SIRT(proj, y, constrain=constrain, thresh=thresh, x0=start).run(iterations)
    return np.ascontiguousarray(x.T).reshape(k, int(thickness), n_det)
