"""Alignment: filters, stack registration, tilt-axis alignment, align_other, test_align.

:class:`AlignMixin` carries the verbs that :class:`~etspy_widgets.engine.signals.TomoStack`
exposes; the algorithms live in the private modules of this package and work on NumPy arrays.
"""


class AlignMixin:
    """Alignment verbs of a TomoStack (filled in by the alignment modules)."""
