"""Shared pieces of the hostile-input suite (tests/test_hostile_*.py): small real stacks,
a full disk (a tmpfs filled to the last page) and a listing of what a folder holds."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from align_phantoms import make_phantom

import etspy_widgets as etw

TILTS = np.arange(-70.0, 71.0, 10.0)  # 15 projections


def phantom_stack(size=(48, 48)) -> etw.TomoStack:
    """A small blob tilt series with real mass (CoM, PC, PM have something to find)."""
    ph = make_phantom("catalyst", size=size, tilts=TILTS, jitter=2.0, seed=1)
    return etw.TomoStack(ph.data.astype(np.float32), tilts=ph.tilts)


def listing(folder: Path) -> list[str]:
    """Every name in ``folder`` (hidden temporaries included), sorted."""
    return sorted(os.listdir(folder))


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "1m"):
    """A small tmpfs mounted at ``folder`` (skips, saying why, where mount is refused)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(folder)], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"disk-full tests need `mount -t tmpfs` (root): {err}")
    if proc.returncode != 0:
        pytest.skip(f"disk-full tests need `mount -t tmpfs` (root): {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30,
                       check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` until at most ``leave`` bytes are free."""
    filler = folder / f"filler-{uuid.uuid4().hex[:6]}"
    block = b"\0" * 65536
    with open(filler, "wb") as fh:
        try:
            while os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize > leave + 65536:
                fh.write(block)
                fh.flush()
            fh.write(b"\0" * max(0, os.statvfs(folder).f_bavail
                                 * os.statvfs(folder).f_frsize - leave))
            fh.flush()
        except OSError:
            pass
    return filler
