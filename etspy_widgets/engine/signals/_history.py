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

from ..._script import ScriptError, assign, call, slice_line, verb_line

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


def canonical_kwargs(func, args: tuple = (), kwargs: dict | None = None, *,
                     method: bool = True, always=ALWAYS) -> dict:
    """The arguments of a call of ``func`` by name, defaults dropped (not those in ``always``).

    ``func`` is an unbound method (``method=True``: ``args`` are the positional arguments
    after ``self``) or a plain function. ``**kwargs`` of ``func`` are kept in the order
    given. Unknown keywords raise ``TypeError`` as the call itself would.
    """
    sig = inspect.signature(func)
    lead = (None,) if method else ()
    bound = sig.bind_partial(*lead, *args, **(kwargs or {}))
    out: dict = {}
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if method and name == "self":
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            for key, val in value.items():
                if key not in RUNTIME_CONTROLS:
                    out[key] = val
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL or name in RUNTIME_CONTROLS:
            continue
        if name not in always and param.default is not inspect.Parameter.empty \
                and _same(value, param.default):
            continue
        out[name] = value
    return out


def all_arguments(func, args: tuple = (), kwargs: dict | None = None) -> dict:
    """Every argument of a call of the method ``func``, defaults filled in."""
    bound = inspect.signature(func).bind(None, *args, **(kwargs or {}))
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != "self"}


def _written(wrapper, func, args, kwargs) -> dict:
    written = canonical_kwargs(func, args, kwargs)
    shape = getattr(wrapper, "_history_shape", None)
    return shape(written, all_arguments(func, args, kwargs)) if shape else written


def canonical_line(cls, verb: str, kwargs: dict, target: str | None = None,
                   receiver: str | None = None) -> str:
    """The history line of ``receiver.verb(**kwargs)`` on an instance of ``cls``."""
    wrapper = getattr(cls, verb)
    func = getattr(wrapper, "__wrapped__", wrapper)
    receiver = receiver or cls._history_name
    return verb_line(target or _target_of(wrapper, cls), receiver, verb,
                     _written(wrapper, func, (), kwargs))


def _target_of(wrapper, cls) -> str:
    return getattr(wrapper, "_history_target", None) or cls._history_name


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


def records(target: str | None = None, shape=None):
    """Decorate a verb so that its result records the call as one history line.

    ``target`` is the variable the line assigns (default: the result's own
    ``_history_name``, ``"stack"`` or ``"rec"``). ``shape(written, arguments)``, when
    given, adjusts the written keywords from all the call's arguments (e.g. a
    reconstruction writes ``iterations`` for an iterative method and never for FBP).
    """
    def deco(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            out = func(self, *args, **kwargs)
            try:
                written = _written(wrapper, func, args, kwargs)
                line = verb_line(target or getattr(out, "_history_name", "stack"),
                                 self._history_name, func.__name__, written)
            except ScriptError as err:
                line = (f"# {func.__name__}(...) was called with a value that cannot be "
                        f"written as code ({err}); this step cannot be replayed")
            set_history(out, [*history_of(self), line])
            return out

        wrapper._history_target = target
        wrapper._history_shape = shape
        wrapper.__wrapped__ = func
        VERBS.add(func.__name__)
        return wrapper

    return deco


#: The functions a script may call to obtain data, by the name it calls them with
#: (``"etw.load"``, ``"etw.datasets.get_catalyst_data"``): filled by [`source`][].
SOURCES: dict = {}
#: The verbs a script may call on a working variable: filled by [`records`][].
VERBS: set = {"isig", "inav", "deepcopy"}


def source(name: str, always=("seed",)):
    """Decorate a function that makes a signal from outside (a file, a simulation).

    The result's history starts with ``stack = <name>(...)`` in canonical keyword form
    (``always``: keywords written even at their default, e.g. the ``seed`` of a
    simulation). ``name`` is how a script calls it; replay runs only registered sources.
    """
    def deco(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            out = func(*args, **kwargs)
            if hasattr(out, "metadata") and hasattr(out, "_history_name"):
                written = canonical_kwargs(func, args, kwargs, method=False, always=always)
                try:
                    line = assign(out._history_name, call(name, written))
                except ScriptError as err:
                    line = (f"# {name}(...) was called with a value that cannot be written "
                            f"as code ({err}); supply the data to replay")
                set_history(out, [line])
            return out

        SOURCES[name] = wrapper
        return wrapper

    return deco


def record_slice(result, receiver, kind: str, slices) -> None:
    """After ``receiver.isig[...]``/``inav[...]``: the result's history gains that line."""
    if hasattr(result, "_history_name") and hasattr(result, "metadata"):
        try:
            line = slice_line(result._history_name, receiver._history_name, kind, slices)
        except ScriptError:
            line = f"# {receiver._history_name}.{kind}[...] with indices not writable as code"
        set_history(result, [*history_of(receiver), line])


def record_call(result, receiver, verb: str, kwargs: dict | None = None) -> None:
    """After ``receiver.verb(**kwargs)``: the result's history gains that line."""
    set_history(result, [*history_of(receiver),
                         verb_line(result._history_name, receiver._history_name, verb,
                                   kwargs or {})])


__all__ = [
    "ALWAYS",
    "RUNTIME_CONTROLS",
    "SOURCES",
    "VERBS",
    "canonical_kwargs",
    "canonical_line",
    "history_of",
    "record_call",
    "record_slice",
    "records",
    "set_history",
    "source",
]
