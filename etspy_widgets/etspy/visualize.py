"""ETSpy's ``etspy.visualize``. ETSpy's ``VolumeSlicer`` widget (``plot_3d``) has no
counterpart here: ``rec.plot_slices()`` (static), ``rec.render()`` (``VolumeView``). The
functions of ``etspy_widgets.engine.visualize`` are reachable here."""

from __future__ import annotations

from ..engine.visualize import (
    fourier_coverage,
    missing_wedge_angles,
    plot_missing_wedge,
    project_volume,
    rotate_volume,
    rotation_matrix,
)

__all__ = ["fourier_coverage", "missing_wedge_angles", "plot_missing_wedge", "project_volume",
           "rotate_volume", "rotation_matrix"]
