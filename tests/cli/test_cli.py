"""The etspy-widgets command: real files, equality with the Python API, exit codes, atomicity."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import hyperspy.api as hs
import mrcfile
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.cli import main


def run_cli(*args):
    return main([str(a) for a in args])


@contextlib.contextmanager
def child_process(cmd, **kwargs):
    """``Popen`` in its own process group, killed with everything it started (dask workers,
    the kernel) when the block ends with the child still running: a timeout or a failed
    assertion never leaves a reconstruction running after pytest."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=30)


def test_child_process_kills_its_group_when_the_block_fails(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
              "'import time; time.sleep(600)']); open(sys.argv[1], 'w').write(str(p.pid)); "
              "time.sleep(600)")
    with pytest.raises(subprocess.TimeoutExpired), \
            child_process([sys.executable, "-c", script, str(pidfile)]) as proc:
        deadline = time.time() + 30
        while not (pidfile.exists() and pidfile.read_text()) and time.time() < deadline:
            time.sleep(0.1)
        proc.wait(timeout=0.5)  # times out, as a stuck SIGINT test would
    grandchild = int(pidfile.read_text())
    assert proc.returncode == -signal.SIGKILL
    deadline = time.time() + 10
    while time.time() < deadline:  # the grandchild is gone too (reaped by init)
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"grandchild {grandchild} still running")


def test_info_on_the_needle(data_dir, capsys):
    assert run_cli("info", data_dir / "HAADF.mrc") == 0
    out = capsys.readouterr().out
    assert "(77, 256, 256) int16" in out
    assert "77 from -76 to 76 deg, step 2" in out
    assert "3.36 nm" in out


def test_reconstruct_needle_equals_python_api(data_dir, tmp_path, capsys):
    out = tmp_path / "needle.hspy"
    code = run_cli("reconstruct", data_dir / "HAADF.mrc", "--bin", 2, "--method", "FBP",
                   "--thickness", 64, "-o", out)
    assert code == 0, capsys.readouterr().err
    rec = hs.load(out)
    assert isinstance(rec, etw.RecStack)
    stack = etw.load(data_dir / "HAADF.mrc").rebin(scale=(1, 2, 2))
    expected = stack.reconstruct(method="FBP", thickness=64, show_progressbar=False)
    assert rec.data.shape == (128, 64, 128)
    np.testing.assert_array_equal(rec.data, expected.data)
    # the result says how it was made, and replaying that gives the same volume
    assert rec.history[0].startswith("stack = etw.load(")
    again = tmp_path / "again.zspy"
    assert run_cli("replay", out, "-o", again) == 0
    np.testing.assert_array_equal(hs.load(again).data, rec.data)


