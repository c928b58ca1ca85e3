"""Shapes with analytic projections: uniform spheres and tapered rods along the tilt axis.

Every shape knows three things: its bounding box on the (aligned) detector at a tilt, its line
integral at detector points, and how to write itself into a voxel volume. The volume is the
*sum* of the shapes' densities (where a particle dips into its support the densities add).

Sampling, the same for projections and volumes so that the two agree slice by slice: along the
tilt axis a shape is sampled at the slice centres ``x = k`` (a sphere at column ``k`` is the
disc of radius ``sqrt(r² - (k - x_c)²)``). Across it, a detector pixel holds the exact line
integral *averaged over the pixel's width* (closed form, like ASTRA's ``strip`` projector, so
the sum over the detector is the exact area of the section at any sub-pixel shift), and a voxel
holds the disc's partial-volume fraction ``clip(ρ - d + 1/2, 0, 1)`` (``d`` the voxel centre's
distance to the disc centre; counted on 8 × 8 sub-samples for discs of radius < 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidIndexError
from ._geometry import Geometry


def _disc_fill(volume_slice: np.ndarray, cy: float, cz: float, radius: float,
               density: float) -> None:
    """Add a disc (partial-volume edges) to one ``(thickness, ny)`` slice in place."""
    if radius <= 0:
        return
    nz, ny = volume_slice.shape
    z0, z1 = max(int(np.floor(cz - radius - 1)), 0), min(int(np.ceil(cz + radius + 1)), nz - 1)
    y0, y1 = max(int(np.floor(cy - radius - 1)), 0), min(int(np.ceil(cy + radius + 1)), ny - 1)
    if z1 < z0 or y1 < y0:
        return
    zz = np.arange(z0, z1 + 1, dtype=np.float64)[:, None]
    yy = np.arange(y0, y1 + 1, dtype=np.float64)[None, :]
    if radius >= 4:
        dist = np.sqrt((zz - cz) ** 2 + (yy - cy) ** 2)
        frac = np.clip(radius - dist + 0.5, 0.0, 1.0)
    else:  # small discs: the linear edge model is poor, count 8 × 8 sub-samples instead
        sub = (np.arange(8) + 0.5) / 8 - 0.5
        dz = zz[:, :, None, None] + sub[None, None, :, None] - cz
        dy = yy[:, :, None, None] + sub[None, None, None, :] - cy
        frac = (dz**2 + dy**2 <= radius**2).mean(axis=(2, 3))
    volume_slice[z0:z1 + 1, y0:y1 + 1] += (density * frac).astype(volume_slice.dtype)


def _strip_integral(radius, lo, hi) -> np.ndarray:
    """``∫_lo^hi 2·sqrt(radius² - s²) ds`` over the part of ``[lo, hi]`` inside the disc."""
    radius = np.asarray(radius, dtype=np.float64)
    safe = np.where(radius > 0, radius, 1.0)
    a = np.clip(lo, -radius, radius) / safe
    b = np.clip(hi, -radius, radius) / safe

    def prim(t):
        return t * np.sqrt(np.clip(1.0 - t * t, 0.0, None)) + np.arcsin(t)

    return np.where(radius > 0, safe**2 * (prim(b) - prim(a)), 0.0)


@dataclass(frozen=True)
class Sphere:
    """A uniform sphere.

    Parameters
    ----------
    x, y, z : float
        Centre in voxel indices of the ``(nx, thickness, ny)`` volume: ``x`` the slice (along
        the tilt axis), ``y`` across the axis, ``z`` through the thickness.
    radius : float
        Radius in pixels.
    density : float
        Value inside the sphere (projection units: density × path length in pixels).
    """

    x: float
    y: float
    z: float
    radius: float
    density: float = 1.0

    def footprint(self, geom: Geometry, theta: float):
        """``(x0, x1, u0, u1)`` bounding box on the aligned detector and the centre row."""
        uc = float(geom.detector_u(self.y, self.z, theta))
        r = self.radius
        return (self.x - r, self.x + r, uc - r - 0.5, uc + r + 0.5), uc

    def line_integral(self, x, u, centre_u: float) -> np.ndarray:
        """Line integral at ``(x, u)``, averaged over ``u ± 1/2`` (one detector pixel)."""
        rho = np.sqrt(np.clip(self.radius**2 - (x - self.x) ** 2, 0.0, None))
        du = u - centre_u
        return self.density * _strip_integral(rho, du - 0.5, du + 0.5)

    def add_to_slices(self, volume: np.ndarray, geom: Geometry, x_slices: np.ndarray) -> None:
        """Add the sphere to ``volume[j]`` = slice ``x_slices[j]`` (in place)."""
        lo, hi = self.x - self.radius, self.x + self.radius
        for j in np.nonzero((x_slices >= lo) & (x_slices <= hi))[0]:
            rho2 = self.radius**2 - (x_slices[j] - self.x) ** 2
            _disc_fill(volume[j], self.y, self.z, float(np.sqrt(max(rho2, 0.0))), self.density)


@dataclass(frozen=True)
class TaperedRod:
    """A rod along the tilt axis whose radius changes linearly from one end to the other.

    Its cross-section at every slice ``x_start <= x <= x_end`` is a disc centred on ``(y, z)``
    of radius ``radius_start + (radius_end - radius_start)·(x - x_start)/(x_end - x_start)``.
    ``radius_end = radius_start`` gives a cylinder; a small ``radius_end`` a needle tip.
    """

    x_start: float
    x_end: float
    radius_start: float
    radius_end: float
    y: float
    z: float
    density: float = 1.0

    def radius_at(self, x) -> np.ndarray:
        length = max(self.x_end - self.x_start, 1e-12)
        frac = (np.asarray(x, dtype=np.float64) - self.x_start) / length
        radius = self.radius_start + (self.radius_end - self.radius_start) * frac
        inside = (np.asarray(x) >= self.x_start) & (np.asarray(x) <= self.x_end)
        return np.where(inside, radius, 0.0)

    def footprint(self, geom: Geometry, theta: float):
        uc = float(geom.detector_u(self.y, self.z, theta))
        r = max(self.radius_start, self.radius_end)
        return (self.x_start, self.x_end, uc - r - 0.5, uc + r + 0.5), uc

    def line_integral(self, x, u, centre_u: float) -> np.ndarray:
        """Line integral at ``(x, u)``, averaged over ``u ± 1/2`` (one detector pixel)."""
        du = u - centre_u
        return self.density * _strip_integral(self.radius_at(x), du - 0.5, du + 0.5)

    def add_to_slices(self, volume: np.ndarray, geom: Geometry, x_slices: np.ndarray) -> None:
        radii = self.radius_at(x_slices)
        for j in np.nonzero(radii > 0)[0]:
            _disc_fill(volume[j], self.y, self.z, float(radii[j]), self.density)


Shape = Sphere | TaperedRod


@dataclass(frozen=True)
class Phantom:
    """A 3D model: shapes in a volume of a given geometry."""

    geometry: Geometry
    shapes: tuple

    @property
    def spheres(self) -> list[Sphere]:
        return [s for s in self.shapes if isinstance(s, Sphere)]

    def voxelize(self, x_slices=None, dtype=np.float32) -> np.ndarray:
        """The ground-truth volume ``(nx, thickness, ny)`` (or only the slices ``x_slices``).

        A full 600³ volume takes 864 MB in float32: pass ``x_slices`` (indices along the tilt
        axis) to build only the slices you need.
        """
        geom = self.geometry
        xs = np.arange(geom.nx) if x_slices is None else np.atleast_1d(np.asarray(x_slices))
        if xs.dtype.kind not in "iu" or (xs < 0).any() or (xs >= geom.nx).any():
            raise InvalidIndexError(
                f"x_slices must be integer slice indices in [0, {geom.nx}); got {xs.tolist()[:8]}"
            )
        volume = np.zeros((xs.size, geom.thickness, geom.ny), dtype=dtype)
        for shape in self.shapes:
            shape.add_to_slices(volume, geom, xs.astype(np.float64))
        return volume
