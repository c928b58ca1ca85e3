"""The workbench front end's pure helpers, tested with Node's own test runner (no packages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_front_end_helpers_with_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the JS unit tests need `node --test`)")
    proc = subprocess.run([node, "--test", "js/"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout
