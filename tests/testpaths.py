"""Paths for the tests, wherever a test file sits under ``tests/`` (``from testpaths import
ROOT``); ``tests/conftest.py`` puts this folder on ``sys.path``."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent  # tests/
ROOT = TESTS.parent  # the repository
DATA = TESTS / "data"  # small files committed with the tests (not ETSpy's test data)
NOTEBOOKS = ROOT / "notebooks"
