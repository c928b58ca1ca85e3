"""Re-run a code log: a script, a file, or the history stored in a saved result.

A log is data. Before anything runs, [`check_script`][] parses it against the grammar the
project writes — the package import (and NumPy's), assignments to the working variables
``stack``/``rec`` of a registered source (``etw.load``, ``etw.datasets.*``), of a recorded
verb of the signals, or of ``isig``/``inav`` slicing, with literal arguments — and refuses
anything else, naming the line. The files a history says it read (``# source`` lines) are
checked against their SHA-256 first. ``trusted=True`` runs a script as arbitrary Python:
only for code you wrote yourself.

>>> import etspy_widgets as etw
>>> run = etw.replay("analysis.py")          # doctest: +SKIP
>>> run.stack, run.rec                        # doctest: +SKIP
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._script import IMPORT_LINE, header, notebook_cells, write_notebook
from .actions._log import package_namespace, record
from .engine.errors import ArgumentTypeError, TomographyError
from .engine.io import parse_source_comments, sha256_of
from .engine.signals import SOURCES, VERBS
from .engine.validate import check_signal

#: The assignment targets a log may write.
WORKING = ("stack", "rec")
#: The imports a log may hold, as written.
IMPORTS = {"etspy_widgets": "etw", "numpy": "np"}
#: NumPy functions a log may use to build an argument (they read, never run code).
NUMPY_OK = ("array", "asarray", "arange", "linspace", "loadtxt", "deg2rad", "rad2deg")


class ReplayRefused(TomographyError, ValueError):
    """A log holds something outside the grammar the project writes; nothing was run."""


class SourceChanged(TomographyError, ValueError):
    """A file the history read has changed since (its SHA-256 differs); nothing was run."""


class ReplayMismatch(TomographyError, ValueError):
    """``check=True``: the recomputed result differs from the stored one."""


@dataclass
class Replay:
    """The outcome of [`replay`][]: the namespace the code ran in and its results."""

    namespace: dict
    code: str
    checked: list = field(default_factory=list)

    @property
    def stack(self):
        """The working tilt series (``stack`` in the script)."""
        return self.namespace.get("stack")

    @property
    def rec(self):
        """The latest reconstruction (``rec`` in the script), or None."""
        return self.namespace.get("rec")


# -- reading the input ----------------------------------------------------------------------
def _code_from(source_or_signal) -> str:
    if hasattr(source_or_signal, "metadata"):
        lines = [ln for ln in (getattr(source_or_signal, "history", []) or [])
                 if not ln.startswith(IMPORT_LINE)]
        if not [ln for ln in lines if ln.strip() and not ln.startswith("#")]:
            raise ReplayRefused(
                "This signal has no processing history (metadata.Tomography.history) to "
                "replay."
            )
        return "\n".join([*header(lines), *lines]) + "\n"
    if isinstance(source_or_signal, os.PathLike):
        return Path(source_or_signal).read_text(encoding="utf-8")
    if isinstance(source_or_signal, str):
        text = source_or_signal
        if "\n" not in text and text.rstrip().endswith(".py"):
            path = Path(text)
            if not path.is_file():
                raise FileNotFoundError(f"No script at {text!r} to replay.")
            return path.read_text(encoding="utf-8")
        return text
    raise ArgumentTypeError(
        "replay takes the code as a string, a path to a .py file, or a signal whose "
        f"history it re-runs; got {type(source_or_signal).__name__}."
    )


def _comments(code: str) -> list[str]:
    try:
        return [tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError):
        return []


# -- the grammar ----------------------------------------------------------------------------
def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Checker:
    def __init__(self, code: str):
        self.code = code

    def refuse(self, node, what: str):
        line = getattr(node, "lineno", "?")
        text = ast.get_source_segment(self.code, node) or ""
        text = text if len(text) < 80 else text[:77] + "..."
        raise ReplayRefused(
            f"Line {line}: {what} ({text!r}). A replayed log may only import etspy_widgets "
            "as etw (and numpy as np), and assign to stack/rec a registered data source, a "
            "recorded verb or isig/inav slicing with literal arguments. If you wrote this "
            "script yourself and trust it, run it with trusted=True (CLI: --trust)."
        )

    def statement(self, node):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if IMPORTS.get(alias.name) != alias.asname:
                    self.refuse(node, f"the import of {alias.name!r} is not allowed")
            return
        if not isinstance(node, ast.Assign):
            self.refuse(node, f"a {type(node).__name__} statement is not allowed")
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) \
                or node.targets[0].id not in WORKING:
            self.refuse(node, "only assignments to stack or rec are allowed")
        self.working(node.value)

    def working(self, node):
        """An expression that yields a signal: a source call, a verb call, a slice."""
        if isinstance(node, ast.Name):
            if node.id not in WORKING:
                self.refuse(node, f"the name {node.id!r} is not a working variable")
            return
        if isinstance(node, ast.Subscript):
            target = node.value
            if not (isinstance(target, ast.Attribute) and target.attr in ("isig", "inav")):
                self.refuse(node, "only isig[...] and inav[...] may be indexed")
            self.working(target.value)
            self.index(node.slice)
            return
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in SOURCES:
                self.arguments(node)
                return
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in VERBS \
                    and not func.attr.startswith("_"):
                self.working(func.value)
                self.arguments(node)
                return
            self.refuse(node, f"{name or 'this call'} is not a data source or a recorded verb")
        self.refuse(node, f"a {type(node).__name__} expression is not allowed here")

    def arguments(self, call: ast.Call):
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                self.refuse(arg, "*arguments are not allowed")
            self.value(arg)
        for kw in call.keywords:
            if kw.arg is None or kw.arg.startswith("_"):
                self.refuse(call, "**arguments and private keywords are not allowed")
            self.value(kw.value)

    def index(self, node):
        if isinstance(node, ast.Tuple):
            for item in node.elts:
                self.index(item)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.value(part)
        else:
            self.value(node)

    def value(self, node):
        """A literal argument: numbers, strings, None/True/False, containers of those, or a
        NumPy constructor of literals."""
        if isinstance(node, ast.Constant):
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.value(node.operand)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for item in node.elts:
                self.value(item)
            return
        if isinstance(node, ast.Dict):
            for key, val in zip(node.keys, node.values, strict=True):
                if key is None:
                    self.refuse(node, "**mapping unpacking is not allowed")
                self.value(key)
                self.value(val)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "np" \
                and node.func.attr in NUMPY_OK:
            self.arguments(node)
            return
        self.refuse(node, f"an argument must be a literal, not a {type(node).__name__}")


def check_script(code: str) -> ast.Module:
    """Parse ``code`` and check every statement against the log grammar.

    Raises
    ------
    ReplayRefused
        Naming the first line that is not valid Python or not in the grammar.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise ReplayRefused(f"Line {err.lineno}: the code to replay is not valid Python "
                            f"({err.msg}).") from None
    checker = _Checker(code)
    for node in tree.body:
        checker.statement(node)
    return tree


