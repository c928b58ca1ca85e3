"""How a signal records how it was made: one canonical line per verb call.

[`records`][] wraps a verb of ``TomoStack``/``RecStack``: after the verb returns, the
result's ``metadata.Tomography.history`` is the receiver's history plus one line written by
``etspy_widgets._script`` in canonical keyword form — every argument by name, those equal to
their default dropped (``method`` always written), run-time controls
([`RUNTIME_CONTROLS`][]) never written. Verbs called inside a verb leave no line of their
own: the outer verb's line replaces them. The workbench's actions render through
[`canonical_line`][] too, so a verb leaves the same line whichever path ran it.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from ..._script import ScriptError, verb_line

#: Keywords that steer a run without changing its result: never written into a script.
RUNTIME_CONTROLS = ("client", "cancel", "callbacks", "callback", "show_progressbar",
                    "progress", "cuda")
#: Keywords written even when equal to their default (they say what the line does).
ALWAYS = ("method",)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return (bool(a == b) and type(a) is type(b)) or (a is None and b is None)
    except (TypeError, ValueError):
        return False


def canonical_kwargs(func, args: tuple = (), kwargs: dict | None = None) -> dict:
    """The arguments of a call of ``func`` (an unbound method) by name, defaults dropped.

    ``args`` are the positional arguments after ``self``. ``**kwargs`` of ``func`` are kept
    in the order given. Unknown keywords raise ``TypeError`` as the call itself would.
    """
    sig = inspect.signature(func)
    bound = sig.bind_partial(None, *args, **(kwargs or {}))
    out: dict = {}
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name == "self":
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            for key, val in value.items():
                if key not in RUNTIME_CONTROLS:
                    out[key] = val
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL or name in RUNTIME_CONTROLS:
            continue
        if name not in ALWAYS and param.default is not inspect.Parameter.empty \
                and _same(value, param.default):
            continue
        out[name] = value
    return out


def canonical_line(cls, verb: str, kwargs: dict, target: str | None = None,
                   receiver: str | None = None) -> str:
    """The history line of ``receiver.verb(**kwargs)`` on an instance of ``cls``."""
    func = getattr(cls, verb)
    func = getattr(func, "__wrapped__", func)
    receiver = receiver or cls._history_name
    return verb_line(target or _target_of(func, cls), receiver, verb,
                     canonical_kwargs(func, (), kwargs))


def _target_of(func, cls) -> str:
    return getattr(func, "_history_target", None) or cls._history_name


def history_of(obj) -> list[str]:
    """The processing history of ``obj`` as a list of lines (empty when it has none)."""
    if not hasattr(obj, "metadata"):
        return []
    hist = obj.metadata.get_item("Tomography.history")
    return [str(line) for line in hist] if hist else []


def set_history(obj, lines) -> None:
    """Store ``lines`` as ``metadata.Tomography.history`` of ``obj``."""
    if hasattr(obj, "metadata"):
        obj.metadata.set_item("Tomography.history", [str(line) for line in lines])


def records(target: str | None = None):
    """Decorate a verb so that its result records the call as one history line.

    ``target`` is the variable the line assigns (default: the result's own
    ``_history_name``, ``"stack"`` or ``"rec"``).
    """
    def deco(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            out = func(self, *args, **kwargs)
            try:
                written = canonical_kwargs(func, args, kwargs)
                line = verb_line(target or getattr(out, "_history_name", "stack"),
                                 self._history_name, func.__name__, written)
            except ScriptError as err:
                line = (f"# {func.__name__}(...) was called with a value that cannot be "
                        f"written as code ({err}); this step cannot be replayed")
            set_history(out, [*history_of(self), line])
            return out

        wrapper._history_target = target
        wrapper.__wrapped__ = func
        return wrapper

    return deco


__all__ = ["ALWAYS", "RUNTIME_CONTROLS", "canonical_kwargs", "canonical_line", "history_of",
           "records", "set_history"]
