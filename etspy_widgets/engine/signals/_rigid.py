"""Bookkeeping of applied alignment in ``metadata.Tomography`` (the signal side).

The arithmetic (``compose_rigid``) is in ``engine.transform``.

The canonical pipeline (``docs/conventions.md``) from the raw data is::

    raw --shifts (per projection)--> [crop to crop_bounds] --rotate tiltaxis about the
        centre, then shift (yshift, xshift)--> aligned

``metadata.Tomography`` holds ``shifts`` (TomoShifts), ``cropped`` and ``crop_bounds``,
``tiltaxis`` (degrees), ``yshift`` and ``xshift`` (pixels), all as applied.
"""

from __future__ import annotations


def get_rigid(metadata) -> tuple[float, float, float]:
    """``(tiltaxis, yshift, xshift)`` from ``metadata.Tomography`` (0 where missing)."""
    def val(key):
        v = metadata.get_item(f"Tomography.{key}", 0.0)
        return 0.0 if v is None else float(v)

    return val("tiltaxis"), val("yshift"), val("xshift")


def set_rigid(metadata, rigid) -> None:
    angle, y, x = rigid
    metadata.set_item("Tomography.tiltaxis", float(angle))
    metadata.set_item("Tomography.yshift", float(y))
    metadata.set_item("Tomography.xshift", float(x))


def set_crop(metadata, rows: slice, cols: slice) -> None:
    """Record that a stack was cropped to ``rows``, ``cols`` (``cropped``, ``crop_bounds``)."""
    metadata.set_item("Tomography.cropped", True)
    metadata.set_item("Tomography.crop_bounds", [rows.start, rows.stop, cols.start, cols.stop])


__all__ = ["get_rigid", "set_crop", "set_rigid"]
