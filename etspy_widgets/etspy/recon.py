"""ETSpy's module-level reconstruction functions (``etspy.recon.run``, ``astra_error``).

Thin wrappers with ETSpy's argument names over [`reconstruct_stack`][] and
``TomoStack.iter_recon_error``. ``dart_segment`` and ``get_dart_boundaries`` are in
``algorithms`` (the DART class uses them). ETSpy's ``run_alg`` and ``run_dart`` take ASTRA
configuration dictionaries and have no counterpart here.
"""

from __future__ import annotations

import numpy as np

from ..engine.errors import InvalidDataError
from ..engine.recon import dart_segment, get_dart_boundaries, reconstruct_stack
from ..engine.signals import TomoStack
from ..engine.signals._recon_verbs import backend_for


def run(  # noqa: PLR0917 - ETSpy's positional signature
        stack, tilts, method, niterations: int = 20, constrain: bool = False,
        thresh: float = 0, cuda=None, thickness=None, ncores=None,
        bp_filter: str = "shepp-logan", gray_levels=None, dart_iterations: int = 2,
        p: float = 0.99, show_progressbar: bool = True) -> np.ndarray:
    """Reconstruct a tilt-series array (ETSpy's ``etspy.recon.run``).

    Parameters are ETSpy's: ``stack`` is ``(n_tilts, ny, nx)`` (or one sinogram
    ``(n_tilts, ny)``), ``tilts`` the angles in degrees (``(n, 1)`` is accepted),
    ``niterations`` the iterations (SIRT), sweeps (SART: ETSpy counted single
    projections) or SART sweeps per DART round, ``bp_filter`` the FBP filter.

    Returns
    -------
    numpy.ndarray
        float32 ``(nx, thickness, ny)``, as ETSpy.
    """
    data = np.asarray(stack)
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    return reconstruct_stack(
        data, np.asarray(tilts, dtype=np.float64).ravel(), method, niterations,
        thickness=thickness, constrain=constrain, thresh=thresh, sino_filter=bp_filter,
        backend=backend_for(cuda), ncores=ncores, show_progressbar=show_progressbar, p=p,
        dart_iterations=dart_iterations, gray_levels=gray_levels)


def astra_error(sinogram, angles, method: str = "SIRT", iterations: int = 50,  # noqa: PLR0917
                constrain: bool = True, thresh: float = 0, cuda=False):
    """Reconstruct one sinogram, keeping every iteration (ETSpy's ``astra_error``).

    ``sinogram`` is ``(n_tilts, ny)``, ``angles`` in degrees; ``method`` "SIRT" or "SART"
    (also "CGLS", "TV"; SART iterations are full sweeps).

    Returns
    -------
    rec : numpy.ndarray
        ``(iterations, ny, ny)``: the slice after each iteration.
    residual_error : numpy.ndarray
        ``(iterations,)``: the L2 norm of the sinogram residual after each iteration.
    """
    sino = np.asarray(sinogram)
    if sino.ndim != 2:
        raise InvalidDataError(
            f"Sinogram must be two-dimensional (ntilts, y); got shape {sino.shape}.")
    angles = np.asarray(angles, dtype=np.float64).ravel()
    stack = TomoStack(sino[:, :, np.newaxis], tilts=angles)
    ny = sino.shape[1]
    images, residuals = [], []
    for _, image, residual in stack.iter_recon_error(0, method, iterations, constrain,
                                                     cuda, thresh):
        images.append(image)
        residuals.append(residual)
    rec = np.array(images, dtype=np.float32).reshape(len(images), ny, ny)
    return rec, np.asarray(residuals, dtype=np.float64)


__all__ = ["astra_error", "dart_segment", "get_dart_boundaries", "run"]
