"""Seeded 3D models (catalyst, needle, rod with off-axis particles) and simulated series.

Nothing random happens without a seed: every model and every misalignment takes ``seed``
(an int, default 0), and the same seed gives the same numbers on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..signals import TomoStack
from ..validate import as_int
from ._geometry import Geometry, Misalignment, add_noise_array
from ._project import _check_tilts, project
from ._shapes import Phantom, Sphere, TaperedRod

CATALYST_TILTS = np.arange(90) * 2.0  # ETSpy's Catalyst3DModel_TiltSeries180: 0..178 step 2
NEEDLE_TILTS = -76.0 + 2.0 * np.arange(77)  # the experimental needle: -76..76 step 2


def _random_directions(rng, n: int) -> np.ndarray:
    vec = rng.normal(size=(n, 3))
    return vec / np.linalg.norm(vec, axis=1, keepdims=True)


def _place_particles(rng, n_particles, centre, distance, *, radii, densities,
                     max_tries=200) -> list[Sphere]:
    """Spheres at ``centre + distance(r)·direction`` that do not overlap one another."""
    placed: list[Sphere] = []
    for k in range(n_particles):
        r = radii[k]
        for _ in range(max_tries):
            direction = _random_directions(rng, 1)[0]
            pos = centre + distance(r, rng) * direction
            if all(np.linalg.norm(pos - (s.x, s.y, s.z)) > r + s.radius + 1 for s in placed):
                placed.append(Sphere(*map(float, pos), radius=float(r),
                                     density=float(densities[k])))
                break
    return placed


def catalyst_model(size: int = 600, n_particles: int = 30, seed=0,
                   support_density: float = 100.0,
                   particle_density: tuple[float, float] = (180.0, 300.0)) -> Phantom:
    """A support sphere carrying small particles of varied size and density.

    Modelled on ETSpy's catalyst (600³, support radius 200 px of value 100, particles of
    value 255 and radius 10-22 px): the support has radius ``size/3``; particle radii are
    log-uniform in ``[size/120, size/30]`` (5-20 px at 600), densities uniform in
    ``particle_density``, and centres sit ``-0.3..0.6`` radii outside the support surface
    (partly embedded; densities add there). Volume ``(size, size, size)``.
    """
    size = as_int("size", size, minimum=16, maximum=4096)  # 4096³ float32 is 256 GiB
    rng = np.random.default_rng(seed)
    geom = Geometry(size, size, size)
    centre = np.array([geom.cx, geom.cy, geom.cz])
    support_r = size / 3.0
    lo, hi = max(size / 120.0, 1.5), max(size / 30.0, 2.0)
    radii = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n_particles))
    densities = rng.uniform(*particle_density, size=n_particles)
    particles = _place_particles(
        rng, n_particles, centre, lambda r, g: support_r + r * g.uniform(-0.3, 0.6),
        radii=radii, densities=densities)
    support = Sphere(*map(float, centre), radius=support_r, density=support_density)
    return Phantom(geom, (support, *particles))


def needle_model(size: int = 256, n_particles: int = 12, seed=0,
                 rod_density: float = 100.0, particle_density: float = 250.0) -> Phantom:
    """A tapered rod along the tilt axis (a needle: wide base, narrow tip) with particles.

    The rod runs from ``x = 0`` to ``0.9·size`` on the tilt axis, radius ``0.12·size`` at the
    base tapering to ``0.03·size``; particles (radius ``size/100``-``size/40``) sit on its
    surface. Volume ``(size, size, size)``.
    """
    rng = np.random.default_rng(seed)
    geom = Geometry(size, size, size)
    r0, r1, x1 = 0.12 * size, 0.03 * size, 0.9 * size
    rod = TaperedRod(0.0, x1, r0, r1, geom.cy, geom.cz, rod_density)
    particles = []
    for _ in range(n_particles):
        x = rng.uniform(0.05 * size, 0.85 * size)
        r = rng.uniform(max(size / 100.0, 1.5), max(size / 40.0, 2.0))
        angle = rng.uniform(0, 2 * np.pi)
        dist = float(rod.radius_at(x)) + 0.5 * r
        particles.append(Sphere(float(x), geom.cy + dist * np.cos(angle),
                                geom.cz + dist * np.sin(angle), float(r), particle_density))
    return Phantom(geom, (rod, *particles))


def rod_model(size: int = 256, n_particles: int = 10, seed=0, rod_density: float = 60.0,
              particle_density: float = 250.0) -> Phantom:
    """A thin cylinder on the tilt axis with particles spread off the axis.

    Particles sit at ``0.1``-``0.4·size`` from the axis (so their sinogram traces have varied
    amplitudes), which is what projection-matching alignment needs. Volume ``(size,)*3``.
    """
    rng = np.random.default_rng(seed)
    geom = Geometry(size, size, size)
    rod = TaperedRod(0.05 * size, 0.95 * size, 0.05 * size, 0.05 * size, geom.cy, geom.cz,
                     rod_density)
    particles = []
    for _ in range(n_particles):
        x = rng.uniform(0.1 * size, 0.9 * size)
        dist = rng.uniform(0.1 * size, 0.4 * size)
        angle = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(max(size / 80.0, 1.5), max(size / 30.0, 2.0))
        particles.append(Sphere(float(x), geom.cy + dist * np.cos(angle),
                                geom.cz + dist * np.sin(angle), float(r), particle_density))
    return Phantom(geom, (rod, *particles))


@dataclass
class SimulatedSeries:
    """A simulated tilt series with everything needed to score alignment and reconstruction.

    Attributes
    ----------
    stack : TomoStack
        The (misaligned, noisy) projections ``(n, ny, nx)`` with ``tilts`` set; its
        ``shifts`` are zero (no alignment has been applied to it yet).
    phantom : Phantom
        The model; ``phantom.shapes`` lists the spheres and rods.
    tilts : numpy.ndarray
        Tilt angles in degrees.
    misalignment : Misalignment
        What was applied (see [`shifts`][], [`tilt_shift`][], ``tilt_rotation``).
    noise_type : str or None
        ``"gaussian"``, ``"poisson"`` or None.
    noise_factor : float
        Relative noise level used.
    seed : int
        The seed of the misalignment and noise.
    """

    stack: object
    phantom: Phantom
    tilts: np.ndarray
    misalignment: Misalignment
    noise_type: str | None = None
    noise_factor: float = 0.0
    seed: object = 0

    @property
    def shifts(self) -> np.ndarray:
        """``(n, 2)`` shifts ``(dy, dx)`` applied, in pixels: a feature at ``y0`` in the
        aligned projection appears at ``y0 + dy`` (ETSpy's ``shifts`` order and sign)."""
        return self.misalignment.shifts

    @property
    def tilt_shift(self) -> float:
        """Tilt-axis shift across the axis (along y), in pixels."""
        return self.misalignment.tilt_shift

    @property
    def tilt_rotation(self) -> float:
        """Tilt-axis rotation in degrees (clockwise as displayed, y down)."""
        return self.misalignment.tilt_rotation

    @property
    def spheres(self) -> list[Sphere]:
        return self.phantom.spheres

    @property
    def geometry(self) -> Geometry:
        return self.phantom.geometry

    @cached_property
    def aligned(self) -> np.ndarray:
        """The projections without misalignment or noise, ``(n, ny, nx)`` float32."""
        if self.misalignment.is_identity and self.noise_type is None:
            return np.asarray(self.stack.data)
        return project(self.phantom, self.tilts)

    @cached_property
    def volume(self) -> np.ndarray:
        """The ground-truth volume ``(nx, thickness, ny)`` float32 (built on first use)."""
        return self.phantom.voxelize()

    def volume_slices(self, x_slices) -> np.ndarray:
        """Only the ground-truth slices ``x_slices`` (cheaper than [`volume`][])."""
        return self.phantom.voxelize(x_slices)


def simulate(phantom: Phantom, tilts=None, *, misalign: bool = False, minshift: float = -5,
             maxshift: float = 5, tiltshift: float = 0, tiltrotate: float = 0,
             y_only: bool = False, noise: bool = False, noise_factor: float = 0.2,
             noise_type: str = "gaussian", seed=0, title: str = "Simulated tilt series",
             pixel_size: float = 1.0, units: str = "nm") -> SimulatedSeries:
    """Project ``phantom`` over ``tilts`` with known misalignment and noise.

    Parameters
    ----------
    phantom : Phantom
        The model ([`catalyst_model`][], [`needle_model`][], [`rod_model`][]).
    tilts : array-like, optional
        Degrees; default ETSpy's catalyst range 0..178 in steps of 2.
    misalign : bool
        Apply per-projection shifts drawn uniformly from ``[minshift, maxshift)`` (both axes,
        or only y with ``y_only``). ``tiltshift`` and ``tiltrotate`` apply whatever
        ``misalign`` says, as in ETSpy only when ``misalign`` is True.
    tiltshift : float
        Shift of the tilt axis across itself (along y), pixels.
    tiltrotate : float
        In-plane rotation of every projection, degrees (clockwise as displayed).
    noise, noise_factor, noise_type
        Add seeded noise (see [`add_noise_array`][]).
    seed : int
        Seeds the shifts and the noise (independent streams).
    """
    tilts = CATALYST_TILTS.copy() if tilts is None else _check_tilts(tilts)
    n = tilts.size
    shift_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    if misalign:
        mis = Misalignment.random(n, minshift=minshift, maxshift=maxshift, tiltshift=tiltshift,
                                  tiltrotate=tiltrotate, y_only=y_only, seed=shift_seed)
    else:
        mis = Misalignment.none(n)
    data = project(phantom, tilts, mis)
    if noise:
        data = add_noise_array(data, noise_factor, noise_type, seed=noise_seed)
    stack = TomoStack(data, tilts=tilts)
    steps = np.diff(tilts)
    if n > 1 and np.allclose(steps, steps[0]):
        stack.set_tilts(float(tilts[0]), float(steps[0]))
        stack.tilts = tilts  # exact values, not start + k·step rounding
    for ax in stack.axes_manager.signal_axes:
        ax.scale, ax.units = pixel_size, units
    stack.metadata.General.title = title
    return SimulatedSeries(stack, phantom, tilts, mis, noise_type if noise else None,
                           float(noise_factor) if noise else 0.0, seed)


def misalign(series: SimulatedSeries, *, minshift: float = -5, maxshift: float = 5,
             tiltshift: float = 0, tiltrotate: float = 0, y_only: bool = False,
             noise: bool = False, noise_factor: float = 0.2, noise_type: str = "gaussian",
             seed=0) -> SimulatedSeries:
    """A misaligned (and optionally noisy) version of a simulated series, re-projected exactly.

    Same phantom and tilts; the shifts are drawn with ``seed`` (see [`simulate`][]).
    """
    axis = series.stack.axes_manager.signal_axes[0]
    return simulate(series.phantom, series.tilts, misalign=True, minshift=minshift,
                    maxshift=maxshift, tiltshift=tiltshift, tiltrotate=tiltrotate,
                    y_only=y_only, noise=noise, noise_factor=noise_factor,
                    noise_type=noise_type, seed=seed,
                    title=series.stack.metadata.General.title,
                    pixel_size=axis.scale, units=axis.units)


def simulate_catalyst(size: int = 600, n_particles: int = 30, tilts=None, model_seed=0,
                      **kwargs) -> SimulatedSeries:
    """The simulated catalyst series (default: ETSpy's 90 × 600², 0..178°).

    ``model_seed`` fixes the particles; other keywords go to [`simulate`][].
    """
    kwargs.setdefault("title", "Simulated catalyst")
    return simulate(catalyst_model(size, n_particles, model_seed), tilts, **kwargs)


def simulate_needle(size: int = 256, n_particles: int = 12, tilts=None, model_seed=0,
                    **kwargs) -> SimulatedSeries:
    """A simulated needle (tapered rod with particles), default -76..76° in steps of 2."""
    kwargs.setdefault("title", "Simulated needle")
    tilts = NEEDLE_TILTS.copy() if tilts is None else tilts
    return simulate(needle_model(size, n_particles, model_seed), tilts, **kwargs)


def simulate_rod(size: int = 256, n_particles: int = 10, tilts=None, model_seed=0,
                 **kwargs) -> SimulatedSeries:
    """A simulated rod with off-axis particles, default -76..76° in steps of 2."""
    kwargs.setdefault("title", "Simulated rod with off-axis particles")
    tilts = NEEDLE_TILTS.copy() if tilts is None else tilts
    return simulate(rod_model(size, n_particles, model_seed), tilts, **kwargs)
