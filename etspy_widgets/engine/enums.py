"""ETSpy's method enum and type aliases (``etspy.AlignmentMethod``, ``AlignmentMethodType``, ...).

``AlignmentMethod`` is a ``str`` enum, so a member can be passed wherever a method name is
taken: ``stack.stack_register(AlignmentMethod.PC)`` is ``stack.stack_register("PC")``.
Our methods accept more names than these (``"PM"``, ``"BP"``, ``"CGLS"``, ``"TV"``); the
aliases list ETSpy's, for type hints in code shared with ETSpy.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal


class AlignmentMethod(str, Enum):
    """Stack registration methods ETSpy names (``stack_register``'s ``method``)."""

    STACK_REG = "StackReg"
    PC = "PC"
    COM = "COM"
    COM_CL = "COM-CL"

    def __str__(self) -> str:  # the method name, as it is written in scripts and logs
        return self.value

    @classmethod
    def is_valid_value(cls, value) -> bool:
        """Whether ``value`` is one of the members' values (case-sensitive, as in ETSpy)."""
        return value in cls.values()

    @classmethod
    def values(cls) -> list[str]:
        """The members' values: ``["StackReg", "PC", "COM", "COM-CL"]``."""
        return [member.value for member in cls]


AlignmentMethodType = AlignmentMethod | Literal["PC", "COM", "COM-CL", "StackReg"]

FbpMethodType = Literal[
    "ram-lak", "shepp-logan", "cosine", "hamming", "hann", "none", "tukey", "lanczos",
    "triangular", "gaussian", "barlett-hann", "blackman", "nuttall", "blackman-harris",
    "blackman-nuttall", "flat-top", "kaiser", "parzen", "projection", "sinogram",
    "rprojection", "rsinogram",
]

ReconMethodType = Literal["FBP", "SIRT", "SART", "DART"]

__all__ = ["AlignmentMethod", "AlignmentMethodType", "FbpMethodType", "ReconMethodType"]
