"""ETSpy's ``etspy.io``: ``load`` and the format helpers (``etspy_widgets.engine.io``)."""

from __future__ import annotations

from hyperspy.io import load as hs_load

from ..engine.io import (
    get_dm_tilts,
    get_mrc_tilts,
    load_serialem,
    load_serialem_series,
    parse_mdoc,
    parse_mrc_header,
)
from ..engine.io import load as _engine_load  # the recorded load (provenance)
from ..engine.io._load import READER as _READER


def load(filename, tilts=None, mdocs=None, **kwargs):
    """ETSpy's ``etspy.io.load``: ``etspy_widgets.load``, reading through this module's
    ``hs_load`` (ETSpy's name for HyperSpy's reader, which code may replace)."""
    token = _READER.set(hs_load)
    try:
        return _engine_load(filename, tilts=tilts, mdocs=mdocs, **kwargs)
    finally:
        _READER.reset(token)


__all__ = ["get_dm_tilts", "get_mrc_tilts", "hs_load", "load", "load_serialem",
           "load_serialem_series", "parse_mdoc", "parse_mrc_header"]
