"""One writer of code and history: the same operation leaves the same line on every path.

A verb called directly, the same step applied by the workbench's action log, the CLI's
script and a replay of either all end with the same ``metadata.Tomography.history`` line,
written by ``etspy_widgets._script`` through ``engine.signals._history``.
"""

from __future__ import annotations

import argparse
import inspect

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import actions
from etspy_widgets._script import ScriptError, index_text, literal
from etspy_widgets.actions import ActionLog, render, verbs
from etspy_widgets.cli import build_reconstruct_script
from etspy_widgets.engine.signals import RUNTIME_CONTROLS, RecStack, TomoStack


@pytest.fixture(scope="module")
def series():
    return etw.datasets.get_catalyst_data(misalign=True, seed=3, size=48, n_particles=5)


def _factories():
    """Every action factory with arguments a user could give it."""
    return [
        verbs.register("PC", start=3, upsample_factor=20),
        verbs.register("COM"),
        verbs.tilt_align("CoM", nslices=8),
        verbs.filter_stack("median", size=3),
        verbs.manual(1.25, -0.5),
        verbs.shift_projections({2: (0.5, -1.0)}, 90),
        verbs.remove_projections([0, 4]),
        verbs.rebin((1, 2, 2)),
        verbs.reconstruct("SIRT", iterations=7, constrain=True),
        verbs.reconstruct("FBP", sino_filter="ram-lak"),
    ]


@pytest.mark.parametrize("action", _factories(), ids=lambda a: a.verb)
def test_every_logged_verb_and_keyword_exists_on_the_signals(action):
    cls = {"stack": TomoStack, "rec": RecStack}[action.receiver]
    method = getattr(cls, action.verb)
    sig = inspect.signature(getattr(method, "__wrapped__", method))
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for key in action.arguments:
        assert key in sig.parameters or takes_any, (action.verb, key)
        assert key not in RUNTIME_CONTROLS
    sig.bind(None, **action.arguments)  # the call binds as the log writes it


def test_every_factory_of_the_actions_module_is_covered():
    covered = {a.verb for a in _factories()} | {"isig"}
    public = [name for name in verbs.__all__]
    made = {getattr(verbs, name).__name__ for name in public}
    assert made == {"crop", "filter_stack", "manual", "rebin", "reconstruct", "register",
                    "remove_projections", "shift_projections", "tilt_align"}
    assert {"stack_register", "tilt_align", "filter", "trans_stack", "apply_shifts",
            "remove_projections", "rebin", "reconstruct"} <= covered


def test_unknown_keyword_is_refused_when_the_action_is_built():
    with pytest.raises(actions.ActionError, match="reconstruct"):
        verbs.reconstruct("FBP", iteratons=3)


@pytest.mark.parametrize("action", [a for a in _factories() if a.verb != "reconstruct"]
                         + [verbs.reconstruct("FBP", sino_filter="ram-lak")],
                         ids=lambda a: a.verb)
def test_direct_call_workbench_log_and_replay_write_the_same_line(series, action):
    stack = series.deepcopy()
    line = render(action)
    # 1. the direct call, as a user types it (positional where ETSpy users write them)
    direct = getattr(stack, action.verb)(**action.arguments)
    assert direct.history[-1] == line
    # 2. the workbench's path: the action log executes the rendered line
    log = ActionLog(stack=stack)
    logged = log.apply(action)
    assert logged.history[-1] == line
    assert log.lines()[-1] == line
    # 3. replay of the log's script in a fresh namespace, from the same data
    run = etw.replay(log.code, stack=stack)
    replayed = run.namespace[action.target]
    assert replayed.history[-1] == line
    np.testing.assert_array_equal(np.asarray(replayed.data), np.asarray(logged.data))


def test_positional_and_keyword_calls_record_one_canonical_line(series):
    a = series.stack_register("PC", 4)
    b = series.stack_register(method="PC", start=4, show_progressbar=False)
    c = series.stack_register("PC", start=4, shift_type="fourier")  # a default, dropped
    assert a.history[-1] == b.history[-1] == c.history[-1] == \
        "stack = stack.stack_register(method='PC', start=4)"


def test_verbs_inside_verbs_leave_one_line(series):
    out = series.stack_register("PC", crop=True)  # calls apply_shifts and shift_crop inside
    assert out.history[len(series.history):] == \
        ["stack = stack.stack_register(method='PC', crop=True)"]
    tilted = series.tilt_align("CoM")  # calls trans_stack inside
    assert tilted.history[len(series.history):] == \
        ["stack = stack.tilt_align(method='CoM')"]


def test_cli_script_steps_are_the_engine_lines(series, tmp_path):
    args = argparse.Namespace(input=str(tmp_path / "s.hspy"), tilts=None, lazy=False, bin=2,
                              register="PC", tilt_align="CoM", method="SIRT", iterations=4,
                              thickness=None, constrain=True, chunk_size=None, scheduler=None)
    lines = build_reconstruct_script(args)
    assert lines[0] == "import etspy_widgets as etw"
    assert lines[1].startswith("stack = etw.load(")
    assert lines[2:] == [render(verbs.rebin((1, 2, 2))), render(verbs.register("PC")),
                         render(verbs.tilt_align("CoM")),
                         render(verbs.reconstruct("SIRT", iterations=4, constrain=True))]
    series.save(tmp_path / "s.hspy")
    run = etw.replay("\n".join(lines))
    assert run.rec.history[-4:] == lines[2:]


def test_literal_round_trips_and_refuses_what_it_cannot_write():
    for value in (1, -2.5, 1e-17, "a'b", None, True, [1, 2.0], (3,), {"a": [1]},
                  np.float32(0.1), np.arange(3), etw.AlignmentMethod.PC):
        text = literal(value)
        back = eval(text)
        expect = np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
        if isinstance(value, np.generic):
            expect = value.item()
        assert back == expect, text
    assert literal(etw.AlignmentMethod.PC) == "'PC'"
    for bad in (float("nan"), float("inf"), object()):
        with pytest.raises(ScriptError):
            literal(bad)
    assert index_text((slice(None, None, 3), slice(2, 10))) == "::3, 2:10"
