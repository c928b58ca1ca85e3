"""The command line keeps its word (docs/cli.md): exit 0 only with the output complete,
1 a processing error (a full disk), 2 bad input, 130 a signal — each failure with ONE
line on stderr and no output (and no temporary) left behind. For every subcommand."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hostile_fixtures import TILTS, fill, listing, phantom_stack, tmpfs
from testpaths import ROOT

import etspy_widgets as etw
from etspy_widgets import cli


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    return phantom_stack((32, 32)).save(folder / "series.hspy")


@pytest.fixture(scope="module")
def big_series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_big")
    stack = etw.TomoStack(np.random.default_rng(0).random((15, 64, 64)).astype(np.float32),
                          tilts=TILTS)
    return stack.save(folder / "big.hspy")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines()
             if ln.strip() and "reconstruction:" not in ln and "it/s" not in ln]
    return code, lines


def assert_failed(code, lines, expected, *words):
    assert code == expected, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("etspy-widgets "), lines
    for word in words:
        alt = word.replace("'", '"')  # ETSpy's messages quote names with double quotes
        assert word in lines[0] or alt in lines[0], (word, lines[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- exit 2: bad input, for every subcommand -------------------------------------------------
BAD_RECONSTRUCT = [
    (["missing.hspy"], ("no such file",)),
    (["{series}", "--method", "ART"], ("'ART'",)),
    (["{series}", "--register", "XYZ"], ("'XYZ'",)),
    (["{series}", "--tilt-align", "Hough"], ("'Hough'",)),
    (["{series}", "--bin", "0"], ("--bin",)),
    (["{series}", "--chunk-size", "0"], ("--chunk-size",)),
    (["{series}", "--thickness", "-5"], ("--thickness",)),
    (["{series}", "--iterations", "-1"], ("--iterations",)),
    (["{series}", "--tilts", "{bad_tilts}"], ("--tilts", "not a text file of numbers")),
    (["{series}", "--tilts", "{nan_tilts}"], ("--tilts", "non-finite")),
    (["{series}", "--tilts", "{empty_tilts}"], ("--tilts",)),
    (["{series}", "--tilts", "missing.txt"], ("--tilts", "no such file")),
    (["{series}", "--tilts", "{short_tilts}"], ("tilt",)),
    (["{series}", "--tilts", "{radian_tilts}"], ("radians",)),
    (["{series}", "--scheduler", "tcp://127.0.0.1:{port}"], ("--scheduler",
                                                            "no scheduler answers")),
    (["{series}", "--scheduler", "not an address"], ("--scheduler",)),
    (["{series}", "--lazy", "--register", "PC"], ("--lazy",)),
    (["{folder_mrc}"], ("is a folder",)),
    (["{pipe}"], ("not a regular file",)),
]


@pytest.fixture
def inputs(tmp_path, series):
    (tmp_path / "bad.txt").write_text("10\nabc\n30\n")
    (tmp_path / "nan.txt").write_text("\n".join(["nan"] * 15))
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("1\n2\n3\n")
    np.savetxt(tmp_path / "rad.txt", np.radians(TILTS))
    (tmp_path / "folder.mrc").mkdir()
    os.mkfifo(tmp_path / "pipe.mrc")
    return {"series": series, "bad_tilts": tmp_path / "bad.txt",
            "nan_tilts": tmp_path / "nan.txt", "empty_tilts": tmp_path / "empty.txt",
            "short_tilts": tmp_path / "short.txt", "radian_tilts": tmp_path / "rad.txt",
            "port": _free_port(), "folder_mrc": tmp_path / "folder.mrc",
            "pipe": tmp_path / "pipe.mrc"}


@pytest.mark.parametrize(("argv", "words"), BAD_RECONSTRUCT,
                         ids=[" ".join(a[1:]) or a[0] for a, _ in BAD_RECONSTRUCT])
def test_reconstruct_bad_input_exits_2(capsys, tmp_path, inputs, argv, words):
    out = tmp_path / "out" / "vol.hspy"
    out.parent.mkdir()
    argv = [a.format(**inputs) for a in argv]
    extra = [] if "--thickness" in argv else ["--thickness", "16"]
    code, lines = run(capsys, "reconstruct", *argv, "-o", out, *extra)
    assert_failed(code, lines, cli.EXIT_USAGE, *words)
    assert listing(out.parent) == []


@pytest.mark.parametrize(("name", "words"), [
    ("vol.tiff", ("unsupported format",)), ("vol", ("unsupported format",)),
    ("nowhere/vol.hspy", ("does not exist",)),
])
def test_reconstruct_bad_output_exits_2(capsys, tmp_path, series, name, words):
    code, lines = run(capsys, "reconstruct", series, "-o", tmp_path / name)
    assert_failed(code, lines, cli.EXIT_USAGE, *words)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("name", ["vol.hspy", "vol.mrc", "vol.zspy"])
def test_an_existing_output_is_kept(capsys, tmp_path, series, name):
    out = tmp_path / name
    out.write_bytes(b"mine")
    code, lines = run(capsys, "reconstruct", series, "-o", out)
    assert_failed(code, lines, cli.EXIT_USAGE, "exists", "--overwrite")
    assert out.read_bytes() == b"mine"


@pytest.mark.parametrize("name", ["vol.hspy", "vol.zspy", "vol.mrc"])
def test_an_existing_folder_is_never_replaced(capsys, tmp_path, series, name):
    out = tmp_path / name
    out.mkdir()
    (out / "precious").write_text("x")
    code, lines = run(capsys, "reconstruct", series, "-o", out, "--overwrite")
    assert_failed(code, lines, cli.EXIT_USAGE, "folder")
    assert (out / "precious").read_text() == "x"


LOGS = {
    "syntax": "import etspy_widgets as etw\nstack = etw.load(\n",
    "os_call": "import os\nos.system('touch /tmp/hostile-pwned')\n",
    "dunder": "import etspy_widgets as etw\nstack = etw.__loader__\n",
    "unknown_verb": "import etspy_widgets as etw\nstack = etw.load({series!r})\n"
                    "stack = stack.frobnicate()\n",
    "typo": "import etspy_widgets as etw\nstack = etw.load({series!r})\n"
            "stack = stack.tilt_align(method='CoM', nslice=5)\n",
    "nothing": "import etspy_widgets as etw\n",
    "missing_input": "import etspy_widgets as etw\nstack = etw.load('/no/such/file.mrc')\n",
}


@pytest.mark.parametrize("kind", sorted(LOGS))
def test_replay_of_a_hostile_log_exits_2(capsys, tmp_path, series, kind):
    log = tmp_path / "log.py"
    log.write_text(LOGS[kind].format(series=str(series)))
    out = tmp_path / "out.hspy"
    code, lines = run(capsys, "replay", log, "-o", out)
    assert_failed(code, lines, cli.EXIT_USAGE)
    assert not out.exists()
    assert not Path("/tmp/hostile-pwned").exists()
    assert [n for n in listing(tmp_path) if n != "log.py"] == []


def test_replay_syntax_error_with_trust_exits_2(capsys, tmp_path):
    log = tmp_path / "log.py"
    log.write_text(LOGS["syntax"])
    code, lines = run(capsys, "replay", log, "-o", tmp_path / "out.hspy", "--trust")
    assert_failed(code, lines, cli.EXIT_USAGE, "SyntaxError")


@pytest.mark.parametrize(("argv", "words"), [
    (["replay", "missing.py"], ("no such file",)),
    (["replay", "{series}", "--input", "{series}"], ()),
])
def test_replay_bad_paths(capsys, tmp_path, series, argv, words):
    argv = [a.format(series=series) for a in argv]
    out = tmp_path / "out.txt"
    code, lines = run(capsys, *argv, "-o", out)
    assert_failed(code, lines, cli.EXIT_USAGE, *words)
    assert not out.exists()


def _make(folder: Path, kind: str) -> Path:
    path = folder / {"missing": "missing.mrc", "dir": "dir.mrc", "pipe": "pipe.hspy",
                     "junk": "junk.mrc", "weird": "x.weird", "short": "s.mrc"}[kind]
    if kind == "dir":
        path.mkdir()
    elif kind == "pipe":
        os.mkfifo(path)
    elif kind == "junk":
        path.write_bytes(np.random.default_rng(2).bytes(3000))
    elif kind in ("weird", "short"):
        path.write_bytes(b"1")
    return path


@pytest.mark.parametrize(("kind", "words"), [
    ("missing", ("no such file",)), ("dir", ("is a folder",)),
    ("pipe", ("not a regular file",)), ("junk", ("not an MRC file",)),
    ("weird", ("Unknown file type",)), ("short", ("shorter than an MRC header",)),
])
def test_info_bad_input_exits_2(capsys, tmp_path, kind, words):
    code, lines = run(capsys, "info", _make(tmp_path, kind))
    assert_failed(code, lines, cli.EXIT_USAGE, *words)


def test_demo_into_a_missing_folder_exits_2(capsys, tmp_path):
    code, lines = run(capsys, "demo", "-o", tmp_path / "nowhere" / "d.png")
    assert_failed(code, lines, cli.EXIT_USAGE, "does not exist")


@pytest.mark.parametrize("command", ["lab", "app"])
def test_lab_and_app_with_a_missing_notebook(capsys, tmp_path, command):
    code, lines = run(capsys, command, "--notebook", tmp_path / "missing.ipynb", "--no-browser")
    assert_failed(code, lines, cli.EXIT_USAGE, "missing.ipynb")


@pytest.mark.parametrize("argv", [["reconstruct"], ["replay", "x.py"], ["info"], ["qc", "x"],
                                  ["demo", "--bogus"], ["data"], ["watch", "f"],
                                  ["simulate-acquisition"], ["nonsense"]])
def test_argparse_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: etspy-widgets" in err and "error:" in err


# -- exit 1: a full disk, and success only when complete -------------------------------------
@pytest.mark.parametrize("name", ["vol.hspy", "vol.zspy", "vol.mrc", "vol.emd", "vol.zarr"])
def test_reconstruct_onto_a_full_disk_exits_1(capsys, tmp_path, big_series, name):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, leave=150_000)
        code, lines = run(capsys, "reconstruct", big_series, "-o", disk / name,
                          "--thickness", "64")
        assert_failed(code, lines, cli.EXIT_FAILED, "nothing was written")
        assert "disk is full" in lines[0] or "Not enough space" in lines[0]
        assert listing(disk) == [filler.name]


def test_replay_onto_a_full_disk_exits_1(capsys, tmp_path, big_series):
    rec = etw.load(big_series).reconstruct(thickness=64, show_progressbar=False)
    saved = rec.save(tmp_path / "rec.hspy")
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, leave=100_000)
        code, lines = run(capsys, "replay", saved, "-o", disk / "again.zspy")
        assert_failed(code, lines, cli.EXIT_FAILED)
        assert listing(disk) == [filler.name]


def test_success_is_printed_only_with_the_output_complete(capsys, tmp_path, series):
    out = tmp_path / "vol.hspy"
    code, lines = run(capsys, "reconstruct", series, "-o", out, "--thickness", "16")
    assert code == 0 and len(lines) == 1 and lines[0].startswith("reconstructed")
    assert listing(tmp_path) == ["vol.hspy"]
    expected = etw.load(series).reconstruct(thickness=16, show_progressbar=False)
    np.testing.assert_array_equal(etw.load(out).data, expected.data)


@pytest.mark.parametrize(("err", "code"), [
    (KeyboardInterrupt(), 130), (cli.CLIError("x"), 2), (cli.CLIError("x", 1), 1),
    (OSError(28, "No space left on device"), 1), (MemoryError(), 1),
    (etw.engine.errors.DiskFullError("full"), 1), (RuntimeError("bug"), 1),
    (etw.engine.errors.InvalidDataError("bad"), 2), (FileNotFoundError("x"), 2),
    (SyntaxError("bad"), 2), (etw.engine.errors.NonFiniteResultError("nan"), 1),
])
def test_the_exit_code_table(err, code):
    assert cli.exit_code(err) == code
    assert "\n" not in cli.error_line("reconstruct", err)


# -- exit 130: SIGINT and SIGTERM, in a real process -----------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.2, 2.0])
def test_a_signal_exits_130_with_nothing_written(tmp_path, big_series, signum, delay):
    """Signalled once the work runs (its progress bar is on stderr); a signal during
    Python's own start-up (the imports) is outside the command (docs/cli.md)."""
    out = tmp_path / "out" / "vol.hspy"
    out.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "etspy_widgets.cli", "reconstruct", str(big_series), "-o",
         str(out), "--method", "SIRT", "--iterations", "4000", "--thickness", "64"],
        stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(
        lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while "reconstruction" not in "".join(chunks) and time.monotonic() < deadline \
                and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(delay)
        if proc.poll() is not None:
            pytest.skip("the run ended before the signal (machine too fast)")
        proc.send_signal(signum)
        proc.wait(timeout=60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    err = "".join(chunks)
    bars = re.sub(r"\w+ reconstruction:.*?it/s\]", "", err)  # tqdm's bar, not a message
    lines = [ln for ln in bars.replace("\r", "\n").splitlines() if ln.strip()]
    assert proc.returncode == 130, err
    assert lines == ["etspy-widgets reconstruct: interrupted; no output written"], err
    assert listing(out.parent) == []


@pytest.mark.parametrize("line", [
    "import os; os.system('touch /tmp/hostile-pwned')",
    "stack = etw.engine.atomic.os.system('touch /tmp/hostile-pwned')",
    "stack = stack.__class__.__init__",
    "stack = etw.load('x.mrc'",
])
def test_replay_of_a_saved_file_with_a_hostile_history_exits_2(capsys, tmp_path, line):
    stack = phantom_stack((16, 16))
    stack.metadata.set_item("Tomography.history", ["import etspy_widgets as etw", line])
    saved = stack.save(tmp_path / "evil.hspy")
    out = tmp_path / "out.hspy"
    code, lines = run(capsys, "replay", saved, "-o", out)
    assert_failed(code, lines, cli.EXIT_USAGE)
    assert not out.exists() and not Path("/tmp/hostile-pwned").exists()
    assert listing(tmp_path) == ["evil.hspy"]
