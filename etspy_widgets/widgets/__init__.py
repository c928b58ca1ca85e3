"""Interactive widgets (anywidget, ipympl, ipyvolume): state in traitlets, numerics in engine."""

from .workbench import AlignmentWorkbench

__all__ = ["AlignmentWorkbench"]