def check_sources(code: str, extra=(), accept_changed: bool = False) -> list[dict]:
    """Compare the files named by the log's ``# source`` lines with their SHA-256.

    Returns the records checked. Raises [`SourceChanged`][] for a file whose size or
    checksum differs, unless ``accept_changed``. A file that is missing is left to the
    load that reads it (which says so).
    """
    records = parse_source_comments(_comments(code)) + list(extra)
    checked, seen = [], set()
    for rec in records:
        if rec["path"] in seen:
            continue
        seen.add(rec["path"])
        path = Path(rec["path"]).expanduser()
        if not path.is_file():
            continue
        now = {"size": int(path.stat().st_size)}
        now["sha256"] = sha256_of(path) if now["size"] == rec["size"] else None
        if now["sha256"] != rec["sha256"] and not accept_changed:
            digest = f", sha256 {now['sha256'][:12]}…" if now["sha256"] else ""
            raise SourceChanged(
                f"The file {rec['path']} has changed since this history was written "
                f"(was {rec['size']} bytes, sha256 {rec['sha256'][:12]}…; now "
                f"{now['size']} bytes{digest}). Replay it anyway with accept_changed=True "
                "(CLI: --accept-changed)."
            )
        checked.append({**rec, "matches": now["sha256"] == rec["sha256"]})
    return checked


