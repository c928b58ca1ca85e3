"""ETSpy's namespace on etspy-widgets: ``import etspy_widgets.api as etspy``.

Code written against ``import etspy.api as etspy`` keeps working::

    import etspy_widgets.api as etspy

    stack = etspy.load("HAADF.mrc")
    stack = etspy.datasets.get_catalyst_data(misalign=True)
    reg = stack.stack_register("PC")
    rec = reg.reconstruct("SIRT", iterations=50)

``etspy_path`` is this package's folder (ETSpy's is its own); ETSpy's test data are found
with ``etspy_widgets.engine.datapath.data_folder`` instead.
"""

from __future__ import annotations

import logging
from pathlib import Path as _Path

from .engine import transform
from .engine.enums import AlignmentMethod, AlignmentMethodType, FbpMethodType, ReconMethodType
from .engine.io import load
from .engine.signals import RecStack, TomoStack
from .etspy import align, datasets, io, projmatch, recon, simulation, utils, visualize

logger = logging.getLogger(__name__)


etspy_path = _Path(__file__).parent

__all__ = [
    "AlignmentMethod",
    "AlignmentMethodType",
    "FbpMethodType",
    "RecStack",
    "ReconMethodType",
    "TomoStack",
    "align",
    "datasets",
    "etspy_path",
    "io",
    "load",
    "projmatch",
    "recon",
    "simulation",
    "transform",
    "utils",
    "visualize",
]
