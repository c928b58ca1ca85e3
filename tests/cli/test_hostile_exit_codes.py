"""The exit-code contract of docs/cli.md, cell by cell: each subcommand's 0, 1, 2, 130 and
141 where it applies, each with its own test (the table in docs/cli.md names them).

130 is proven in-process by a real SIGINT delivered to this process while the command
works (a timer thread sends it); the real-process SIGINT/SIGTERM tests are in
test_hostile_cli.py. 141 by giving the command a stdout pipe whose reader is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hostile_fixtures import TILTS, fill, listing, phantom_stack, tmpfs

import etspy_widgets as etw
from etspy_widgets import cli


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return phantom_stack((32, 32)).save(tmp_path_factory.mktemp("codes") / "series.hspy")


@pytest.fixture(scope="module")
def big_series(tmp_path_factory):
    stack = etw.TomoStack(np.random.default_rng(0).random((15, 64, 64)).astype(np.float32),
                          tilts=TILTS)
    return stack.save(tmp_path_factory.mktemp("codes_big") / "big.hspy")


@pytest.fixture(scope="module")
def qc_series(tmp_path_factory):
    """A phantom with real mass at 64² (qc's CoM and PM have something to find)."""
    return phantom_stack((64, 64)).save(tmp_path_factory.mktemp("codes_qc") / "qc.hspy")


@pytest.fixture
def slow_log(tmp_path, big_series):
    """A replay log in the project's grammar whose work takes seconds (SIRT-2000)."""
    log = tmp_path / "slow.py"
    log.write_text("import etspy_widgets as etw\n"
                   f"stack = etw.load(filename={str(big_series)!r})\n"
                   "rec = stack.reconstruct(method='SIRT', iterations=2000, thickness=64)\n")
    return log


def _err_lines(capsys):
    err = capsys.readouterr().err
    return [ln for ln in err.replace("\r", "\n").splitlines()
            if ln.strip() and "reconstruction:" not in ln and "it/s" not in ln
            and not ln.startswith("writing ")]


def interrupted(argv, delay=0.5):
    """Run ``cli.main(argv)`` and send this process a real SIGINT after ``delay`` s.

    Returns the exit code, or skips when the command ended before the signal (a signal
    that lands after it returned is caught here, never by pytest)."""
    main = threading.main_thread().ident
    timer = threading.Timer(delay, signal.pthread_kill, (main, signal.SIGINT))
    try:
        timer.start()
        code = cli.main([str(a) for a in argv])
        timer.cancel()
        timer.join()
    except KeyboardInterrupt:
        pytest.skip("the signal arrived after the command had ended")
    if timer.finished.is_set() and code == cli.EXIT_OK:
        pytest.skip("the command ended before the signal (machine too fast)")
    return code


@contextlib.contextmanager
def closed_stdout(monkeypatch):
    """``sys.stdout`` is a pipe whose reader has gone (``etspy-widgets ... | head``)."""
    read, write = os.pipe()
    os.close(read)
    handler = signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it up
    pipe = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        yield
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            pipe.close()
        signal.signal(signal.SIGPIPE, handler)


# -- 130: interrupted, nothing written --------------------------------------------------------
def test_reconstruct_interrupted_exits_130(capsys, tmp_path, big_series):
    out = tmp_path / "o"
    out.mkdir()
    code = interrupted(["reconstruct", big_series, "-o", out / "vol.hspy", "--method", "SIRT",
                        "--iterations", "2000", "--thickness", "64"])
    assert code == cli.EXIT_INTERRUPTED
    assert _err_lines(capsys) == ["etspy-widgets reconstruct: interrupted; no output written"]
    assert listing(out) == []


def test_replay_interrupted_exits_130(capsys, tmp_path, slow_log):
    out = tmp_path / "o"
    out.mkdir()
    code = interrupted(["replay", slow_log, "-o", out / "vol.hspy", "--notebook",
                        out / "log.ipynb"])
    assert code == cli.EXIT_INTERRUPTED
    lines = _err_lines(capsys)
    assert lines == ["etspy-widgets replay: interrupted; no output written"], lines
    assert listing(out) == []  # neither the volume nor the notebook


def test_qc_interrupted_exits_130_with_no_output(capsys, tmp_path, qc_series):
    out = tmp_path / "o"
    out.mkdir()
    code = interrupted(["qc", qc_series, "-o", out / "q.csv", "--plot", out / "q.png",
                        "--series", out / "s.csv", "--scan", "--register", "PM"], delay=1.0)
    assert code == cli.EXIT_INTERRUPTED
    assert _err_lines(capsys) == ["etspy-widgets qc: interrupted; no output written"]
    assert listing(out) == []


def test_demo_interrupted_exits_130(capsys, tmp_path):
    code = interrupted(["demo", "-o", tmp_path / "d.png"], delay=0.3)
    assert code == cli.EXIT_INTERRUPTED
    assert _err_lines(capsys) == ["etspy-widgets demo: interrupted; no output written"]
    assert listing(tmp_path) == []


def test_simulate_acquisition_interrupted_exits_130(capsys, tmp_path):
    """An acquisition keeps the projections it wrote (that is its job) and says how many."""
    out = tmp_path / "acq"
    code = interrupted(["simulate-acquisition", out, "--size", "32", "--interval", "0.2"],
                       delay=1.5)
    assert code == cli.EXIT_INTERRUPTED
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(
        "etspy-widgets simulate-acquisition: interrupted after"), lines
    assert not [n for n in listing(out) if n.startswith(".")]  # no temporary left


# -- 141: the reader of stdout went away --------------------------------------------------------
def test_reconstruct_print_script_into_a_closed_pipe_exits_141(capsys, monkeypatch, tmp_path,
                                                              series):
    out = tmp_path / "vol.hspy"
    with closed_stdout(monkeypatch):
        code = cli.main(["reconstruct", str(series), "-o", str(out), "--print-script",
                         "--thickness", "8"])
    assert code == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err
    # the script printed first went nowhere: the command stopped there, quietly, or
    # finished; either way no temporary is left and an output is complete
    assert not [n for n in listing(tmp_path) if n.startswith(".")]
    if out.exists():
        assert etw.load(out).data.shape == (32, 8, 32)


def test_info_into_a_closed_pipe_exits_141_in_process(capsys, monkeypatch, series):
    with closed_stdout(monkeypatch):
        code = cli.main(["info", str(series)])
    assert code == cli.EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_qc_print_script_into_a_closed_pipe_exits_141(capsys, monkeypatch, tmp_path, series):
    with closed_stdout(monkeypatch):
        code = cli.main(["qc", str(series), "-o", str(tmp_path / "q.csv"), "--print-script"])
    assert code == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err
    assert (tmp_path / "q.csv").read_text().count("\n") >= 15  # one row per projection


def test_demo_into_a_closed_pipe_exits_141(capsys, monkeypatch, tmp_path):
    with closed_stdout(monkeypatch):
        code = cli.main(["demo", "-o", str(tmp_path / "d.png")])
    assert code == cli.EXIT_BROKEN_PIPE
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


# -- 1: a processing error (full disk) ---------------------------------------------------------
def test_qc_onto_a_full_disk_exits_1(capsys, tmp_path, qc_series):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, leave=2_000)
        code = cli.main(["qc", str(qc_series), "-o", str(disk / "q.csv"), "--plot",
                         str(disk / "q.png")])
        lines = _err_lines(capsys)
        assert code == cli.EXIT_FAILED, lines
        assert len(lines) == 1 and lines[0].startswith("etspy-widgets qc:"), lines
        assert listing(disk) == [filler.name]


