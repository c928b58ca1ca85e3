"""Fixtures for the browser tests: one JupyterLab and one Chromium for the module."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, Lab


@pytest.fixture(scope="session")
def lab_root():
    root = Path(tempfile.mkdtemp(prefix="etw-nb-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(lab_root):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed: apt-get install -y chromium (see .ci/run)")
    server = Lab(lab_root).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_context():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="etw-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1100})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        # the one switch of the widgets' test instrumentation (js/transport.js: instrument)
        context.add_init_script("window.__etwInstrument = true;")
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
