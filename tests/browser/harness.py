"""JupyterLab + Debian Chromium (Playwright) for widget tests: start, open, run, read.

The recipe of ``BROWSER-TESTING.md``: JupyterLab on 127.0.0.1 with a token, fresh
settings/workspaces folders, the application exposed as ``window.jupyterapp`` (the
workbench's insert button needs it), Chromium from Debian (never a downloaded one).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A JupyterLab server serving ``root`` (a temporary folder of notebooks)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.tmp = Path(tempfile.mkdtemp(prefix="etw-lab-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Lab:
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(self.tmp / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
                   MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--allow-root", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log = open(self.tmp / "lab.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {(self.tmp / 'lab.log').read_text()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"{self.url}/api/status?token={self.token}", timeout=2) as resp:
                if resp.status == 200:
                    return self
            time.sleep(0.3)
        raise TimeoutError("JupyterLab did not answer within a minute")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def write_notebook(path: Path, cells: list[str]) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


# -- page helpers (JavaScript run in the page through window.jupyterapp) -----------------
JS_PANEL = """() => {
  const app = window.jupyterapp; if (!app) return null;
  const w = app.shell.currentWidget; return (w && w.content && w.sessionContext) ? w : null; }"""

JS_KERNEL_READY = """() => {
  const app = window.jupyterapp; if (!app) return false;
  const w = app.shell.currentWidget; if (!w || !w.sessionContext) return false;
  const s = w.sessionContext.session; if (!s || !s.kernel) return false;
  return s.kernel.status === 'idle' && s.kernel.connectionStatus === 'connected'; }"""


JS_READY_OR_ERROR = """(sel) => {
  if (document.querySelector(sel)) return true;
  for (const o of document.querySelectorAll('.jp-OutputArea-output[data-mime-type*=error]'))
    return o.textContent || 'error';
  return false; }"""


def open_and_run(page, lab: Lab, name: str, ready_selector: str, timeout_ms: int = 90000):
    """Open notebook ``name``, wait for its kernel, run all cells, wait for ``ready_selector``."""
    page.goto(lab.notebook_url(name))
    page.wait_for_function(JS_KERNEL_READY, timeout=timeout_ms)
    for _attempt in range(3):
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        try:
            page.wait_for_function(JS_READY_OR_ERROR, arg=ready_selector, timeout=timeout_ms)
        except Exception:  # run-all sometimes fires before the kernel is really there
            page.wait_for_function(JS_KERNEL_READY, timeout=timeout_ms)
            continue
        error = page.evaluate(JS_READY_OR_ERROR, ready_selector)
        if isinstance(error, str):
            raise RuntimeError(f"A cell of {name} failed: {error[-2000:]}")
        return
    raise TimeoutError(f"{ready_selector} never appeared in {name}")


def canvas_pixels(page, selector: str) -> list[int]:
    """The red channel of a canvas (the painted uint8 values under the grey colour map)."""
    return page.evaluate("""(sel) => {
      const c = document.querySelector(sel); if (!c || !c.width) return [];
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const out = new Array(d.length / 4);
      for (let i = 0; i < out.length; i++) out[i] = d[4 * i];
      return out; }""", selector)


def run_cell_source(page, source: str, timeout_ms: int = 60000):
    """Append a code cell with ``source`` (which sets ``RESULT``) at the end, run it, and
    return ``RESULT`` (through JSON)."""
    marker = uuid.uuid4().hex[:8]
    code = (source + f"\nimport json as _json\nprint('{marker}' + _json.dumps(RESULT) + "
            f"'{marker}')")
    page.evaluate("""([src]) => {
      const w = window.jupyterapp.shell.currentWidget; const nb = w.content;
      nb.model.sharedModel.insertCell(nb.model.cells.length, {cell_type: 'code', source: src});
      nb.activeCellIndex = nb.model.cells.length - 1;
      window.jupyterapp.commands.execute('notebook:run-cell'); }""", [code])
    js_find = """(m) => { const re = new RegExp(m + '(.*)' + m, 's');
      for (const o of document.querySelectorAll('.jp-OutputArea-output')) {
        const hit = re.exec(o.textContent); if (hit) return hit[1]; }
      for (const o of document.querySelectorAll('.jp-OutputArea-output[data-mime-type*=stderr]'))
        if (o.textContent.includes('Error')) return 'ERROR:' + o.textContent;
      return null; }"""
    page.wait_for_function(js_find, arg=marker, timeout=timeout_ms)
    text = page.evaluate(js_find, marker)
    if text.startswith("ERROR:"):
        raise RuntimeError(text)
    return json.loads(text)


def dump(obj) -> str:
    return json.dumps(obj, indent=1)
