"""Where ETSpy's published test data live on this machine.

Searched in order: the folder named by ``ETSPY_WIDGETS_DATA``; ``shared/data/etspy-testdata``
beside the project's root (``../shared`` from a checkout); the user cache
(``$XDG_CACHE_HOME/etspy-widgets/etspy-testdata`` or ``~/.cache/...``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataNotFoundError

ENV_VAR = "ETSPY_WIDGETS_DATA"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def candidate_folders() -> list[Path]:
    """The folders searched for the test data, in order."""
    folders = []
    env = os.environ.get(ENV_VAR)
    if env:
        folders.append(Path(env).expanduser())
    folders.append(_PROJECT_ROOT.parent / "shared" / "data" / "etspy-testdata")
    folders.append(Path.cwd().parent / "shared" / "data" / "etspy-testdata")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folders.append(cache / "etspy-widgets" / "etspy-testdata")
    unique = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def data_folder(required: str = "HAADF.mrc") -> Path:
    """The first candidate folder that holds ``required``.

    Raises
    ------
    DataNotFoundError
        Naming every folder searched and how to point the package at the data.
    """
    for folder in candidate_folders():
        if (folder / required).exists():
            return folder
    searched = "\n  ".join(str(f) for f in candidate_folders())
    raise DataNotFoundError(
        f"ETSpy's test data ({required}) were not found. Searched:\n  {searched}\n"
        f"Put the files of ETSpy's published test data (etspy/tests/test_data) in one of these "
        f"folders, or set {ENV_VAR}=/path/to/etspy-testdata."
    )


def data_file(name: str) -> Path:
    """The path of one test-data file (``"HAADF.mrc"``, ``"DM_Series_Test/BF_001.dm3"``...)."""
    return data_folder(name) / name
