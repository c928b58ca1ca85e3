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
from .engine.signals import RecStack, TomoShifts, TomoStack, TomoTilts
from .live import _workbench, watch  # noqa: F401 - _workbench adds AlignmentWorkbench.watch
from .replay import Replay, replay
from .widgets.workbench import AlignmentWorkbench

__version__ = "0.1.0"

__all__ = [
    "AlignmentMethod",
    "AlignmentWorkbench",
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
    "__version__",
    "datasets",
    "load",
    "replay",
    "simulation",
    "watch",
]
