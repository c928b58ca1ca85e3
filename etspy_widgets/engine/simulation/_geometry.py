"""Projection geometry of the simulations: ASTRA's 2D parallel beam, one slice per column.

Coordinates (all in pixels, index units, pixel centres at integers):

* the volume is ``(nx, thickness, ny)``; a point is ``(x, y, z)`` with ``x`` the slice index
  (along the tilt axis), ``y`` the column of a slice and ``z`` its row (through the thickness);
* a projection is ``(ny, nx)``; a detector point is ``(x, u)`` with ``u`` the row.

ASTRA's ``create_proj_geom("parallel", 1.0, ny, deg2rad(tilts))`` with
``create_vol_geom((thickness, ny))`` sends the point ``(y, z)`` of a slice to the detector row
``u`` of ``engine.geometry.detector_u`` (the one copy of the formula; measured: a single
bright voxel projected by ASTRA, see ``tests/engine/simulation/test_simulation.py``).

Misalignment maps a point ``p = (x, u)`` of the aligned projection to the point ``p'`` of the
misaligned one where the same feature appears::

    p' = c + R(φ) (p + (0, t) - c) + (dx_i, dy_i)

``t`` is the tilt-axis shift (across the axis, along ``u``), ``φ`` the tilt-axis rotation in
degrees (``R(φ) = [[cos φ, -sin φ], [sin φ, cos φ]]`` acting on ``(x, u)``: with ``u``
pointing down the image, a positive ``φ`` turns the axis clockwise as displayed, as
``scipy.ndimage.rotate(image, -φ)`` does, which is what ETSpy's ``misalign_stack`` applies),
``c = ((nx - 1) / 2, (ny - 1) / 2)`` the image centre, and ``(dy_i, dx_i)`` the shift of
projection ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, check_method
from ..geometry import ParallelGeometry, detector_u


@dataclass(frozen=True)
class Geometry:
    """Size of the simulated volume and of its projections.

    Parameters
    ----------
    nx : int
        Number of slices (columns of a projection, along the tilt axis).
    ny : int
        Width of a slice across the tilt axis (rows of a projection, detector pixels).
    thickness : int
        Height of a slice (along the beam at 0°).
    """

    nx: int
    ny: int
    thickness: int

    @property
    def cx(self) -> float:
        return (self.nx - 1) / 2.0

    @property
    def cy(self) -> float:
        return (self.ny - 1) / 2.0

    @property
    def cz(self) -> float:
        return (self.thickness - 1) / 2.0

    @property
    def volume_shape(self) -> tuple[int, int, int]:
        """``(nx, thickness, ny)``, the shape of a reconstruction."""
        return (self.nx, self.thickness, self.ny)

    @property
    def projection_shape(self) -> tuple[int, int]:
        """``(ny, nx)``, the shape of one projection."""
        return (self.ny, self.nx)

    def detector_u(self, y, z, theta_rad):
        """Detector row of volume point(s) ``(y, z)`` at tilt ``theta_rad`` (ASTRA's;
        the formula of ``engine.geometry.detector_u``)."""
        return detector_u(np.asarray(y, dtype=np.float64), np.asarray(z, dtype=np.float64),
                          np.cos(theta_rad), np.sin(theta_rad), self.cy, self.cz)

    def parallel(self, tilts) -> ParallelGeometry:
        """The projection geometry of one slice at ``tilts`` (degrees)."""
        return ParallelGeometry(tilts, self.ny, self.thickness)


@dataclass(frozen=True)
class Misalignment:
    """Known misalignment of a tilt series (see the module docstring for the model).

    Parameters
    ----------
    shifts : numpy.ndarray
        ``(n, 2)`` per-projection shifts ``(dy, dx)`` in pixels: a feature at ``(y0, x0)`` in
        the aligned projection appears at ``(y0 + dy, x0 + dx)``.
    tilt_shift : float
        Shift of the tilt axis across itself (along y), in pixels, applied to every projection.
    tilt_rotation : float
        In-plane rotation of every projection, in degrees (positive = clockwise as displayed
        with y pointing down, i.e. the tilt axis runs along ``(cos φ, sin φ)`` in ``(x, y)``).
    """

    shifts: np.ndarray
    tilt_shift: float = 0.0
    tilt_rotation: float = 0.0

    @classmethod
    def none(cls, n: int) -> Misalignment:
        """No misalignment for ``n`` projections."""
        return cls(np.zeros((n, 2)))

    @classmethod
    def random(cls, n: int, *, minshift: float = -5, maxshift: float = 5, tiltshift: float = 0,
               tiltrotate: float = 0, y_only: bool = False, seed=0) -> Misalignment:
        """Shifts drawn uniformly from ``[minshift, maxshift)`` with a seeded generator.

        ``y_only=True`` leaves x (along the axis) unshifted, as ETSpy's ``misalign_stack``.
        """
        if maxshift < minshift:
            raise InvalidArgumentError(
                f"maxshift ({maxshift}) is smaller than minshift ({minshift}); "
                "give minshift <= maxshift."
            )
        rng = np.random.default_rng(seed)
        shifts = rng.uniform(minshift, maxshift, size=(n, 2))
        if y_only:
            shifts[:, 1] = 0.0
        return cls(shifts, float(tiltshift), float(tiltrotate))

    @property
    def is_identity(self) -> bool:
        return (not np.any(self.shifts)) and self.tilt_shift == 0 and self.tilt_rotation == 0

    def _rotation(self, sign: float = 1.0) -> np.ndarray:
        phi = np.deg2rad(sign * self.tilt_rotation)
        return np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])

    def forward(self, i: int, x, u, geom: Geometry):
        """Where the aligned point(s) ``(x, u)`` of projection ``i`` appear once misaligned."""
        rot = self._rotation()
        px = np.asarray(x, dtype=np.float64) - geom.cx
        pu = np.asarray(u, dtype=np.float64) + self.tilt_shift - geom.cy
        dy, dx = self.shifts[i]
        return (geom.cx + rot[0, 0] * px + rot[0, 1] * pu + dx,
                geom.cy + rot[1, 0] * px + rot[1, 1] * pu + dy)

    def inverse(self, i: int, x, u, geom: Geometry):
        """The aligned point(s) that appear at ``(x, u)`` in misaligned projection ``i``."""
        rot = self._rotation(-1.0)
        dy, dx = self.shifts[i]
        px = np.asarray(x, dtype=np.float64) - dx - geom.cx
        pu = np.asarray(u, dtype=np.float64) - dy - geom.cy
        return (geom.cx + rot[0, 0] * px + rot[0, 1] * pu,
                geom.cy + rot[1, 0] * px + rot[1, 1] * pu - self.tilt_shift)


def add_noise_array(data: np.ndarray, noise_factor: float, kind: str = "gaussian",
              seed=0) -> np.ndarray:
    """Return ``data`` with seeded noise whose size is set by ``noise_factor``.

    ``"gaussian"``: zero-mean Gaussian noise of standard deviation ``noise_factor`` times the
    mean of ``data`` (ETSpy's scale, without ETSpy's added offset and rescaling).
    ``"poisson"``: shot noise, ``Poisson(k·data)/k`` with ``k = 1/(noise_factor²·mean)`` so that
    the relative standard deviation at the mean intensity is ``noise_factor``.
    Both keep the mean; negative values from Gaussian noise are kept (no clipping, no bias).
    """
    kind = check_method("noise type", kind, ["gaussian", "poisson"])
    if not noise_factor >= 0:
        raise InvalidArgumentError(f"noise_factor must be >= 0; got {noise_factor}.")
    rng = np.random.default_rng(seed)
    mean = float(np.mean(data))
    if noise_factor == 0 or mean == 0:
        return data.copy()
    if kind == "gaussian":
        noise = rng.normal(0.0, noise_factor * mean, size=data.shape)
        return (data + noise).astype(data.dtype, copy=False)
    k = 1.0 / (noise_factor**2 * mean)
    return (rng.poisson(np.clip(data, 0, None) * k) / k).astype(data.dtype, copy=False)
