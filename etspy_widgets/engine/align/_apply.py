"""Bookkeeping of applied alignment: how a stack's transforms compose and replay.

The canonical pipeline (``docs/conventions.md``) from the raw data is::

    raw --shifts (per projection)--> [crop to crop_bounds] --rotate tiltaxis about the
        centre, then shift (yshift, xshift)--> aligned

``metadata.Tomography`` holds ``shifts`` (TomoShifts), ``cropped`` and ``crop_bounds``,
``tiltaxis`` (degrees), ``yshift`` and ``xshift`` (pixels), all as applied.
"""

from __future__ import annotations

import numpy as np


def compose_rigid(first: tuple[float, float, float], then: tuple[float, float, float]):
    """Compose two (angle, yshift, xshift) transforms about the same centre.

    Applying ``first`` then ``then`` equals applying the result once: angles add and the
    first translation is turned by the second angle.
    """
    a1, y1, x1 = first
    a2, y2, x2 = then
    t = np.deg2rad(a2)
    c, s = np.cos(t), np.sin(t)
    x = c * x1 - s * y1 + x2
    y = s * x1 + c * y1 + y2
    return float(a1 + a2), float(y), float(x)


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
