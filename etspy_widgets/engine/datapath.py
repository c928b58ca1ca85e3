"""Where ETSpy's published test data live on this machine.

Searched in order: the folder named by ``ETSPY_WIDGETS_DATA``; ``shared/data/etspy-testdata``
beside the project's root (``../shared`` from a checkout); the user cache
(``$XDG_CACHE_HOME/etspy-widgets/etspy-testdata`` or ``~/.cache/...``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataNotFoundError
from .testdata import FETCH_COMMAND, default_data_folder

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
    folders.append(default_data_folder())
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
        f"Run `{FETCH_COMMAND}` (or etspy_widgets.datasets.fetch_test_data() in Python) to "
        f"download them (ETSpy 1.3.0's wheel, 67 MB) into {default_data_folder()}, or set "
        f"{ENV_VAR}=/path/to/etspy-testdata."
    )


def data_file(name: str) -> Path:
    """The path of one test-data file (``"HAADF.mrc"``, ``"DM_Series_Test/BF_001.dm3"``...)."""
    return data_folder(name) / name
