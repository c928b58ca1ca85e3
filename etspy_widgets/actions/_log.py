"""The code log of a session: the initial data, the actions applied, undo and redo.

An [`ActionLog`][] keeps the initial namespace and, for every applied action,
the namespace after it (the engine's verbs return new objects, so this holds
references, not copies). Undo pops the last step onto a redo list; the script
is always the import line, the source line and the remaining actions, so it is
valid Python after any number of undos.
"""

from __future__ import annotations

import ast
import os
import sys
import threading
from dataclasses import dataclass

from .._script import IMPORT_LINE, NUMPY_LINE, write_notebook
from ..engine.atomic import atomic_path
from ..engine.signals import history_of, set_history
from ._action import Action, ActionError, Cancelled, execute, render, render_block

MEMORY_NOTE = (
    "# The data came from memory: define `stack` (a TomoStack) before running this script,\n"
    "# e.g. stack = etw.load(\"series.mrc\"), or pass it: etw.replay(code, stack=stack)."
)


def starts_from_source(lines) -> bool:
    """True when the first code line of ``lines`` obtains the data (``stack = etw.…``)."""
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    return first.startswith(("stack = etw.", "rec = etw."))


def package_namespace() -> dict:
    """The names a script sees: the package as ``etw`` and NumPy as ``np``.

    The package is the one this module belongs to, taken from ``sys.modules`` (it is
    always imported before its subpackages), not imported here: the actions sit below it.
    """
    import numpy

    return {"etw": sys.modules[__name__.split(".")[0]], "np": numpy}


def receiver_name(line: str) -> str | None:
    """The working variable (``stack``/``rec``) the assigned expression starts from, if any.

    ``stack = stack.isig[1:5, :]`` and ``rec = stack.reconstruct(...)`` both give
    ``"stack"``; ``stack = etw.load(...)`` gives None.
    """
    try:
        tree = ast.parse(line)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign):
        return None
    node = tree.body[0].value
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Name) and node.id in ("stack", "rec"):
        return node.id
    return None


def record(namespace: dict, before: dict, target: str, line: str) -> None:
    """After ``line`` assigned ``target``: its history is its receiver's plus ``line``.

    ``before`` is the namespace as it was before the line ran. The same rule is
    used by the workbench and by [`etspy_widgets.replay`][], so both leave the
    same history on the same results.
    """
    obj = namespace.get(target)
    if obj is None:
        return
    if history_of(obj)[-1:] == [line]:
        return  # the verb wrote this very line itself (the one writer, signals._history)
    receiver = receiver_name(line)
    base = history_of(before.get(receiver)) if receiver else []
    set_history(obj, [*base, line])


@dataclass
class Step:
    """One applied action and the working variables after it."""

    action: Action
    line: str
    state: dict