def test_demo_onto_a_full_disk_exits_1(capsys, tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, leave=2_000)
        code = cli.main(["demo", "-o", str(disk / "d.png")])
        lines = _err_lines(capsys)
        assert code == cli.EXIT_FAILED, lines
        assert len(lines) == 1 and "nothing was written" in lines[0], lines
        assert listing(disk) == [filler.name]


# -- 0 and 2 where no other test has them --------------------------------------------------------
def test_replay_of_a_saved_result_exits_0(capsys, tmp_path, series):
    rec = etw.load(series).reconstruct(thickness=8, show_progressbar=False)
    saved = rec.save(tmp_path / "rec.hspy")
    code = cli.main(["replay", str(saved), "-o", str(tmp_path / "again.hspy")])
    assert code == cli.EXIT_OK, _err_lines(capsys)
    np.testing.assert_allclose(etw.load(tmp_path / "again.hspy").data, rec.data, atol=1e-5)


def test_info_exits_0_and_describes_the_series(capsys, series):
    assert cli.main(["info", str(series)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "15" in out and "32" in out


@pytest.mark.parametrize("argv", [
    ["qc", "{series}", "-o", "{tmp}/q.csv", "--register", "XYZ"],
    ["simulate-acquisition", "{tmp}/acq", "--interval", "-1"],
    ["simulate-acquisition", "{tmp}/acq", "--dataset", "{tmp}/missing.mrc"],
    ["watch", "{tmp}/nowhere", "-o", "{tmp}/v.hspy", "--expected", "3"],
    ["data", "fetch", "--dest", "{series}"],  # a file: occupied
])
def test_bad_input_exits_2(capsys, tmp_path, series, argv):
    argv = [a.format(series=series, tmp=tmp_path) for a in argv]
    code = cli.main(argv)
    lines = _err_lines(capsys)
    assert code == cli.EXIT_USAGE, (code, lines)
    assert len(lines) == 1 and lines[0].startswith(f"etspy-widgets {argv[0]}"), lines
    assert not (tmp_path / "q.csv").exists() and not (tmp_path / "v.hspy").exists()
    assert Path(series).is_file()


def test_data_fetch_when_pip_finds_nothing_exits_1(capsys, tmp_path, monkeypatch):
    """A download that fails (no index, nothing in the links) is a processing error."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))  # empty: nothing to find
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no cached wheel either
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    dest = tmp_path / "data"
    code = cli.main(["data", "fetch", "--dest", str(dest), "-q"])
    lines = _err_lines(capsys)
    assert code == cli.EXIT_FAILED, lines
    assert lines[-1].startswith("etspy-widgets data:") and "etspy==1.3.0" in lines[-1], lines
    assert not dest.exists()
