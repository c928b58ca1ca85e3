"""The workbench front end with Node: its unit tests (``node --test js/``), the one module
the Python side builds from ``js/``, and the colour maps both sides know."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from testpaths import ROOT

from etspy_widgets.widgets.workbench import COLORMAPS, _model


@pytest.fixture(scope="module")
def node():
    path = shutil.which("node")
    if path is None:
        pytest.skip("Node.js is not installed (the JS unit tests need `node --test`)")
    return path


def test_front_end_units_with_node(node):
    proc = subprocess.run([node, "--test", "js/"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout


def test_the_bundle_is_one_module_with_every_part_and_no_relative_import(node, tmp_path):
    text = _model.bundle()
    assert 'from "./' not in text
    for name in ("dom.js", "paint.js", "geometry.js", "transport.js", "keys.js", "plots.js",
                 "controls.js", "panes.js", "workbench.js"):
        assert f"// ---- {name} ----" in text
    assert text.index("// ---- geometry.js") < text.index("// ---- panes.js")
    assert text.rstrip().endswith("export default { render };")
    path = tmp_path / "bundle.mjs"
    path.write_text(text, encoding="utf-8")
    script = (f"import({json.dumps(path.as_uri())}).then((m) => console.log(JSON.stringify("
              "{render: typeof m.default.render, cmaps: m.COLORMAPS})))")
    proc = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["render"] == "function"
    assert out["cmaps"] == COLORMAPS  # Python's list is the one the JS LUTs paint


def test_the_widget_loads_the_bundle():
    from etspy_widgets.widgets.workbench import AlignmentWorkbench

    assert AlignmentWorkbench._esm == _model.bundle()
    assert ".etw-root" in AlignmentWorkbench._css


def test_a_bundle_import_cycle_is_refused(tmp_path):
    (tmp_path / "workbench.js").write_text('import { a } from "./a.js";\n')
    (tmp_path / "a.js").write_text('import { b } from "./workbench.js";\nexport const a = 1;\n')
    with pytest.raises(ImportError, match=r"workbench\.js → a\.js → workbench\.js"):
        _model.bundle(folder=tmp_path)
