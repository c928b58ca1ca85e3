"""Names-only stand-in for ``etspy`` (ETSpy 1.3.0): ``etspy.X`` is ``etspy_widgets.etspy.X``.

See ``tests/etspy_shim/README.md``. ``ETSPY_SHIM_TARGET`` names the package mapped onto
(default ``etspy_widgets.etspy``); ``ETSPY_SUITE_DIR`` the unpacked ETSpy ``etspy`` folder whose
``tests`` package is ``etspy.tests``.
"""

import importlib
import os
import sys

TARGET = os.environ.get("ETSPY_SHIM_TARGET", "etspy_widgets.etspy")
SUITE_DIR = os.environ.get("ETSPY_SUITE_DIR")
if SUITE_DIR:
    __path__.append(SUITE_DIR)  # the package's own __path__: etspy.tests is ETSpy's

_target = importlib.import_module(TARGET)
globals().update({k: v for k, v in vars(_target).items()
                  if not k.startswith("__") and k not in ("TARGET", "SUITE_DIR")})
__version__ = "1.3.0"


def alias(name: str) -> None:
    """Make the shim module ``etspy.<name>`` the module ``<TARGET>.<name>`` itself."""
    sys.modules[f"etspy.{name}"] = importlib.import_module(f"{TARGET}.{name}")
