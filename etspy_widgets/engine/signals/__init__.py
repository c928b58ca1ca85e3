"""Tomography signals: ``TomoStack`` (a tilt series) and ``RecStack`` (a volume).

The HyperSpy classes and their verbs, thin: each verb passes arrays down to the array
packages (``engine.align``, ``engine.recon``, ``engine.transform``, ``engine.filters``) and
puts results, tilts, shifts, metadata and one history line back (``_history``). Nothing
below this package imports it.

Modules: ``_tomostack`` (``TomoStack``, ``LazyTomoStack``), ``_recstack`` (``RecStack``,
``LazyRecStack``), ``_base`` (what both share: ``TomoTilts``/``TomoShifts``, the
``metadata.Tomography`` defaults, history, atomic ``save``, the registry of what higher
layers lend: ``register_extension``/``register_viewer``), ``_guards`` (slicing checks),
``_align_verbs`` / ``_recon_verbs`` / ``_common`` / ``_quality_verbs`` (the verbs),
``_rigid`` (alignment bookkeeping in ``metadata.Tomography``), ``_history`` (the history
lines).
"""

from ._base import TomoShifts, TomoTilts, extension, register_extension, register_viewer, viewer
from ._common import CommonStackMixin
from ._history import (
    RUNTIME_CONTROLS,
    SOURCES,
    VERBS,
    canonical_kwargs,
    canonical_line,
    history_of,
    records,
    set_history,
    source,
)
from ._recstack import LazyRecStack, RecStack
from ._rigid import get_rigid, set_crop, set_rigid
from ._tomostack import LazyTomoStack, TomoStack, as_tomostack

__all__ = [
    "RUNTIME_CONTROLS",
    "SOURCES",
    "VERBS",
    "CommonStackMixin",
    "LazyRecStack",
    "LazyTomoStack",
    "RecStack",
    "TomoShifts",
    "TomoStack",
    "TomoTilts",
    "as_tomostack",
    "canonical_kwargs",
    "canonical_line",
    "extension",
    "get_rigid",
    "history_of",
    "records",
    "register_extension",
    "register_viewer",
    "set_crop",
    "set_history",
    "set_rigid",
    "source",
    "viewer",
]
