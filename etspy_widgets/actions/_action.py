"""An action is data: a verb, its named arguments, and the variable its result goes to.

[`render`][] turns an action into one line of Python that calls the public API
(``stack = stack.stack_register(method="PC")``); [`execute`][] runs an action by
compiling *that very line* and executing it, so what the log says is what ran.
Run-time controls that do not change the result (a progress callback, a cancel
event) can be passed to [`execute`][]; they are added as extra keywords to the
call in the parsed line, never to the logged text.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .._script import ScriptError, literal, slice_line
from ..engine.errors import Cancelled
from ..engine.signals import RecStack, TomoStack, canonical_line

#: The class of each working variable: its verbs render through their own signatures.
_RECEIVERS = {"stack": TomoStack, "rec": RecStack}

#: Names a logged line may read: the package alias and the working variables.
SCRIPT_NAMES = ("etw", "stack", "rec")

_IDENT_OK = frozenset(SCRIPT_NAMES)


#: An action that cannot be written as a line of public Python (bad name or value).
ActionError = ScriptError


def _check_public(source: str, what: str) -> ast.Module:
    """Parse ``source`` and refuse private names (``_x``) or attributes."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ActionError(f"The {what} is not valid Python: {source!r} ({err.msg}).") from None
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.keyword):
            name = node.arg
        if name is not None and name.startswith("_"):
            raise ActionError(
                f"The {what} {source!r} uses the private name {name!r}; the code log may only "
                "call the public API."
            )
    return tree


@dataclass(frozen=True)
class Action:
    """One step of a session, as data.

    Parameters
    ----------
    verb : str
        The public method called on ``receiver`` (e.g. ``"stack_register"``), or, when
        ``receiver`` is ``None``, the expression assigned to ``target`` as written
        (the first action: how the data was obtained).
    kwargs : tuple of (name, value)
        Named arguments in the order they are written.
    target : str
        The variable the result is assigned to (``"stack"`` or ``"rec"``).
    receiver : str or None
        The variable whose method is called (``"stack"``).
    comment : str
        A short human description, written as a comment above the line.
    """

    verb: str
    kwargs: tuple = ()
    target: str = "stack"
    receiver: str | None = "stack"
    comment: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.target not in ("stack", "rec"):
            raise ActionError(f"An action assigns to 'stack' or 'rec', not {self.target!r}.")
        if self.receiver is not None:
            if self.receiver not in _IDENT_OK:
                raise ActionError(f"Unknown receiver {self.receiver!r}.")
            if not self.verb.isidentifier() or self.verb.startswith("_"):
                raise ActionError(
                    f"{self.verb!r} is not a public method name (private or invalid); the log "
                    "calls the public API only."
                )
        for key, _ in self.kwargs:
            if not str(key).isidentifier() or str(key).startswith("_"):
                raise ActionError(f"{key!r} is not a public keyword argument name (private or "
                                  "invalid).")
        render(self)  # fail now, not when the log is written

    @property
    def arguments(self) -> dict:
        """The named arguments as a dict."""
        return dict(self.kwargs)

    @classmethod
    def call(cls, verb: str, target: str = "stack", receiver: str = "stack",
             comment: str = "", **kwargs) -> Action:
        """An action calling ``receiver.verb(**kwargs)`` and assigning it to ``target``."""
        return cls(verb, tuple(kwargs.items()), target=target, receiver=receiver,
                   comment=comment)

    @classmethod
    def source(cls, expression: str, comment: str = "") -> Action:
        """The first action: ``stack = <expression>`` (e.g. a dataset or ``etw.load``)."""
        return cls(expression, (), target="stack", receiver=None, comment=comment)


def render(action: Action) -> str:
    """The single line of Python that performs ``action``."""
    if action.receiver is None:
        expression = action.verb.strip()
        if "\n" in expression:
            raise ActionError("The data source must be a one-line expression.")
        tree = _check_public(expression, "data source")
        body = tree.body
        if len(body) != 1 or not isinstance(body[0], ast.Expr):
            raise ActionError(
                f"The data source must be one expression such as "
                f"'etw.load(\"series.mrc\")', got {expression!r}."
            )
        return f"{action.target} = {expression}"
    if action.verb == "isig":  # cropping, with HyperSpy's public signal-space indexing
        kw = action.arguments

        def part(name):
            lo, hi = kw.get(name, (None, None))
            return slice(None if lo is None else int(lo), None if hi is None else int(hi))

        return slice_line(action.target, action.receiver, "isig", (part("x"), part("y")))
    cls = _RECEIVERS[action.receiver]
    if not hasattr(cls, action.verb):
        raise ActionError(f"{cls.__name__} has no verb {action.verb!r}.")
    try:
        return canonical_line(cls, action.verb, action.arguments, target=action.target,
                              receiver=action.receiver)
    except TypeError as err:
        raise ActionError(f"{cls.__name__}.{action.verb}: {err}") from None


def render_block(action: Action) -> list[str]:
    """The lines logged for ``action``: an optional ``# comment`` and the code line."""
    lines = [f"# {action.comment}"] if action.comment else []
    lines.append(render(action))
    return lines


def execute(action: Action, namespace: dict, controls: dict | None = None) -> Any:
    """Run ``action`` by executing its rendered line in ``namespace``; return the result.

    Parameters
    ----------
    action : Action
    namespace : dict
        Globals for the line (``etw``, ``stack``, ``rec``); the target is assigned there.
    controls : dict, optional
        Keyword arguments that steer the run without changing its result (progress
        callbacks, a cancel event). They are appended to the call of the parsed
        line; the logged line is unchanged.
    """
    line = render(action)
    tree = ast.parse(line)
    if controls:
        assign = tree.body[0]
        call = assign.value if isinstance(assign, ast.Assign) else None
        if not isinstance(call, ast.Call):
            raise ActionError(f"Run-time controls need a call, and {line!r} is not one.")
        for key, value in controls.items():
            slot = f"__control_{key}"
            namespace[slot] = value
            call.keywords.append(ast.keyword(arg=key, value=ast.Name(id=slot, ctx=ast.Load())))
        ast.fix_missing_locations(tree)
    try:
        exec(compile(tree, "<workbench action>", "exec"), namespace)
    finally:
        for key in controls or ():
            namespace.pop(f"__control_{key}", None)
    return namespace[action.target]


__all__ = ["SCRIPT_NAMES", "Action", "ActionError", "Cancelled", "execute", "literal", "render",
           "render_block"]
