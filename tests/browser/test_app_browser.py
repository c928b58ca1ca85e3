"""`etspy-widgets app`: the quick-start notebook served by Voilà renders a live workbench."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from harness import canvas_pixels, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    pytest.importorskip("voila", reason="the app needs Voila: pip install -e .[test] installs it")
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "voila.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etspy_widgets.cli", "app", "--no-browser", "--port",
             str(port)], stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "MPLBACKEND": "Agg"}, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    # ready when a static file of Voilà's answers: a request for the page itself starts a
    # kernel that executes the whole notebook to its end even once the request is dropped
    # (Voilà's handler runs it as a detached task), so probing the page ran the quick-start
    # notebook twice at once, and under load the page's own run took over 180 s
    probe = f"{url}voila/static/voila.js"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(OSError), urllib.request.urlopen(probe, timeout=5) as r:
                if r.status == 200:
                    break
            time.sleep(0.5)
        else:
            pytest.fail(f"Voilà did not answer: {log.read_text()[-2000:]}")
        yield url, proc.pid, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


JS_STATE = """() => { const r = document.querySelector('.etw-root');
  const el = r && r.parentElement;
  return {ready: document.readyState, roots: document.querySelectorAll('.etw-root').length,
    etwReady: el ? el.dataset.etwReady : null, instrumented: !!window.__etwInstrument,
    outputs: [...document.querySelectorAll('.jp-OutputArea-output')].map(
      (o) => o.textContent.slice(0, 120)).filter((t) => t.trim()).slice(-8)}; }"""


def kernels_of(pid: int) -> list:
    """The kernels Voilà (process ``pid``) runs: one per page load."""
    import psutil

    return [p for p in psutil.Process(pid).children(recursive=True)
            if any("ipykernel" in part for part in p.cmdline())]


def test_app_serves_a_live_workbench(app_url, browser_context):
    app_url, pid, log = app_url
    assert kernels_of(pid) == [], "waiting for the server started a kernel"
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        # Voila runs the notebook before the page's load event: on busy cores that takes
        # longer than Playwright's 30 s default, so wait for the widget instead
        page.goto(app_url, wait_until="commit", timeout=180000)
        try:
            page.wait_for_selector("[data-etw-ready='1'][data-slices-drawn]",
                                   state="attached", timeout=180000)
        except Exception:  # say where it stopped: the page, its outputs, Voilà's log
            state = page.evaluate(JS_STATE)
            pytest.fail(f"no slices drawn: {state}; {len(kernels_of(pid))} kernel(s); "
                        f"errors {errors}; Voilà's log: {log.read_text()[-3000:]}")
        pixels = canvas_pixels(page, "[data-pane='slice-1']")
        assert pixels and max(pixels) > min(pixels), "the slice canvas is blank"
        status = page.locator("[data-role='status']").text_content()
        assert "Error" not in status
        # the sliders reach the kernel: a key press on the shift slider redraws the slices
        seq = page.evaluate("() => document.querySelector('.etw-root').parentElement"
                            ".dataset.slicesSeq")
        page.locator("input[data-trait='tilt_shift']").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("(s) => document.querySelector('.etw-root').parentElement"
                               ".dataset.slicesSeq !== s", arg=seq, timeout=60000)
        assert len(kernels_of(pid)) == 1  # the page's own, nothing else runs the notebook
    finally:
        page.close()
    assert not [e for e in errors if "etw" in e or "workbench" in e], errors
