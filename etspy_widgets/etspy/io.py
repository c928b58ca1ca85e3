"""ETSpy's ``etspy.io``: ``load`` and the format helpers (``etspy_widgets.engine.io``)."""

from __future__ import annotations

from hyperspy.io import load as hs_load

from ..engine.io import _load as _engine_load
from ..engine.io import (
    get_dm_tilts,
    get_mrc_tilts,
    load_serialem,
    load_serialem_series,
    parse_mdoc,
    parse_mrc_header,
)


def load(filename, tilts=None, mdocs=None, **kwargs):
    """ETSpy's ``etspy.io.load``: ``etspy_widgets.load``, reading through this module's
    ``hs_load`` (ETSpy's name for HyperSpy's reader, which code may replace)."""
    token = _engine_load.READER.set(hs_load)
    try:
        return _engine_load.load(filename, tilts=tilts, mdocs=mdocs, **kwargs)
    finally:
        _engine_load.READER.reset(token)


__all__ = ["get_dm_tilts", "get_mrc_tilts", "hs_load", "load", "load_serialem",
           "load_serialem_series", "parse_mdoc", "parse_mrc_header"]
