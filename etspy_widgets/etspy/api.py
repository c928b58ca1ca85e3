"""ETSpy's ``etspy.api`` (the same names as ``etspy_widgets.api``)."""

from __future__ import annotations

from ..api import *  # noqa: F403 -- the same namespace
from ..api import __all__  # noqa: F401
