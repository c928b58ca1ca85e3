"""File input: ``load`` and the readers of what HyperSpy/RosettaSciIO do not cover.

>>> import etspy_widgets as etw
>>> stack = etw.load("HAADF.mrc")                 # doctest: +SKIP
>>> stack = etw.load("HAADF.mrc", tilts=angles)   # doctest: +SKIP

ETSpy's helpers by their names: ``load_serialem``, ``load_serialem_series``,
``get_mrc_tilts``, ``get_dm_tilts``, ``parse_mrc_header``. Writing for other programs
(IMOD, AreTomo, tomviz, OME-Zarr) and applying their alignments: ``export``.
"""

from ._etspy import (
    get_dm_tilts,
    get_mrc_tilts,
    load_serialem,
    load_serialem_series,
    parse_mrc_header,
)
from ._load import SUPPORTED, MissingFileError
from ._load import load as _load
from ._mdoc import Mdoc, find_mdoc, find_tilt_file, parse_mdoc, read_tilt_file
from ._mrc import MrcHeader, read_mrc_header, serialem_tilts
from ._sources import file_record, parse_source_comments, recorded_load, sha256_of
from .export import apply_alignment, save_alignment

#: ``load`` as users call it: it records its call and the checksums of the files it read.
load = recorded_load(_load)

__all__ = [
    "SUPPORTED",
    "Mdoc",
    "MissingFileError",
    "MrcHeader",
    "apply_alignment",
    "file_record",
    "find_mdoc",
    "find_tilt_file",
    "get_dm_tilts",
    "get_mrc_tilts",
    "load",
    "load_serialem",
    "load_serialem_series",
    "parse_mdoc",
    "parse_mrc_header",
    "parse_source_comments",
    "read_mrc_header",
    "read_tilt_file",
    "save_alignment",
    "serialem_tilts",
    "sha256_of",
]
