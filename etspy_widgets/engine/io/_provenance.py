"""Provenance of reads and writes: the ``metadata.General.FileIO`` entries HyperSpy keeps.

HyperSpy records every ``load`` and ``save`` as ``General.FileIO.<k>`` (``operation``,
``io_plugin``, ``hyperspy_version``, ``timestamp``); our own readers and writers record
theirs the same way, naming the module that did the work, so a signal says where it came
from and where it went whatever wrote it.
"""

from __future__ import annotations

from datetime import datetime

import hyperspy


def record_io(signal, operation: str, io_plugin: str, filename=None) -> None:
    """Append one ``General.FileIO`` entry (as HyperSpy's load/save do) to ``signal``."""
    md = signal.metadata
    existing = md.get_item("General.FileIO", {})
    keys = existing.keys() if hasattr(existing, "keys") else []
    index = max([int(str(k).replace("Number_", "")) + 1 for k in keys] + [0])
    entry = {
        "operation": operation,
        "io_plugin": io_plugin,
        "hyperspy_version": hyperspy.__version__,
        "timestamp": datetime.now().astimezone().isoformat(),
    }
    if filename is not None:
        entry["filename"] = str(filename)
    md.set_item(f"General.FileIO.{index}", entry)


def last_io(signal) -> dict | None:
    """The newest ``General.FileIO`` entry of ``signal`` as a dict, or None."""
    node = signal.metadata.get_item("General.FileIO")
    if node is None:
        return None
    entries = node.as_dictionary()
    if not entries:
        return None
    key = max(entries, key=lambda k: int(str(k).replace("Number_", "")))
    return entries[key]
