"""ETSpy's ``etspy.transform``: ``calculate_rotation`` (ETSpy's name for the rotation of a
volume about its centre). ETSpy's ``VolumeRotator`` widget has no counterpart here:
``rec.rotate_volume(angles)``, ``rec.render()``."""

from __future__ import annotations

import numpy as np

from ..engine.visualize import rotation_matrix


def calculate_rotation(rotation_angles, volshape) -> tuple[np.ndarray, np.ndarray]:
    """The ``(3, 3)`` matrix and offset that rotate a volume of shape ``volshape`` about its
    centre by ``rotation_angles`` (degrees), for ``scipy.ndimage.affine_transform``."""
    matrix = rotation_matrix(rotation_angles)
    centre = (np.asarray(volshape, dtype=np.float64) - 1) / 2
    return matrix, centre - matrix @ centre


__all__ = ["calculate_rotation"]
