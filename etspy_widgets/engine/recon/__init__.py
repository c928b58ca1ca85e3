"""Reconstruction: projectors, BP/FBP/SIRT/SART/DART/CGLS/TV, recon_error and scale-out.

:class:`ReconMixin` carries the verbs of a TomoStack (``reconstruct``, ``recon_error``),
:class:`RecStackMixin` those of a RecStack (``forward_project``).
"""


class ReconMixin:
    """Reconstruction verbs of a TomoStack."""


class RecStackMixin:
    """Verbs of a reconstructed volume."""
