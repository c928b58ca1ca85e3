"""ETSpy's ``etspy.simulation`` functions, same names and arguments, seeded.

They work on voxel volumes and arbitrary stacks as ETSpy's do (ASTRA projection,
interpolated shifts); for exact, analytic series with known truth use ``simulate``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import InvalidDataError, check_method
from ..project import cuda_available, get_projector
from ..signals import TomoStack
from ._geometry import Geometry, add_noise_array
from ._models import _place_particles
from ._shapes import Phantom, Sphere, TaperedRod


def _as_signal(volume: np.ndarray, names):
    from hyperspy._signals.signal2d import Signal2D

    signal = Signal2D(volume)
    for ax, name in zip(signal.axes_manager._axes, names, strict=True):
        ax.name = name
    return signal


def create_catalyst_model(  # noqa: PLR0917 -- ETSpy's positional signature
        nparticles: int = 15, particle_density: float = 255,
                          support_density: float = 100,
                          volsize: tuple[int, int, int] = (600, 600, 600),
                          support_radius: float = 200,
                          size_interval: tuple[int, int] = (5, 12), *, seed=0):
    """ETSpy's catalyst volume: a support sphere with ``nparticles`` particles on its surface.

    Returns a Signal2D of shape ``(X, Z, Y)`` = ``(volsize[0], volsize[2], volsize[1])``, the
    ``(nx, thickness, ny)`` layout ``create_model_tilt_series`` projects. Particle radii
    are ``2·k`` pixels for integer ``k`` in ``size_interval`` (as ETSpy); particle voxels take
    ``particle_density`` (they replace the support, as in ETSpy). Seeded.
    """
    nx, ny, nz = (int(v) for v in volsize)
    geom = Geometry(nx, ny, nz)
    rng = np.random.default_rng(seed)
    centre = np.array([geom.cx, geom.cy, geom.cz])
    radii = 2.0 * rng.integers(size_interval[0], size_interval[1], size=nparticles)
    particles = _place_particles(
        rng, nparticles, centre, lambda r, g: support_radius + g.uniform(-r / 2, r / 2),
        radii=radii, densities=np.full(nparticles, float(particle_density)))
    support = Sphere(*map(float, centre), radius=float(support_radius),
                     density=float(support_density))
    volume = Phantom(geom, (support,)).voxelize()
    mask = Phantom(geom, tuple(Sphere(p.x, p.y, p.z, p.radius, 1.0) for p in particles))
    occupancy = np.clip(mask.voxelize(), 0, 1)
    volume = volume * (1 - occupancy) + particle_density * occupancy
    return _as_signal(volume.astype(np.float32), ["X", "Z", "Y"])


def create_cylinder_model(radius: int = 30, blur: bool = True, blur_sigma: float = 1.5,
                          add_others: bool = False):
    """ETSpy's needle-like cylinder along the tilt axis (``(X, Z, Y)`` volume, 200³ or 400³).

    ``add_others`` adds two thinner cylinders near the edge of the field (partly along the
    axis), as ETSpy does, to test objects entering the field of view.
    """
    n = 400 if add_others else 200
    geom = Geometry(n, n, n)
    shapes = [TaperedRod(0, n - 1, radius, radius, geom.cy, geom.cz, 50.0)]
    if add_others:
        shapes.append(TaperedRod(0, 149, 10, 10, 30.0, 30.0, 10.0))
        shapes.append(TaperedRod(231, 269, 15, 15, 350.0, 370.0, 20.0))
    volume = Phantom(geom, tuple(shapes)).voxelize()
    if blur:
        volume = ndimage.gaussian_filter(volume, sigma=blur_sigma)
    return _as_signal(volume, ["X", "Z", "Y"])


def create_model_tilt_series(model, angles=None, cuda=None):
    """Project a ``(nx, thickness, ny)`` volume with ASTRA, slice by slice (ETSpy's way).

    ``angles`` default to 0..178° in steps of 2. ``cuda`` uses ASTRA's GPU projector when
    True (default: when ASTRA sees a GPU).
    """
    volume = np.asarray(getattr(model, "data", model), dtype=np.float32)
    if volume.ndim != 3:
        raise InvalidDataError(
            f"The model must be a volume (nx, thickness, ny); got shape {volume.shape}.")
    angles = np.arange(0, 180, 2.0) if angles is None else np.asarray(angles, np.float64)
    nx, nz, ny = volume.shape
    use_cuda = cuda_available() if cuda is None else bool(cuda)
    proj = get_projector(angles, ny, nz, "astra-cuda" if use_cuda else "astra",
                         kernel="linear")
    out = np.empty((angles.size, ny, nx), dtype=np.float32)
    for x0 in range(0, nx, 64):  # (slices, n_tilts, ny) → (n_tilts, ny, slices)
        x1 = min(nx, x0 + 64)
        out[:, :, x0:x1] = proj.forward(volume[x0:x1]).transpose(1, 2, 0)
    return TomoStack(out, tilts=angles)


def misalign_stack(  # noqa: PLR0917 -- ETSpy's positional signature
        stack, min_shift: float = -5, max_shift: float = 5, tilt_shift: float = 0,
                   tilt_rotate: float = 0, y_only: bool = False, interp_order: int = 3, *,
                   seed=0):
    """ETSpy's ``misalign_stack``: interpolated, seeded misalignment of any stack.

    ``tilt_shift`` moves the tilt axis across itself (along y; ETSpy 1.3.0 moved it along x),
    ``tilt_rotate`` turns every projection clockwise as displayed (``ndimage.rotate(-angle)``,
    as ETSpy), then each projection is shifted by a random ``(dy, dx)`` from
    ``[min_shift, max_shift)``. As in ETSpy, the random shifts are added to ``stack.shifts``
    (the shifts applied to the data so far). For exact shifts use ``simulate``.
    """
    out = stack.deepcopy()
    data = np.asarray(out.data, dtype=np.float32)
    if tilt_shift:
        data = ndimage.shift(data, (0, tilt_shift, 0), order=interp_order)
    if tilt_rotate:
        data = ndimage.rotate(data, -tilt_rotate, axes=(1, 2), order=interp_order,
                              reshape=False)
    if min_shift or max_shift:
        rng = np.random.default_rng(seed)
        jitter = rng.uniform(min_shift, max_shift, size=(data.shape[0], 2))
        if y_only:
            jitter[:, 1] = 0.0
        for i in range(data.shape[0]):
            data[i] = ndimage.shift(data[i], jitter[i], order=interp_order)
        out.data = data
        out.shifts = out.shift_values + jitter
    else:
        out.data = data
    return out


def add_noise(stack, noise_type: str = "gaussian", scale_factor: float = 0.2, *, seed=0):
    """ETSpy's ``add_noise``: a noisy copy of ``stack`` (a TomoStack, Signal2D or array).

    ``noise_type`` is ``"gaussian"`` or ``"poissonian"``/``"shot"``; ``scale_factor`` the
    relative noise level (see ``add_noise_array``: seeded and unbiased, unlike ETSpy's
    Gaussian noise, which adds the mean and rescales).
    """
    kind = check_method("noise type", noise_type, ["gaussian", "poissonian", "shot", "poisson"])
    kind = "gaussian" if kind == "gaussian" else "poisson"
    if isinstance(stack, np.ndarray):
        return add_noise_array(stack.astype(np.float32), scale_factor, kind, seed=seed)
    out = stack.deepcopy()
    out.data = add_noise_array(np.asarray(stack.data, dtype=np.float32), scale_factor, kind,
                               seed=seed)
    return out
