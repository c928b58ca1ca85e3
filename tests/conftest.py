"""Shared fixtures: the real test data (skipped with a reason when absent) and small phantoms."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# the shared helpers (align_phantoms, recon_phantoms, hostile_fixtures, quality_faults,
# judging_fakes, testpaths) import by name from a test in any folder under tests/
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture(scope="session")
def data_dir():
    """Folder of ETSpy's published test data; tests that need it skip, saying why, without it."""
    from etspy_widgets.engine.datapath import data_folder
    from etspy_widgets.engine.errors import DataNotFoundError

    try:
        return data_folder("HAADF.mrc")
    except DataNotFoundError as err:
        pytest.skip(f"needs ETSpy's test data: {err}")
