"""Shared fixtures: the real test data (skipped with a reason when absent) and small phantoms."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def data_dir():
    """Folder of ETSpy's published test data; tests that need it skip, saying why, without it."""
    from etspy_widgets.engine.datapath import data_folder
    from etspy_widgets.engine.errors import DataNotFoundError

    try:
        return data_folder("HAADF.mrc")
    except DataNotFoundError as err:
        pytest.skip(f"needs ETSpy's test data: {err}")
