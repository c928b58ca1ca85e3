"""Re-run a code log: a script, a file, or the history stored in a saved result.

>>> import etspy_widgets as etw
>>> run = etw.replay("analysis.py")          # doctest: +SKIP
>>> run.stack, run.rec                        # doctest: +SKIP
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from .actions import IMPORT_LINE
from .actions._log import NUMPY_LINE, package_namespace, record


@dataclass
class Replay:
    """The outcome of [`replay`][]: the namespace the code ran in and its results."""

    namespace: dict
    code: str

    @property
    def stack(self):
        """The working tilt series (``stack`` in the script)."""
        return self.namespace.get("stack")

    @property
    def rec(self):
        """The latest reconstruction (``rec`` in the script), or None."""
        return self.namespace.get("rec")


def _code_from(source_or_signal) -> str:
    if hasattr(source_or_signal, "metadata"):
        lines = list(getattr(source_or_signal, "history", []) or [])
        if not lines:
            raise ValueError(
                "This signal has no processing history (metadata.Tomography.history) to replay."
            )
        header = [NUMPY_LINE, IMPORT_LINE] if any("np." in ln for ln in lines) else [IMPORT_LINE]
        return "\n".join([*header, *lines]) + "\n"
    if isinstance(source_or_signal, os.PathLike):
        return Path(source_or_signal).read_text(encoding="utf-8")
    if isinstance(source_or_signal, str):
        text = source_or_signal
        looks_like_path = "\n" not in text and text.rstrip().endswith(".py")
        if looks_like_path:
            path = Path(text)
            if not path.is_file():
                raise FileNotFoundError(f"No script at {text!r} to replay.")
            return path.read_text(encoding="utf-8")
        return text
    raise TypeError(
        "replay takes the code as a string, a path to a .py file, or a signal whose "
        f"history it re-runs; got {type(source_or_signal).__name__}."
    )


def replay(source_or_signal, stack=None, namespace: dict | None = None) -> Replay:
    """Run a workbench code log in a fresh namespace and return what it produced.

    Statements run one at a time; after each one that assigns ``stack`` or ``rec``,
    its processing history is set exactly as the workbench sets it, so the replayed
    results carry the same ``metadata.Tomography.history``.

    Parameters
    ----------
    source_or_signal : str, path or signal
        The script text, a path to a ``.py`` file, or a TomoStack/RecStack whose
        ``history`` is re-run.
    stack : TomoStack, optional
        The data, for a log that started from a stack in memory.
    namespace : dict, optional
        Extra names for the script.

    Returns
    -------
    Replay
        With ``.namespace``, ``.stack`` and ``.rec``.
    """
    code = _code_from(source_or_signal)
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise SyntaxError(f"The code to replay is not valid Python: {err}") from err
    ns: dict = {"__name__": "__replay__", **package_namespace(), "rec": None}
    if stack is not None:
        ns["stack"] = stack
    ns.update(namespace or {})
    for node in tree.body:
        before = dict(ns)
        exec(compile(ast.Module([node], []), "<replay>", "exec"), ns)
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("stack", "rec"):
                record(ns, before, target.id, ast.get_source_segment(code, node))
    return Replay(ns, code)


__all__ = ["Replay", "replay"]
