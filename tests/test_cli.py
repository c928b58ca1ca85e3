"""The etspy-widgets command: real files, equality with the Python API, exit codes, atomicity."""

from __future__ import annotations

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
    proc = subprocess.Popen(
        [sys.executable, "-m", "etspy_widgets.cli", "reconstruct", str(src), "--method", "SIRT",
         "--iterations", "200", "-o", str(out)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
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
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "etspy_widgets.cli", "lab", "--no-browser", "--port", str(port),
         "--", "--IdentityProvider.token=t0ken"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/contents/quickstart.ipynb?token=t0ken&content=0"
        deadline, body = time.time() + 90, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = resp.read().decode()
            except OSError:
                time.sleep(1)
        assert body is not None, "JupyterLab did not answer"
        assert '"name": "quickstart.ipynb"' in body or '"name":"quickstart.ipynb"' in body
    finally:
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "etspy_widgets.cli", "reconstruct", str(src), "--lazy",
         "--chunk-size", "8", "--method", "SIRT", "--iterations", "100", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:  # the partial store is being written
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
