"""Simulated tilt series with known truth: analytic projections of spheres and rods.

The catalyst (a support sphere carrying small particles), a needle (a tapered rod with
particles) and a rod with off-axis particles are projected analytically (chord lengths) in
ASTRA's parallel-beam geometry as ETSpy uses it, and misaligned exactly (no interpolation):
per-projection shifts, a tilt-axis shift across the axis, a tilt-axis rotation, and noise.
Every call takes a seed. See ``docs/conventions.md`` (section Simulation) for the sign
conventions.

ETSpy's own functions (``create_catalyst_model``, ``create_cylinder_model``,
``create_model_tilt_series``, ``misalign_stack``, ``add_noise``) are here too, seeded.

>>> from etspy_widgets.engine import simulation as sim
>>> res = sim.simulate_catalyst(size=64, misalign=True, seed=1)
>>> res.stack.data.shape, res.shifts.shape
((90, 64, 64), (90, 2))
"""

from ._etspy import (
    add_noise,
    create_catalyst_model,
    create_cylinder_model,
    create_model_tilt_series,
    misalign_stack,
)
from ._geometry import Geometry, Misalignment, add_noise_array
from ._models import (
    CATALYST_TILTS,
    NEEDLE_TILTS,
    SimulatedSeries,
    catalyst_model,
    misalign,
    needle_model,
    rod_model,
    simulate,
    simulate_catalyst,
    simulate_needle,
    simulate_rod,
)
from ._project import project
from ._shapes import Phantom, Sphere, TaperedRod

__all__ = [
    "CATALYST_TILTS",
    "NEEDLE_TILTS",
    "Geometry",
    "Misalignment",
    "Phantom",
    "SimulatedSeries",
    "Sphere",
    "TaperedRod",
    "add_noise",
    "add_noise_array",
    "catalyst_model",
    "create_catalyst_model",
    "create_cylinder_model",
    "create_model_tilt_series",
    "misalign",
    "misalign_stack",
    "needle_model",
    "project",
    "rod_model",
    "simulate",
    "simulate_catalyst",
    "simulate_needle",
    "simulate_rod",
]