def test_reconstruct_catalyst_to_mrc(tmp_path):
    stack = etw.datasets.get_catalyst_data()
    small = stack.isig[250:350, :].rebin(scale=(1, 4, 4))  # 25 x 150: quick
    src = small.save(tmp_path / "cat.hspy")
    out = tmp_path / "cat.mrc"
    assert run_cli("reconstruct", src, "--method", "SIRT", "--iterations", 5, "-o", out) == 0
    expected = small.reconstruct(method="SIRT", iterations=5, show_progressbar=False)
    with mrcfile.open(out) as mrc:
        np.testing.assert_array_equal(mrc.data, expected.data.astype(np.float32))


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", ["reconstruct", "{tmp}/missing.mrc", "-o", "{tmp}/o.hspy"], "no such file"),
        ("corrupt", ["reconstruct", "{tmp}/bad.mrc", "-o", "{tmp}/o.hspy"], "bad.mrc"),
        ("good", ["reconstruct", "{tmp}/s.hspy", "--method", "MAGIC", "-o", "{tmp}/o.hspy"],
         "MAGIC"),
        ("good", ["reconstruct", "{tmp}/s.hspy", "-o", "/proc/nope/o.hspy"], "does not exist"),
        ("good", ["reconstruct", "{tmp}/s.hspy", "-o", "{tmp}/o.tif"], "unsupported format"),
        ("exists", ["reconstruct", "{tmp}/s.hspy", "-o", "{tmp}/o.hspy"], "--overwrite"),
        ("none", ["info", "{tmp}/missing.mrc"], "no such file"),
        ("corrupt", ["info", "{tmp}/bad.mrc"], "bad.mrc"),
    ],
)
def test_bad_input_exit_codes(tmp_path, capsys, setup, args, message):
    if setup == "corrupt":
        (tmp_path / "bad.mrc").write_bytes(b"this is not an MRC file" * 10)
    if setup in ("good", "exists"):
        etw.TomoStack(np.ones((3, 8, 8), np.float32), tilts=[-10, 0, 10]).save(
            tmp_path / "s.hspy")
    if setup == "exists":
        (tmp_path / "o.hspy").write_bytes(b"keep me")
    code = run_cli(*[a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    if setup == "exists":
        assert (tmp_path / "o.hspy").read_bytes() == b"keep me"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.slow
def test_interrupted_run_leaves_no_output(tmp_path):
    stack = etw.datasets.get_catalyst_data()
    src = stack.save(tmp_path / "cat.hspy")
    out = tmp_path / "vol.hspy"
    with child_process(
        [sys.executable, "-m", "etspy_widgets.cli", "reconstruct", str(src), "--method", "SIRT",
         "--iterations", "200", "-o", str(out)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until reconstruction is under way
            line = proc.stderr.readline()
            if "reconstruction" in line.lower() or not line:
                break
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.hspy"]


@pytest.mark.slow
def test_lab_serves_the_quickstart_notebook(tmp_path):
    """`lab` prints the notebook's own URL (token included), which opens the notebook, and
    JupyterLab's news pop-up and update check are off by default."""
    import json
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    env.update(JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"), PYTHONUNBUFFERED="1")
    with child_process(
        [sys.executable, "-m", "etspy_widgets.cli", "lab", "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as proc:
        line = proc.stdout.readline()
        assert line.startswith("the quick-start notebook: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        assert f":{port}/lab/tree/quickstart.ipynb?token=" in url
        token = url.rsplit("token=", 1)[1]
        base = f"http://127.0.0.1:{port}"

        def get(path):
            with urllib.request.urlopen(f"{base}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()

        deadline, body = time.time() + 90, None
        while time.time() < deadline and body is None:
            try:
                _, body = get(f"/api/contents/quickstart.ipynb?token={token}&content=0")
            except OSError:
                time.sleep(1)
        assert body is not None, "JupyterLab did not answer"
        assert json.loads(body)["name"] == "quickstart.ipynb"
        status, page = get(url.removeprefix(base))  # the printed URL: JupyterLab's page
        assert status == 200 and "jupyter-config-data" in page
        _, settings = get(f"/lab/api/settings/@jupyterlab/apputils-extension:notification"
                          f"?token={token}")
        defaults = json.loads(settings)["schema"]["properties"]  # overrides set defaults
        assert defaults["fetchNews"]["default"] == "false"
        assert defaults["checkForUpdates"]["default"] is False
        _, news = get(f"/lab/api/news?token={token}")
        assert json.loads(news)["news"] == []  # news_url=None: nothing fetched
        proc.terminate()
        proc.wait(timeout=60)


def test_lazy_reconstruct_streams_to_zspy_and_equals_eager(data_dir, tmp_path, capsys):
    out = tmp_path / "needle.zspy"
    code = run_cli("reconstruct", data_dir / "HAADF.mrc", "--lazy", "--chunk-size", 64,
                   "--method", "SIRT", "--iterations", 3, "--thickness", 48, "-o", out)
    assert code == 0, capsys.readouterr().err
    rec = hs.load(out)
    assert isinstance(rec, etw.RecStack)
    expected = etw.load(data_dir / "HAADF.mrc").reconstruct(
        method="SIRT", iterations=3, thickness=48, show_progressbar=False)
    assert rec.data.shape == (256, 48, 256)
    np.testing.assert_allclose(rec.data, expected.data, rtol=1e-5, atol=1e-4)
    assert any("lazy=True" in line for line in rec.history)


@pytest.mark.parametrize("extra, message", [
    (["--lazy", "--register", "PC"], "--lazy reconstructs an aligned series"),
    (["--chunk-size", "0"], "--chunk-size must be >= 1"),
    (["--bin", "0"], "--bin must be >= 1"),
])
def test_refused_combinations(data_dir, tmp_path, capsys, extra, message):
    out = tmp_path / "x.hspy"
    assert run_cli("reconstruct", data_dir / "HAADF.mrc", *extra, "-o", out) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_scheduler_address_runs_on_a_two_process_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    stack = etw.datasets.get_catalyst_data(size=96, n_particles=8)
    src = stack.save(tmp_path / "cat.hspy")
    local, remote = tmp_path / "local.hspy", tmp_path / "remote.hspy"
    assert run_cli("reconstruct", src, "--method", "SIRT", "--iterations", 4, "-o", local) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code = run_cli("reconstruct", src, "--method", "SIRT", "--iterations", 4,
                       "--chunk-size", 24, "--scheduler", cluster.scheduler_address,
                       "-o", remote)
        assert code == 0, capsys.readouterr().err
        with distributed.Client(cluster) as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "chunk_task" in prefixes  # the slice chunks ran on the cluster's workers
    np.testing.assert_allclose(hs.load(remote).data, hs.load(local).data, rtol=1e-5, atol=1e-5)
    # the history replays without the cluster: the scheduler is not part of the result
    assert not any("client" in line.lower() for line in hs.load(remote).history)
    assert run_cli("replay", remote, "-o", tmp_path / "replayed.hspy") == 0
    np.testing.assert_allclose(hs.load(tmp_path / "replayed.hspy").data, hs.load(local).data,
                               rtol=1e-5, atol=1e-5)


def test_interrupted_lazy_write_leaves_no_store(tmp_path):
    """SIGINT while a lazy reconstruction streams into its .zspy store: no store is left."""
    stack = etw.datasets.get_catalyst_data()
    src = stack.save(tmp_path / "cat.zspy")
    out = tmp_path / "vol.zspy"
    with child_process(
        [sys.executable, "-m", "etspy_widgets.cli", "reconstruct", str(src), "--lazy",
         "--chunk-size", "8", "--method", "SIRT", "--iterations", "100", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:  # the partial store is written
            if any(".partial-" in p.name for p in tmp_path.iterdir()):
                break
            time.sleep(0.2)
        time.sleep(2.0)
        assert proc.poll() is None, "finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.zspy"]


def test_qc_writes_the_table_figure_and_series_row(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    stack = etw.datasets.get_catalyst_data(size=64, seed=0)
    data = np.asarray(stack.data).copy()
    data[30] *= 0.3
    stack.data = data
    stack.save(tmp_path / "s.hspy")
    out, png, row = tmp_path / "qc.csv", tmp_path / "qc.png", tmp_path / "series.csv"
    assert run_cli("qc", tmp_path / "s.hspy", "-o", out, "--plot", png, "--series", row) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 90 and table["flag"][30] == "dark"
    assert (table["flag"] != "").sum() == 1
    assert png.stat().st_size > 10_000 and "Tilt_Axis" in pd.read_csv(row).columns
    assert "1 flagged [30]" in capsys.readouterr().err
    assert run_cli("qc", tmp_path / "s.hspy", "-o", out) == 2          # exists, no --overwrite
    assert run_cli("qc", tmp_path / "missing.mrc", "-o", tmp_path / "x.csv") == 2
    assert run_cli("qc", tmp_path / "s.hspy", "-o", tmp_path / "x.txt") == 2
    assert not (tmp_path / "x.csv").exists()


def test_info_into_a_closed_pipe_exits_quietly(tmp_path):
    """`etspy-widgets info f | head`: the reader is gone; no traceback, status 141."""
    src = etw.datasets.get_catalyst_data(size=32).save(tmp_path / "cat.hspy")
    with child_process([sys.executable, "-m", "etspy_widgets.cli", "info", str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.close()  # closed before anything is written
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert err == ""


def test_demo_writes_into_the_current_folder(tmp_path, monkeypatch, capsys):
    from etspy_widgets import demo

    monkeypatch.chdir(tmp_path)
    assert demo.main(["--size", "32"]) == 0
    out = tmp_path / "etspy-widgets-demo.png"
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert f"Wrote {out}:" in capsys.readouterr().out
