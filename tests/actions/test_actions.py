"""Actions as data: rendering to public Python, executing that very line, the log and undo."""

from __future__ import annotations

import ast
import threading

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.actions import (
    Action,
    ActionError,
    ActionLog,
    Cancelled,
    execute,
    literal,
    render,
    verbs,
)


@pytest.fixture
def stack():
    rng = np.random.default_rng(0)
    data = rng.random((9, 24, 20)).astype(np.float32)
    return etw.TomoStack(data, tilts=np.linspace(-60, 60, 9))


@pytest.mark.parametrize("value", [0, -3, 1.5, 0.1 + 0.2, 1e-300, 2**60, True, None, "PC",
                                   [1, 2.5], (3,), (1, 2), {"a": [1.0, 2.0]},
                                   np.float32(0.1), np.int64(7), np.array([[1.0, 2.0]])])
def test_literal_round_trips_exactly(value):
    src = literal(value)
    back = ast.literal_eval(src)
    expected = value.tolist() if isinstance(value, np.ndarray) else (
        value.item() if isinstance(value, np.generic) else value)
    assert back == expected
    assert type(back) is type(expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1, 2}])
def test_literal_refuses_values_without_exact_source(bad):
    with pytest.raises(ActionError, match="Cannot"):
        literal(bad)


def test_render_is_one_public_line_with_named_arguments():
    line = render(verbs.register("PC", start=3, upsample_factor=20))
    assert line == "stack = stack.stack_register(method='PC', start=3, upsample_factor=20)"
    assert render(verbs.reconstruct("SIRT", iterations=7)) == \
        "rec = stack.reconstruct(method='SIRT', iterations=7)"
    assert render(verbs.crop(x=(2, 10), y=(0, 5))) == "stack = stack.isig[2:10, 0:5]"
    assert render(verbs.manual(1.25, -0.5)) == \
        "stack = stack.trans_stack(yshift=1.25, angle=-0.5)"  # canonical: defaults dropped
    nudge = render(verbs.shift_projections({1: (0.5, -1.0)}, 3))
    assert nudge == "stack = stack.apply_shifts(shifts=[[0.0, 0.0], [0.5, -1.0], [0.0, 0.0]])"
    for action in (verbs.register("PC"), verbs.tilt_align("CoM"), verbs.remove_projections([1])):
        tree = ast.parse(render(action))
        assert len(tree.body) == 1
        call = tree.body[0].value
        assert not call.args  # named arguments only


def test_private_names_and_bad_sources_are_refused():
    with pytest.raises(ActionError, match="private"):
        Action.call("_secret")
    with pytest.raises(ActionError, match="private"):
        Action.source("etw._internal.load('a')")
    with pytest.raises(ActionError, match="private"):
        Action.call("stack_register", _hidden=1)
    with pytest.raises(ActionError, match="not valid Python"):
        Action.source("etw.load(")
    with pytest.raises(ActionError, match="one expression"):
        Action.source("x = 1")
    with pytest.raises(ActionError, match="'stack' or 'rec'"):
        Action.call("reconstruct", target="volume")
    with pytest.raises(ActionError, match="No projection shifts"):
        verbs.shift_projections({0: (0.0, 0.0)}, 3)
    with pytest.raises(ActionError, match="crop needs"):
        verbs.crop()


def test_execute_runs_the_rendered_line_and_controls_do_not_reach_the_log(stack):
    action = verbs.remove_projections([0, 4])
    ns = {"etw": etw, "stack": stack, "rec": None}
    out = execute(action, ns)
    assert ns["stack"] is out
    np.testing.assert_array_equal(out.data, np.delete(stack.data, [0, 4], axis=0))
    np.testing.assert_array_equal(out.tilt_values, np.delete(stack.tilt_values, [0, 4]))
    # a control keyword reaches the call (a bad one proves it is passed) ...
    with pytest.raises(TypeError, match="no_such_control"):
        execute(action, dict(ns, stack=stack), controls={"no_such_control": 1})
    # ... and never the logged text
    assert "control" not in render(action)


def test_log_undo_redo_and_the_script_stays_valid(stack):
    log = ActionLog(stack)
    assert log.code.startswith("import etspy_widgets as etw\n")
    log.apply(verbs.remove_projections([0]))
    log.apply(verbs.crop(x=(2, 18)))
    assert log.stack.data.shape == (8, 24, 16)
    assert log.undo() is not None
    assert log.stack.data.shape == (8, 24, 20)
    assert "isig" not in log.code
    compile(log.code, "<log>", "exec")  # still a valid script
    assert log.redo() is not None
    assert log.stack.data.shape == (8, 24, 16)
    log.undo()
    log.apply(verbs.remove_projections([1]))  # a new action clears redo
    assert not log.can_redo
    assert log.lines() == ["stack = stack.remove_projections(projections=[0])",
                           "stack = stack.remove_projections(projections=[1])"]
    assert [ln for ln in log.stack.history if not ln.startswith("#")] == log.lines()
    # the input stack was never changed
    assert stack.data.shape == (9, 24, 20)
    assert stack.history[0].startswith("# stack: data from memory")


def test_failed_or_cancelled_action_logs_nothing(stack):
    log = ActionLog(stack)
    with pytest.raises(IndexError):
        log.apply(verbs.remove_projections([99]))
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        log.apply(verbs.remove_projections([0]), cancel=event)
    assert log.actions == [] and log.stack is stack


def test_source_is_executed_and_logged():
    src = "etw.TomoStack([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], tilts=[0.0, 10.0])"
    log = ActionLog(source=src)
    assert log.stack.data.shape == (2, 2, 2)
    assert log.lines()[0] == f"stack = {src}"
    assert log.stack.history == [f"stack = {src}"]
    with pytest.raises(ActionError, match="Give the data"):
        ActionLog()


def test_export_is_atomic_and_complete(stack, tmp_path):
    log = ActionLog(stack)
    log.apply(verbs.remove_projections([3]))
    path = tmp_path / "analysis.py"
    log.export(path)
    assert path.read_text() == log.code
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]
    with pytest.raises(FileExistsError):
        log.export(path, overwrite=False)
