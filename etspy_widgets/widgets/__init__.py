"""Interactive widgets (anywidget, ipympl, ipyvolume): state in traitlets, numerics in engine.

``AlignmentWorkbench`` is imported at once; ``VolumeView`` (ipyvolume) and
``ConvergenceView`` (ipympl) when first used, so importing the package stays quick.
"""

from .workbench import AlignmentWorkbench

_LAZY = {"VolumeView": ".volume", "ConvergenceView": ".convergence"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AlignmentWorkbench", "ConvergenceView", "VolumeView"]
