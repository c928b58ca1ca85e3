"""etspy-widgets: electron tomography for Jupyter.

ETSpy's engine (signals, I/O, alignment, reconstruction) on HyperSpy and ASTRA,
plus interactive widgets whose every action is also a line of Python.

>>> import etspy_widgets as etw
>>> stack = etw.datasets.get_catalyst_data()          # doctest: +SKIP
>>> rec = stack.reconstruct("FBP")                     # doctest: +SKIP
"""

from . import datasets
from .engine import simulation
from .engine.enums import AlignmentMethod
from .engine.errors import (
    DataNotFoundError,
    InvalidDataError,
    InvalidTiltsError,
    MismatchedTiltError,
    TomoFileError,
    TomographyError,
    UnknownMethodError,
)
from .engine.io import load
from .engine.signals import RecStack, TomoShifts, TomoStack, TomoTilts, register_viewer
from .live import watch
from .replay import Replay, replay

__version__ = "0.1.0"

_WIDGETS = {  # loaded on first use, so engine-only code never imports a widget library
    "AlignmentWorkbench": "etspy_widgets.widgets.workbench",
    "VolumeView": "etspy_widgets.widgets.volume",
    "ConvergenceView": "etspy_widgets.widgets.convergence",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        import importlib

        return getattr(importlib.import_module(_WIDGETS[name]), name)
    raise AttributeError(f"module 'etspy_widgets' has no attribute {name!r}")


def _volume_view(rec, **kwargs):
    from .widgets.volume import VolumeView

    return VolumeView(rec, **kwargs)


register_viewer("volume", _volume_view)

__all__ = [
    "AlignmentMethod",
    "AlignmentWorkbench",
    "ConvergenceView",
    "DataNotFoundError",
    "InvalidDataError",
    "InvalidTiltsError",
    "MismatchedTiltError",
    "RecStack",
    "Replay",
    "TomoFileError",
    "TomoShifts",
    "TomoStack",
    "TomoTilts",
    "TomographyError",
    "UnknownMethodError",
    "VolumeView",
    "__version__",
    "datasets",
    "load",
    "replay",
    "simulation",
    "watch",
]
