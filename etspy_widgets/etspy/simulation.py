"""ETSpy's ``etspy.simulation`` (``etspy_widgets.engine.simulation``), seeded."""

from __future__ import annotations

from ..engine.simulation import (
    add_noise,
    create_catalyst_model,
    create_cylinder_model,
    create_model_tilt_series,
    misalign_stack,
)

__all__ = ["add_noise", "create_catalyst_model", "create_cylinder_model",
           "create_model_tilt_series", "misalign_stack"]
