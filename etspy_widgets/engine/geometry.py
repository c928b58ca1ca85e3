"""The parallel-beam geometry of every projector: one value object (tomosipo's pattern).

A slice is ``(thickness, n_det)`` (rows ``z``, columns ``y``), a sinogram
``(n_tilts, n_det)``; the volume pixel at column ``y``, row ``z`` meets the detector at
tilt ``θ`` at the coordinate

    u = (y − c) cos θ − (z − cz) sin θ + c,      c = (n_det − 1)/2,  cz = (thickness − 1)/2,

in detector-pixel units with pixel centres at integers (ASTRA's
``create_proj_geom("parallel", 1.0, n_det, deg2rad(tilts))`` with
``create_vol_geom((thickness, n_det))``, which is what ETSpy reconstructs with; measured in
``tests/engine/simulation/test_simulation.py``). [`detector_u`][] is that formula, written
once: the numba kernels call its compiled twin ``detector_u_jit``, the simulations call it
on arrays.
"""

from __future__ import annotations

from functools import cached_property

import numba
import numpy as np

from .errors import InvalidDataError


def detector_u(y, z, cos_t, sin_t, c, cz):  # noqa: PLR0917 - the formula's symbols
    """Detector coordinate of volume point(s) ``(y, z)`` (see the module docstring)."""
    return (y - c) * cos_t - (z - cz) * sin_t + c


#: ``detector_u`` compiled for the kernels (the same source).
detector_u_jit = numba.njit(inline="always")(detector_u)


class ParallelGeometry:
    """Tilts (degrees), detector width and slice thickness of a parallel-beam projection.

    Immutable and hashable (``key``); equal geometries share one cached projector.

    Parameters
    ----------
    tilts : array-like
        Tilt angles in degrees, one per projection.
    n_det : int
        Detector pixels across the tilt axis (the stack's ``ny``).
    thickness : int, optional
        Rows of a slice; default ``n_det``.
    """

    __slots__ = ("__dict__", "n_det", "thickness", "tilts")

    def __init__(self, tilts, n_det: int, thickness: int | None = None):
        tilts = np.array(tilts, dtype=np.float64).reshape(-1)
        n_det = int(n_det)
        thickness = n_det if thickness is None else int(thickness)
        if n_det < 1 or thickness < 1:
            raise InvalidDataError(
                f"thickness and n_det must be ≥ 1; got thickness={thickness}, n_det={n_det}.")
        if tilts.size < 1:
            raise InvalidDataError("A geometry needs at least one tilt angle (degrees).")
        tilts.setflags(write=False)
        object.__setattr__(self, "tilts", tilts)
        object.__setattr__(self, "n_det", n_det)
        object.__setattr__(self, "thickness", thickness)

    def __setattr__(self, name, value):
        if name in ("tilts", "n_det", "thickness"):
            raise AttributeError("ParallelGeometry is immutable; build a new one.")
        object.__setattr__(self, name, value)

    # -- sizes ---------------------------------------------------------------------
    @property
    def n_angles(self) -> int:
        return int(self.tilts.size)

    @property
    def vol_shape(self) -> tuple[int, int]:
        """``(thickness, n_det)``: one slice."""
        return (self.thickness, self.n_det)

    @property
    def sino_shape(self) -> tuple[int, int]:
        """``(n_tilts, n_det)``: one sinogram."""
        return (self.n_angles, self.n_det)

    @property
    def n_pix(self) -> int:
        return self.thickness * self.n_det

    @property
    def n_rays(self) -> int:
        return self.n_angles * self.n_det

    # -- the formula's constants ------------------------------------------------------
    @property
    def c(self) -> float:
        """Detector and slice-column centre ``(n_det − 1)/2``."""
        return (self.n_det - 1) / 2.0

    @property
    def cz(self) -> float:
        """Slice-row centre ``(thickness − 1)/2``."""
        return (self.thickness - 1) / 2.0

    @cached_property
    def trig(self) -> np.ndarray:
        """``(2, n_tilts)`` float64: ``cos θ`` and ``sin θ`` (the kernels' trig table)."""
        th = np.deg2rad(self.tilts)
        out = np.stack([np.cos(th), np.sin(th)])
        out.setflags(write=False)
        return out

    def detector_u(self, y, z, angle: int):
        """Detector coordinate of point(s) ``(y, z)`` at projection ``angle`` (an index)."""
        return detector_u(np.asarray(y, np.float64), np.asarray(z, np.float64),
                          self.trig[0, angle], self.trig[1, angle], self.c, self.cz)

    def subset(self, angles) -> ParallelGeometry:
        """The geometry of some of the projections (indices or a slice)."""
        return ParallelGeometry(self.tilts[angles], self.n_det, self.thickness)

    # -- identity ---------------------------------------------------------------------
    @cached_property
    def key(self) -> tuple:
        """What identifies the geometry: ``(n_det, thickness, tilts as float64 bytes)``."""
        return (self.n_det, self.thickness, self.tilts.tobytes())

    def __eq__(self, other) -> bool:
        return isinstance(other, ParallelGeometry) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return (f"ParallelGeometry({self.n_angles} tilts {self.tilts.min():g}..."
                f"{self.tilts.max():g}°, n_det={self.n_det}, thickness={self.thickness})")

    # -- ASTRA ------------------------------------------------------------------------
    def to_astra(self) -> tuple[dict, dict]:
        """``(proj_geom, vol_geom)``: ASTRA's description of the same geometry."""
        import astra

        proj_geom = astra.create_proj_geom("parallel", 1.0, self.n_det, np.deg2rad(self.tilts))
        vol_geom = astra.create_vol_geom((self.thickness, self.n_det))
        return proj_geom, vol_geom


def as_geometry(geometry_or_tilts, n_det=None, thickness=None) -> ParallelGeometry:
    """A ``ParallelGeometry`` from one, or from ``(tilts, n_det, thickness)``."""
    if isinstance(geometry_or_tilts, ParallelGeometry):
        return geometry_or_tilts
    if n_det is None:
        raise InvalidDataError("n_det is needed with tilts (or pass a ParallelGeometry).")
    return ParallelGeometry(geometry_or_tilts, n_det, thickness)
