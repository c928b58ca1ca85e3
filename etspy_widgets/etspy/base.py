"""ETSpy's ``etspy.base``: the signals and their errors.

``CommonStack`` is the base both signals share (ETSpy's abstract ``CommonStack``):
``isinstance(stack, CommonStack)`` holds for a ``TomoStack`` and a ``RecStack``, and
``CommonStack(data)`` raises ``NotImplementedError`` as in ETSpy.
"""

from __future__ import annotations

from ..engine.errors import MismatchedTiltError
from ..engine.signals import CommonStackMixin as CommonStack
from ..engine.signals import RecStack, TomoShifts, TomoStack, TomoTilts

__all__ = ["CommonStack", "MismatchedTiltError", "RecStack", "TomoShifts", "TomoStack",
           "TomoTilts"]
