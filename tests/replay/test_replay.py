"""The code log reproduces the workbench: every action type, replayed in a fresh interpreter.

A workbench on the simulated catalyst with misalignment performs every action type
through its traits and buttons; its code is then run in a new Python process twice
(as a plain script, and through ``etw.replay``) and the arrays, tilts, shifts,
metadata and the reconstruction must equal the workbench's bit for bit (every step
here is deterministic).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.replay import ReplayRefused

SOURCE = ("etw.datasets.get_catalyst_data(misalign=True, seed=0, size=80, n_particles=8, "
          "tiltshift=2.0, tiltrotate=1.0)")

CHILD = textwrap.dedent("""
    import json, runpy, sys
    import numpy as np
    import etspy_widgets as etw

    def tomo_meta(sig):
        node = sig.metadata.Tomography.as_dictionary()
        node.pop("tilts", None); node.pop("shifts", None); node.pop("history", None)
        return json.loads(json.dumps(node, default=repr))

    path, out = sys.argv[1], sys.argv[2]
    plain = runpy.run_path(path)                     # the script as a user would run it
    run = etw.replay(path)                           # and through replay (keeps history)
    arrays, meta = {}, {}
    for name, ns in (("plain", plain), ("replay", run.namespace)):
        stack, rec = ns["stack"], ns["rec"]
        arrays[name + "_data"] = np.asarray(stack.data)
        arrays[name + "_tilts"] = stack.tilt_values
        arrays[name + "_shifts"] = stack.shift_values
        arrays[name + "_rec"] = np.asarray(rec.data)
        meta[name] = {"stack": tomo_meta(stack), "rec_shape": list(rec.data.shape),
                      "history": stack.history, "rec_history": rec.history}
    np.savez(out + ".npz", **arrays)
    with open(out + ".json", "w") as fh:
        json.dump(meta, fh)
