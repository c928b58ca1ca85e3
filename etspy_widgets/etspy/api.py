"""ETSpy's ``etspy.api``: the namespace of ``import etspy.api as etspy`` (also
``etspy_widgets.api``)."""


from __future__ import annotations

import logging
from pathlib import Path as _Path

from ..engine import transform
from ..engine.enums import AlignmentMethod, AlignmentMethodType, FbpMethodType, ReconMethodType
from ..engine.io import load
from ..engine.signals import RecStack, TomoStack
from . import align, datasets, io, projmatch, recon, simulation, utils, visualize

logger = logging.getLogger(__name__)


etspy_path = _Path(__file__).parents[1]  # the etspy_widgets package folder

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