class ActionLog:
    """The log of a session; applies actions only by executing their logged line.

    Parameters
    ----------
    stack : TomoStack, optional
        The data in memory. Without it, ``source`` is executed to obtain it.
    source : str, optional
        A one-line expression that gives the data (``"etw.load('a.mrc')"``); it is the
        first line of the script. Without it the script notes that ``stack`` must be
        defined before it runs.
    """

    def __init__(self, stack=None, source: str | None = None, namespace: dict | None = None):
        self._lock = threading.RLock()
        self.source = Action.source(source, comment="How the tilt series was obtained") \
            if source is not None else None
        base = {**(package_namespace() if namespace is None else namespace),
                "stack": stack, "rec": None}
        if stack is None:
            if self.source is None:
                raise ActionError(
                    "Give the data: a TomoStack, or source='etw.load(\"series.mrc\")'."
                )
            line = render(self.source)
            before = dict(base)
            execute(self.source, base)
            record(base, before, "stack", line)
        self._initial = base
        self._steps: list[Step] = []
        self._redo: list[Step] = []
        # a stack that knows its source (etw.load, a dataset) starts the script itself
        self.origin = history_of(stack) if (self.source is None
                                            and starts_from_source(history_of(stack))) else []

    # -- state ---------------------------------------------------------------
    @property
    def state(self) -> dict:
        """The working variables now (``etw``, ``stack``, ``rec``)."""
        with self._lock:
            return self._steps[-1].state if self._steps else self._initial

    @property
    def stack(self):
        """The current tilt series."""
        return self.state["stack"]

    @property
    def rec(self):
        """The latest reconstruction, or None."""
        return self.state["rec"]

    @property
    def actions(self) -> list[Action]:
        """The applied actions, oldest first (the source not included)."""
        with self._lock:
            return [step.action for step in self._steps]

    @property
    def can_undo(self) -> bool:
        return bool(self._steps)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- doing and undoing -----------------------------------------------------
    def apply(self, action: Action, controls: dict | None = None, cancel=None):
        """Execute ``action``'s line on the current state; log it; return its result.

        On an exception nothing is logged and the state is unchanged. ``cancel`` (a
        ``threading.Event``) set while the line ran discards the result
        ([`Cancelled`][]), for verbs that cannot stop early.
        """
        with self._lock:
            before = self.state
        namespace = dict(before)
        line = render(action)
        result = execute(action, namespace, controls)
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Cancelled: {line}")
        for key in ("stack", "rec"):
            if key != action.target and namespace.get(key) is not before.get(key):
                raise ActionError(f"The action {line!r} changed {key!r} as well.")
        if any(result is state.get(action.target)
               for state in [self._initial, *(s.state for s in self._steps)]):
            result = result.deepcopy()  # a verb that returned its input: keep states apart
            namespace[action.target] = result
        record(namespace, before, action.target, line)
        with self._lock:
            self._steps.append(Step(action, line, namespace))
            self._redo.clear()
        return result

    def undo(self) -> Action | None:
        """Remove the last action (kept for [`redo`][]); return it, or None."""
        with self._lock:
            if not self._steps:
                return None
            step = self._steps.pop()
            self._redo.append(step)
            return step.action

    def redo(self) -> Action | None:
        """Re-apply the last undone action (its stored result); return it, or None."""
        with self._lock:
            if not self._redo:
                return None
            step = self._redo.pop()
            self._steps.append(step)
            return step.action

    # -- the script ------------------------------------------------------------
    def lines(self) -> list[str]:
        """The code lines of the session (no comments, no import): source + actions."""
        with self._lock:
            first = [render(self.source)] if self.source is not None else \
                [ln for ln in self.origin if not ln.startswith("#")]
            return first + [step.line for step in self._steps]

    @property
    def code(self) -> str:
        """The session as a Python script: imports, how the data was obtained, one line
        per action."""
        with self._lock:
            out = [IMPORT_LINE, ""]
            if any("np." in line for line in self.lines()):
                out.insert(0, NUMPY_LINE)
            if self.source is not None:
                out += render_block(self.source)
            elif self.origin:
                out += ["# How the tilt series was obtained (its own history)", *self.origin]
            else:
                out.append(MEMORY_NOTE)
            out.append("")
            for step in self._steps:
                out += render_block(step.action)
        return "\n".join(out) + "\n"

    def to_notebook(self, path, overwrite: bool = True):
        """Write [`code`][] as a Jupyter notebook: one cell per step, comments as markdown.

        Written atomically; it runs top to bottom in a fresh kernel to the same arrays.
        """
        return write_notebook(self.code, path, overwrite)

    def export(self, path, overwrite: bool = True):
        """Write [`code`][] to ``path`` atomically (never a half-written file)."""
        text = self.code
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return os.fspath(path)


__all__ = ["IMPORT_LINE", "MEMORY_NOTE", "NUMPY_LINE", "ActionLog", "Step", "history_of",
           "package_namespace", "receiver_name", "record", "set_history"]
