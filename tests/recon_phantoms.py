"""Small phantoms with known ground truth for the reconstruction tests."""

from __future__ import annotations

import numpy as np

from etspy_widgets.engine.recon import get_projector

TILTS = np.arange(-70.0, 71.0, 4.0)  # 36 projections, ±70°


def phantom_slice(n: int = 64, shift: int = 0) -> np.ndarray:
    """A piecewise-constant slice (thickness n, width n): gray levels 0, 0.5 and 1."""
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    img = np.zeros((n, n), np.float32)
    img[(xx / (0.38 * n)) ** 2 + (yy / (0.26 * n)) ** 2 < 1] = 1.0
    img[((xx - 0.12 * n - shift) ** 2 + (yy + 0.05 * n) ** 2) < (0.09 * n) ** 2] = 0.5
    img[(np.abs(xx + 0.18 * n) < 0.07 * n) & (np.abs(yy - 0.04 * n - shift) < 0.1 * n)] = 0.5
    return img


def phantom_volume(nx: int = 6, n: int = 64) -> np.ndarray:
    """``(nx, n, n)``: slices that differ a little from each other."""
    return np.stack([phantom_slice(n, shift=i % 3) for i in range(nx)])


def phantom_stack(nx: int = 6, n: int = 64, tilts=TILTS, kernel: str = "strip"):
    """A TomoStack ``(n_tilts, n, nx)`` of the phantom volume and the volume itself."""
    from etspy_widgets import TomoStack

    vol = phantom_volume(nx, n)
    sino = get_projector(tilts, n, n, "sparse", kernel=kernel).forward(vol)  # (nx, A, n)
    return TomoStack(np.ascontiguousarray(sino.transpose(1, 2, 0)), tilts=tilts), vol


def rel_l2(a, b) -> float:
    """Relative L2 error of ``a`` against the reference ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
