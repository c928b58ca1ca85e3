"""``etspy.api`` is ``etspy_widgets.etspy.api``'s names; ``etspy_path`` is the unpacked suite's
``etspy`` folder (ETSpy's tests read ``etspy_path / "tests" / "test_data"``)."""

import importlib
from pathlib import Path

from etspy import SUITE_DIR, TARGET

_api = importlib.import_module(f"{TARGET}.api")
globals().update({k: v for k, v in vars(_api).items() if not k.startswith("__")})
if SUITE_DIR:
    etspy_path = Path(SUITE_DIR)
