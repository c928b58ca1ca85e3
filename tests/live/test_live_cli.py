"""``etspy-widgets simulate-acquisition`` and ``etspy-widgets watch``: the written volume is
the offline result, Ctrl-C writes what is in and exits 130, bad input exits 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import hyperspy.api as hs
import numpy as np
import pytest
from testpaths import ROOT

import etspy_widgets as etw
from etspy_widgets.cli import main
from etspy_widgets.engine.io import parse_mdoc

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    out = tmp_path_factory.mktemp("acq") / "series"
    rc = main(["simulate-acquisition", str(out), "--size", "48", "--step", "10",
               "--interval", "0"])
    assert rc == 0
    return out


def test_simulate_acquisition_writes_files_and_a_growing_mdoc(series):
    files = sorted(series.glob("*.mrc"))
    assert len(files) == 13 and (series / "acquisition.done").exists()
    assert not list(series.glob(".*"))  # no temporary file left
    mdoc = parse_mdoc(series / "tilt.mdoc")
    named = {s["SubFramePath"]: float(s["TiltAngle"]) for s in mdoc.sections if "ZValue" in s}
    assert named == {f.name: float(f.stem.rsplit("_", 1)[1]) for f in files}
    # dose-symmetric: sections in acquisition order 0, +10, -10, +20...
    assert [float(s["TiltAngle"]) for s in mdoc.sections if "ZValue" in s][:5] == \
        [0, 10, -10, 20, -20]


def test_watch_writes_the_offline_volume(series, tmp_path, capsys):
    out = tmp_path / "vol.hspy"
    rc = main(["watch", str(series), "-o", str(out), "--settle", "0", "--print-script"])
    assert rc == 0
    printed = capsys.readouterr()
    assert "end marker acquisition.done found" in printed.err
    assert printed.out.startswith("import etspy_widgets as etw")
    rec = hs.load(out)
    files = sorted(series.glob("*.mrc"), key=lambda p: float(p.stem.rsplit("_", 1)[1]))
    tilts = [float(p.stem.rsplit("_", 1)[1]) for p in files]
    ref = etw.load([str(p) for p in files], tilts=tilts)
    ref = ref.stack_register("PC", start=6, drift=None, shift_type="interp", upsample_factor=20)
    np.testing.assert_array_equal(rec.data, ref.reconstruct("FBP").data)


def test_watch_ctrl_c_writes_what_is_in_and_exits_130(series, tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    for p in sorted(series.glob("*.mrc"))[:5]:
        (folder / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "cut.hspy"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "etspy_widgets.cli", "watch", str(folder), "-o", str(out),
         "--settle", "0", "--tilts", "names"],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = 0
        deadline = time.monotonic() + 120
        while seen < 5 and time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen += line.startswith("[")
        assert seen == 5
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert hs.load(out).data.shape == (48, 48, 48)


def test_watch_bad_input(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "nope"), "-o", str(tmp_path / "v.hspy")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "v.hspy").write_text("x")
    assert main(["watch", str(tmp_path), "-o", str(tmp_path / "v.hspy")]) == 2
    assert "exists" in capsys.readouterr().err
    rc = main(["watch", str(tmp_path), "-o", str(tmp_path / "w.hspy"), "--idle-timeout", "0",
               "--expected", "1", "--marker", "v.hspy"])
    assert rc == 1
    assert "no projection arrived" in capsys.readouterr().err
    assert not (tmp_path / "w.hspy").exists()
    assert main(["simulate-acquisition", str(tmp_path / "s"), "--interval", "-1"]) == 2
