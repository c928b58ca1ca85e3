"""The one writer of code lines: literals, calls and slices as public Python.

Every line of Python the project writes — a verb's history line, the workbench's code log,
the CLI's script, a replayed history — is produced here, so the same operation leaves the
same text whichever path ran it. Layer 0: imports nothing from the project but the errors.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .engine.atomic import atomic_path
from .engine.errors import TomographyError

#: The package import every script starts with.
IMPORT_LINE = "import etspy_widgets as etw"
#: The NumPy import, added when a line uses ``np.``.
NUMPY_LINE = "import numpy as np"


class ScriptError(TomographyError, ValueError):
    """A value or name that cannot be written as a line of public Python."""


class Code(str):
    """Source text written as it is (not quoted) by [`literal`][]: an expression the
    project itself composes, e.g. ``np.loadtxt('tilts.txt')``; never user text."""


def literal(value: Any) -> str:
    """Return Python source for ``value`` that evaluates back to an equal value.

    Floats use ``repr`` (shortest exact round trip), NumPy scalars and arrays are
    turned into Python numbers and lists, tuples stay tuples.

    Raises
    ------
    ScriptError
        For values with no exact literal (objects, NaN, infinities).
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if hasattr(value, "metadata") and hasattr(value, "data") and not isinstance(value, str):
        value = np.asarray(value.data).tolist()  # a TomoTilts/TomoShifts: its values
    if isinstance(value, os.PathLike):
        value = os.fspath(value)  # a path is written as the string it stands for
    if isinstance(value, Code):
        return str.__str__(value)
    if isinstance(value, str):
        return repr(str.__str__(value))  # a str enum (AlignmentMethod.PC) as its plain value
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScriptError(
                f"Cannot log the non-finite number {value!r}: give a finite value instead."
            )
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        items = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    if isinstance(value, dict):
        items = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, slice):
        return f"slice({literal(value.start)}, {literal(value.stop)}, {literal(value.step)})"
    raise ScriptError(
        f"Cannot write a value of type {type(value).__name__} ({value!r}) into the code log; "
        "use numbers, strings, booleans, None, lists or tuples."
    )


def call(function: str, kwargs: dict | None = None, args: tuple = ()) -> str:
    """``function(arg, ..., key=value, ...)`` with every value written by [`literal`][]."""
    parts = [literal(a) for a in args]
    parts += [f"{key}={literal(value)}" for key, value in (kwargs or {}).items()]
    return f"{function}({', '.join(parts)})"


def assign(target: str, expression: str) -> str:
    """``target = expression``."""
    return f"{target} = {expression}"


def verb_line(target: str, receiver: str, verb: str, kwargs: dict | None = None) -> str:
    """``target = receiver.verb(key=value, ...)``: the line of one verb call."""
    return assign(target, call(f"{receiver}.{verb}", kwargs))


def _index(item) -> str:
    if isinstance(item, slice):
        text = ":".join("" if v is None else literal(v)
                        for v in (item.start, item.stop))
        if item.step is not None:
            text += f":{literal(item.step)}"
        return text
    if item is Ellipsis:
        return "..."
    return literal(item)


def index_text(slices) -> str:
    """The text inside ``[...]`` for HyperSpy's ``isig``/``inav`` indices."""
    if not isinstance(slices, tuple):
        slices = (slices,)
    return ", ".join(_index(s) for s in slices)


def slice_line(target: str, receiver: str, kind: str, slices) -> str:
    """``target = receiver.isig[...]`` (``kind`` is ``"isig"`` or ``"inav"``)."""
    if kind not in ("isig", "inav"):
        raise ScriptError(f"kind must be 'isig' or 'inav'; got {kind!r}.")
    return assign(target, f"{receiver}.{kind}[{index_text(slices)}]")


def header(lines) -> list[str]:
    """The import lines a script of ``lines`` needs (NumPy only when a line uses ``np.``)."""
    lines = list(lines)
    out = [NUMPY_LINE] if any("np." in line for line in lines) else []
    return [*out, IMPORT_LINE]


def notebook_cells(code: str) -> list[tuple[str, str]]:
    """``(kind, text)`` cells of a log: the imports, then one code cell per step, with the
    comment lines above a step as a markdown cell."""
    cells, comments, imports = [], [], []
    for line in code.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("# ").rstrip())
            continue
        if line.startswith(("import ", "from ")):
            imports.append(line)
            continue
        if comments:
            cells.append(("markdown", "\n".join(comments)))
            comments = []
        cells.append(("code", line))
    head = [("code", "\n".join(imports))] if imports else []
    return head + cells + ([("markdown", "\n".join(comments))] if comments else [])


def write_notebook(code: str, path, overwrite: bool = True):
    """Write the script ``code`` as a notebook (see [`notebook_cells`][]), atomically."""
    from pathlib import Path

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(text) if kind == "code"
                else nbformat.v4.new_markdown_cell(text)
                for kind, text in notebook_cells(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        nbformat.write(nb, os.fspath(tmp))
    return path


__all__ = ["IMPORT_LINE", "NUMPY_LINE", "Code", "ScriptError", "assign", "call", "header",
           "index_text", "literal", "notebook_cells", "slice_line", "verb_line",
           "write_notebook"]