""")


def tomo_meta(sig):
    node = sig.metadata.Tomography.as_dictionary()
    for key in ("tilts", "shifts", "history"):
        node.pop(key, None)
    return json.loads(json.dumps(node, default=repr))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A workbench that has done every action type, and the child process's results."""
    wb = etw.AlignmentWorkbench.from_source(SOURCE)
    wb.wait()
    # registration and tilt axis, from the buttons
    wb.set_state({"reg_method": "PC"})
    wb._on_front_message(wb, {"action": "register"}, [])
    wb.wait()
    wb.set_state({"tilt_method": "CoM"})
    wb._on_front_message(wb, {"action": "tilt_align"}, [])
    wb.wait()
    # a filter: the method here (with an option), the button in test_workbench
    wb.filter("median", size=3)
    # manual tilt axis: a drag of the sliders (many values, one settled) plus a nudge
    wb.set_state({"dragging": True})
    for value in np.linspace(0.0, 1.3, 14):
        wb.set_state({"tilt_shift": float(value)})
    for value in np.linspace(0.0, -0.45, 10):
        wb.set_state({"tilt_rotation": float(value)})
    wb.set_state({"dragging": False})
    wb.set_state({"tilt_index": 7})
    wb.set_state({"nudges": {"7": [0.5, -0.75]}})
    wb._on_front_message(wb, {"action": "apply_manual"}, [])
    wb.wait()
    # remove the projection shown, then one more that is undone
    wb.set_state({"tilt_index": 3})
    wb._on_front_message(wb, {"action": "remove_projection"}, [])
    wb.wait()
    wb._on_front_message(wb, {"action": "remove_projection", "index": 10}, [])
    wb.wait()
    wb._on_front_message(wb, {"action": "undo"}, [])
    wb._on_front_message(wb, {"action": "redo"}, [])
    wb._on_front_message(wb, {"action": "undo"}, [])
    # crop to the zoomed view
    wb.set_state({"view": [6.0, 4.0, 74.0, 76.0]})
    wb._on_front_message(wb, {"action": "crop"}, [])
    wb.wait()
    # reconstruct
    wb.set_state({"rec_method": "SIRT", "rec_iterations": 6})
    wb._on_front_message(wb, {"action": "reconstruct"}, [])
    wb.wait()
    assert wb.error == "", wb.last_traceback

    folder = tmp_path_factory.mktemp("replay")
    script = folder / "analysis.py"
    wb.export(script)
    child = folder / "child.py"
    child.write_text(CHILD)
    out = folder / "result"
    proc = subprocess.run([sys.executable, str(child), str(script), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=folder,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    arrays = dict(np.load(str(out) + ".npz"))
    meta = json.loads((folder / "result.json").read_text())
    yield wb, arrays, meta, script
    wb.shutdown()


def test_code_log_is_readable(session):
    _, _, _, script = session
    code = script.read_text()
    lines = [ln for ln in code.splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "import etspy_widgets as etw"
    assert lines[1] == f"stack = {SOURCE}"
    verbs = [ln.split("=", 1)[1].strip().split("(")[0].split("[")[0] for ln in lines[2:]]
    assert verbs == ["stack.stack_register", "stack.tilt_align", "stack.filter",
                     "stack.apply_shifts", "stack.trans_stack", "stack.remove_projections",
                     "stack.isig", "stack.reconstruct"]
    # the drag was coalesced: the settled values only
    assert "stack = stack.trans_stack(yshift=1.3, angle=-0.45)" in lines
    assert "projections=[3]" in code and "projections=[10]" not in code  # the undone one
    assert "import" not in "".join(lines[1:]) and "._" not in code
    assert lines[-1] == "rec = stack.reconstruct(method='SIRT', iterations=6)"


@pytest.mark.parametrize("how", ["plain", "replay"])
def test_fresh_interpreter_reproduces_the_workbench_bitwise(session, how):
    wb, arrays, meta, _ = session
    np.testing.assert_array_equal(arrays[f"{how}_data"], np.asarray(wb.stack.data))
    np.testing.assert_array_equal(arrays[f"{how}_tilts"], wb.stack.tilt_values)
    np.testing.assert_array_equal(arrays[f"{how}_shifts"], wb.stack.shift_values)
    np.testing.assert_array_equal(arrays[f"{how}_rec"], np.asarray(wb.rec.data))
    assert meta[how]["stack"] == tomo_meta(wb.stack)
    assert meta[how]["rec_shape"] == list(wb.rec.data.shape)


def test_replay_keeps_the_same_history(session):
    wb, _, meta, _ = session
    assert meta["replay"]["history"] == wb.stack.history
    assert meta["replay"]["rec_history"] == wb.rec.history
    assert wb.rec.history == wb.log.lines()  # the saved result says how it was made
    assert wb.rec.history[0] == f"stack = {SOURCE}"


def test_replay_from_a_saved_result(session, tmp_path):
    wb, arrays, _, _ = session
    path = wb.rec.save(tmp_path / "rec.hspy")
    loaded = etw.load(path)
    assert loaded.history == wb.rec.history
    run = etw.replay(loaded)
    np.testing.assert_array_equal(np.asarray(run.rec.data), arrays["replay_rec"])
    np.testing.assert_array_equal(np.asarray(run.stack.data), np.asarray(wb.stack.data))


def test_replay_of_a_log_that_started_in_memory():
    stack = etw.datasets.get_catalyst_data(misalign=True, seed=2, size=48, n_particles=4)
    stack = etw.TomoStack(stack.data.copy(), tilts=stack.tilt_values)  # a bare array
    wb = etw.AlignmentWorkbench(stack)
    wb.remove_projection(0)
    wb.crop(x=(2, 40))
    code = wb.code
    assert "define `stack`" in code
    with pytest.raises(NameError):
        etw.replay(code)
    run = etw.replay(code, stack=stack)
    assert run.stack.history[0].startswith("# stack: data from memory")
    np.testing.assert_array_equal(np.asarray(run.stack.data), np.asarray(wb.stack.data))
    assert run.stack.history == wb.stack.history
    wb.shutdown()


def test_replay_refuses_what_it_cannot_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="No script"):
        etw.replay(str(tmp_path / "missing.py"))
    with pytest.raises(TypeError, match="replay takes"):
        etw.replay(42)
    with pytest.raises(ValueError, match="no processing history"):
        etw.replay(etw.TomoStack(np.zeros((2, 4, 4)), tilts=[0, 1]))
    with pytest.raises(ReplayRefused, match="not valid Python"):
        etw.replay("stack = (")
