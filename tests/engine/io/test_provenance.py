"""Every signal knows how it was made, from its source; replay checks the source files.

Ground truth: the same arrays. A history run in a fresh interpreter gives the stack it
describes; a workbench log opened on a dataset stack runs with no setup; a changed source
file is refused by name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from testpaths import ROOT

import etspy_widgets as etw
from etspy_widgets.actions import ActionLog, verbs
from etspy_widgets.replay import SourceChanged


def run_fresh(code: str, tmp_path: Path, out: str = "out.npz") -> dict:
    """Run ``code`` in a fresh interpreter; it saves arrays to ``out``; return them."""
    script = tmp_path / "run.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    with np.load(tmp_path / out) as npz:
        return dict(npz)


@pytest.fixture
def needle_path(data_dir):
    return Path(data_dir) / "HAADF.mrc"


def test_load_records_its_call_and_the_checksums(needle_path, tmp_path):
    local = tmp_path / "needle.mrc"
    shutil.copy(needle_path, local)
    shutil.copy(needle_path.with_suffix(".rawtlt"), tmp_path / "needle.rawtlt")
    stack = etw.load(local)
    assert stack.history[0] == f"stack = etw.load(filename={str(local)!r})"
    sources = stack.metadata.Tomography.sources
    assert [Path(s["path"]).name for s in sources] == ["needle.mrc", "needle.rawtlt"]
    import hashlib

    assert sources[0]["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    assert sources[0]["size"] == local.stat().st_size
    assert any(line.startswith("# source ") and "needle.rawtlt" in line
               for line in stack.history)


def test_dataset_slicing_and_verbs_form_a_script_that_runs_fresh(tmp_path):
    stack = etw.datasets.get_catalyst_data(misalign=True, seed=5, size=64, n_particles=6)
    stack = stack.isig[::2, ::2].inav[2:40]
    stack = stack.stack_register("PC").deepcopy()
    assert stack.history[0] == ("stack = etw.datasets.get_catalyst_data(misalign=True, "
                                "seed=5, size=64, n_particles=6)")
    assert stack.history[1:] == ["stack = stack.isig[::2, ::2]", "stack = stack.inav[2:40]",
                                 "stack = stack.stack_register(method='PC')"]
    code = "\n".join(["import numpy as np", "import etspy_widgets as etw", *stack.history,
                      "np.savez('out.npz', data=stack.data, tilts=stack.tilt_values, "
                      "shifts=stack.shift_values)"])
    got = run_fresh(code, tmp_path)
    np.testing.assert_array_equal(got["data"], stack.data)
    np.testing.assert_array_equal(got["tilts"], stack.tilt_values)
    np.testing.assert_array_equal(got["shifts"], stack.shift_values)


def test_a_bare_array_says_it_came_from_memory():
    stack = etw.TomoStack(np.zeros((3, 8, 8)), tilts=[-5, 0, 5])
    assert len(stack.history) == 1 and stack.history[0].startswith("# stack: data from memory")
    assert "etw.replay(code, stack=stack)" in stack.history[0]


@pytest.mark.slow
def test_workbench_log_runs_in_a_fresh_interpreter_with_no_setup(tmp_path):
    """Issue 14 §2: registration, a removed projection, manual shift and rotation, tilt-axis
    alignment and SIRT, from a dataset stack sliced in a cell above."""
    stack = etw.datasets.get_catalyst_data(misalign=True, seed=5, size=90,
                                           n_particles=8).isig[::3, ::3]
    log = ActionLog(stack=stack)
    for action in (verbs.register("PC"), verbs.remove_projections([4]),
                   verbs.manual(0.75, -0.4), verbs.tilt_align("CoM"),
                   verbs.reconstruct("SIRT", iterations=10)):
        log.apply(action)
    code = log.code
    assert "define `stack`" not in code
    assert "stack = etw.datasets.get_catalyst_data(" in code
    got = run_fresh(code + "\nimport numpy as np\nnp.savez('out.npz', data=stack.data, "
                    "tilts=stack.tilt_values, rec=rec.data)\n", tmp_path)
    np.testing.assert_array_equal(got["data"], log.stack.data)
    np.testing.assert_array_equal(got["tilts"], log.stack.tilt_values)
    np.testing.assert_allclose(got["rec"], log.rec.data, rtol=0, atol=1e-5)
    # and replay of the same code in-process (the grammar admits it) gives the same volume
    again = etw.replay(code)
    np.testing.assert_allclose(again.rec.data, log.rec.data, atol=1e-5)


def test_workbench_to_notebook_writes_the_log(tmp_path):
    import nbformat

    stack = etw.datasets.get_catalyst_data(misalign=True, seed=5, size=48, n_particles=4)
    wb = etw.AlignmentWorkbench(stack)
    try:
        wb.remove_projection(0)
        wb.wait()
        path = wb.to_notebook(tmp_path / "wb.ipynb")
        sources = [c.source for c in nbformat.read(path, as_version=4).cells]
        assert any("get_catalyst_data(" in s for s in sources)
        assert any(s == "stack = stack.remove_projections(projections=[0])" for s in sources)
    finally:
        wb.shutdown()


def test_replay_refuses_a_changed_source_file_by_name(needle_path, tmp_path):
    local = tmp_path / "series.mrc"
    shutil.copy(needle_path, local)
    shutil.copy(needle_path.with_suffix(".rawtlt"), tmp_path / "series.rawtlt")
    stack = etw.load(local).inav[:10]
    run = etw.replay(stack)
    assert all(rec["matches"] for rec in run.checked) and len(run.checked) == 2
    np.testing.assert_array_equal(run.stack.data, stack.data)
    raw = bytearray(local.read_bytes())
    raw[-1] ^= 0xFF  # one byte of the last projection
    local.write_bytes(bytes(raw))
    with pytest.raises(SourceChanged, match=r"series\.mrc"):
        etw.replay(stack)
    changed = etw.replay(stack, accept_changed=True)
    assert not changed.checked[0]["matches"]


def test_check_compares_with_the_stored_result(tmp_path):
    stack = etw.datasets.get_catalyst_data(misalign=True, seed=2, size=48, n_particles=4)
    reg = stack.stack_register("PC")
    ok = etw.replay(reg, check=True)
    np.testing.assert_array_equal(ok.stack.data, reg.data)
    tampered = reg.deepcopy()
    tampered.data = tampered.data + 1.0
    from etspy_widgets.replay import ReplayMismatch

    with pytest.raises(ReplayMismatch, match="differs"):
        etw.replay(tampered, check=True)


def test_saved_volume_knows_its_source_and_replays(tmp_path):
    stack = etw.datasets.get_catalyst_data(misalign=False, seed=1, size=48, n_particles=4)
    rec = stack.inav[::3].reconstruct("FBP")
    path = rec.save(tmp_path / "vol.hspy")
    loaded = etw.load(path)
    assert loaded.history[0].startswith("stack = etw.datasets.get_catalyst_data(")
    assert loaded.history[-1].startswith("rec = stack.reconstruct(")
    again = etw.replay(loaded, check=True)
    np.testing.assert_allclose(again.rec.data, rec.data, atol=1e-6)


def test_to_notebook_runs_in_a_fresh_kernel(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    stack = etw.datasets.get_catalyst_data(misalign=True, seed=4, size=48, n_particles=4)
    log = ActionLog(stack=stack)
    log.apply(verbs.register("PC"))
    log.apply(verbs.reconstruct("FBP"))
    path = log.to_notebook(tmp_path / "analysis.ipynb")
    nb = nbformat.read(path, as_version=4)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "code" and "import etspy_widgets as etw" in nb.cells[0].source
    assert "markdown" in kinds and sum(k == "code" for k in kinds) == 4
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np\nnp.save('rec.npy', rec.data)"))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    np.testing.assert_allclose(np.load(tmp_path / "rec.npy"), log.rec.data, atol=1e-6)
    assert json.loads(path.read_text())["nbformat"] == 4
