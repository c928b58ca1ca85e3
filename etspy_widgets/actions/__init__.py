"""Actions: the verbs of a session as data, each written as one line of public Python.

The workbench performs an action only by executing the line it logs
([`execute`][]), so the code log and the widget's state cannot drift apart.

>>> from etspy_widgets.actions import Action, render
>>> render(Action.call("stack_register", method="PC"))
"stack = stack.stack_register(method='PC')"
"""

from . import _verbs as verbs
from ._action import (
    SCRIPT_NAMES,
    Action,
    ActionError,
    Cancelled,
    execute,
    literal,
    render,
    render_block,
)
from ._log import IMPORT_LINE, MEMORY_NOTE, ActionLog, history_of, record, set_history

__all__ = ["IMPORT_LINE", "MEMORY_NOTE", "SCRIPT_NAMES", "Action", "ActionError", "ActionLog",
           "Cancelled", "execute", "history_of", "literal", "record", "render", "render_block",
           "set_history", "verbs"]