# -- running --------------------------------------------------------------------------------
def replay(source_or_signal, stack=None, namespace: dict | None = None, *,
           trusted: bool = False, accept_changed: bool = False, check: bool = False,
           rtol: float = 1e-5) -> Replay:
    """Run a code log in a fresh namespace and return what it produced.

    Statements run one at a time; after each one that assigns ``stack`` or ``rec``,
    its processing history is kept exactly as the engine wrote it.

    Parameters
    ----------
    source_or_signal : str, path or signal
        The script text, a path to a ``.py`` file, or a TomoStack/RecStack whose
        ``history`` is re-run.
    stack : TomoStack, optional
        The data, for a log that started from a stack in memory.
    namespace : dict, optional
        Extra names for the script (``trusted=True`` only).
    trusted : bool
        Run the script as arbitrary Python, without the grammar check. **This runs code:**
        only for scripts you wrote or read yourself.
    accept_changed : bool
        Replay even when a source file's checksum differs from the one recorded.
    check : bool
        With a signal: compare the recomputed result with the signal's own data (raise
        [`ReplayMismatch`][] when they differ beyond ``rtol``).

    Raises
    ------
    ReplayRefused
        The log holds something outside the grammar (nothing was run).
    SourceChanged
        A source file changed since the history was written (nothing was run).
    """
    code = _code_from(source_or_signal)
    if namespace and not trusted:
        raise ReplayRefused("namespace= extends what a script can reach; pass trusted=True "
                            "to use it (only for a script you trust).")
    tree = ast.parse(code) if trusted else check_script(code)
    stored = []
    if hasattr(source_or_signal, "metadata"):
        stored = list(source_or_signal.metadata.get_item("Tomography.sources", []) or [])
    checked = check_sources(code, stored, accept_changed)
    ns: dict = {"__name__": "__replay__", **package_namespace(), "rec": None}
    if not trusted:
        ns["__builtins__"] = {}  # a second wall: the grammar already admits no names
    if stack is not None:
        check_signal("stack", stack)
        ns["stack"] = stack
    ns.update(namespace or {})
    for node in tree.body:
        if not trusted and isinstance(node, ast.Import):
            continue  # the two allowed imports are in the namespace already
        before = dict(ns)
        exec(compile(ast.Module([node], []), "<replay>", "exec"), ns)
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in WORKING:
                record(ns, before, target.id, ast.get_source_segment(code, node))
    result = Replay(ns, code, checked)
    if check:
        _compare(source_or_signal, result, rtol)
    return result


def _compare(signal, result: Replay, rtol: float) -> None:
    if not hasattr(signal, "metadata"):
        raise ReplayRefused("check=True compares with a stored result: give a signal.")
    name = getattr(signal, "_history_name", "stack")
    new = result.namespace.get(name)
    if new is None:
        raise ReplayMismatch(f"The replayed history defines no {name!r} to compare.")
    a, b = np.asarray(signal.data, dtype=np.float64), np.asarray(new.data, dtype=np.float64)
    if a.shape != b.shape:
        raise ReplayMismatch(f"The replayed {name} has shape {b.shape}; the stored one "
                             f"{a.shape}.")
    scale = max(float(np.abs(a).max()), 1e-30)
    err = float(np.abs(a - b).max()) / scale
    if err > rtol:
        raise ReplayMismatch(f"The replayed {name} differs from the stored one by {err:.2e} "
                             f"(relative to its maximum; allowed {rtol:.0e}).")


# -- handing the script on ------------------------------------------------------------------
def to_notebook(source_or_signal, path, overwrite: bool = True) -> Path:
    """Write a log (script, ``.py`` file or a signal's history) as a Jupyter notebook.

    One code cell per step, its comment as markdown above; written atomically. The
    notebook runs top to bottom in a fresh kernel to the same arrays.
    """
    return write_notebook(_code_from(source_or_signal), path, overwrite)


__all__ = ["Replay", "ReplayMismatch", "ReplayRefused", "SourceChanged", "check_script",
           "check_sources", "notebook_cells", "replay", "to_notebook"]
