"""Replay is safe by construction: a log is data, parsed against the grammar the project
writes; anything else is refused, naming the line, and runs nothing.

Each hostile history tries to create a sentinel file; the test asserts the refusal, the
line it names, and that the sentinel was never written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from testpaths import ROOT

import etspy_widgets as etw
from etspy_widgets.replay import ReplayRefused, check_script

SOURCE = "stack = etw.datasets.get_catalyst_data(misalign=True, seed=1, size=32, n_particles=3)"


def hostile(sentinel: Path) -> list[str]:
    s = repr(str(sentinel))
    touch = f"open({s}, 'w').write('pwned')"
    return [
        f"__import__('os').system('touch ' + {s})",
        f"stack = __import__('os').system('touch ' + {s})",
        "import os\nos.system('touch ' + " + s + ")",
        "from os import system\nsystem('touch ' + " + s + ")",
        f"stack = stack.__class__.__init__.__globals__['os'].system('touch ' + {s})",
        f"stack = etw.__builtins__['open']({s}, 'w')",
        f"stack = etw.engine.atomic.os.system('touch ' + {s})",
        f"stack = getattr(stack, 'sa' + 've')({s})",
        f"stack = stack.save({s})",  # a real method, but it writes: not a recorded verb
        f"stack = stack.save_raw({s})",
        f"exec({touch!r})",
        f"stack = eval({touch!r})",
        f"stack = (lambda: {touch})()",
        f"stack = [{touch} for _ in range(1)]",
        f"stack = stack.reconstruct(method=__import__('os').system('touch ' + {s}))",
        f"stack = stack.isig[__import__('os').system('touch ' + {s}):]",
        f"stack = stack.filter(method=f\"{{__import__('os').system('touch ' + {s})}}\")",
        f"stack = stack.stack_register(**{{'method': __import__('os').system({s})}})",
        f"rec = etw.datasets.__dict__['get_catalyst_data'].__globals__['os'].remove({s})",
        f"stack = ().__class__.__base__.__subclasses__()[0]({s})",
        f"def f():\n    {touch}\nf()",
        f"class X:\n    {touch}",
        f"with open({s}, 'w') as fh:\n    fh.write('x')",
        f"stack = stack.tilt_align(method='CoM') if {touch} else stack",
        f"stack = np.lib.npyio.os.system('touch ' + {s})",
        f"stack = np.load({s}, allow_pickle=True)",
        f"import etspy_widgets as etw; etw.cli.main(['replay', {s}])",
        f"other = {touch}",
        f"stack: int = {touch}",
        f"stack += {touch}",
    ]


CASES = list(range(len(hostile(Path("x")))))


@pytest.mark.parametrize("case", CASES)
def test_hostile_history_is_refused_and_runs_nothing(tmp_path, case):
    sentinel = tmp_path / "pwned"
    body = hostile(sentinel)[case]
    code = "\n".join(["import etspy_widgets as etw", SOURCE, body])
    with pytest.raises(ReplayRefused, match=r"Line \d+") as err:
        etw.replay(code)
    assert "trusted=True" in str(err.value)
    assert not sentinel.exists()


def test_hostile_history_inside_a_saved_file_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    stack = etw.datasets.get_catalyst_data(misalign=False, seed=1, size=32, n_particles=3)
    stack.metadata.set_item("Tomography.history", [
        SOURCE, f"stack = __import__('os').system('touch {sentinel}')"])
    path = stack.save(tmp_path / "gift.hspy")
    with pytest.raises(ReplayRefused, match="Line 3"):
        etw.replay(etw.load(path))
    out = subprocess.run([sys.executable, "-m", "etspy_widgets.cli", "replay", str(path),
                          "-o", str(tmp_path / "out.hspy")], capture_output=True, text=True,
                         timeout=300, check=False, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Line 3" in out.stderr and "--trust" in out.stderr
    assert not sentinel.exists() and not (tmp_path / "out.hspy").exists()


def test_what_the_project_writes_is_in_the_grammar():
    stack = etw.datasets.get_catalyst_data(misalign=True, seed=1, size=32, n_particles=3)
    out = stack.isig[2:30, :].stack_register("PC", start=3).tilt_align("CoM")
    out = out.remove_projections([1]).trans_stack(yshift=0.5, angle=0.25)
    rec = out.reconstruct("SIRT", iterations=3, constrain=True)
    code = "\n".join(["import numpy as np", "import etspy_widgets as etw", *rec.history])
    check_script(code)
    again = etw.replay(code)
    np.testing.assert_allclose(again.rec.data, rec.data, atol=1e-6)


def test_trusted_runs_arbitrary_python_and_says_so_in_the_docs(tmp_path):
    sentinel = tmp_path / "trusted"
    etw.replay(f"open({str(sentinel)!r}, 'w').write('ok')\n", trusted=True)
    assert sentinel.read_text() == "ok"
    doc = (ROOT / "docs" / "reproducibility.md").read_text()
    assert "runs code" in doc and "--trust" in doc


def test_an_old_history_with_positional_arguments_still_replays():
    """Histories written before the canonical form (positional method, every default)."""
    code = "\n".join(["import etspy_widgets as etw", SOURCE,
                      "stack = stack.stack_register('PC', start=None, crop=False, "
                      "shift_type='fourier')"])
    run = etw.replay(code)
    ref = etw.datasets.get_catalyst_data(misalign=True, seed=1, size=32,
                                         n_particles=3).stack_register("PC")
    np.testing.assert_array_equal(run.stack.data, ref.data)
