"""The documentation builds without warnings (mkdocs --strict)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_docs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None and not _has_module("mkdocs"):
        pytest.fail("mkdocs is not installed; `pip install -e .[test]` installs it")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    assert (site / "index.html").exists()
    api = (site / "api" / "index.html").read_text()
    assert "stack_register" in api and "reconstruct" in api
    # the verbs are rendered from their docstrings on the signals page
    signals = (site / "api" / "signals" / "index.html").read_text()
    for verb in ("stack_register", "tilt_align", "align_other", "test_align", "reconstruct",
                 "recon_error"):
        assert f'id="etspy_widgets.engine.signals.TomoStack.{verb}"' in signals, verb
    assert 'id="etspy_widgets.engine.signals.RecStack.forward_project"' in signals
    # every API sub-page renders objects from the docstrings
    pages = sorted((site / "api").glob("*/index.html"))
    assert len(pages) >= 5
    for page in pages:
        assert "doc-heading" in page.read_text(), page


def _has_module(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None
