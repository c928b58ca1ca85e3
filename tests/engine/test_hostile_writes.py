"""Hostile writes: every output is all-or-nothing (errors, Ctrl-C, SIGTERM, a full disk),
an overwrite never deletes a folder, and a pipe or a missing folder is refused."""

from __future__ import annotations

import errno
import os
import signal

import numpy as np
import pytest
from hostile_fixtures import fill, listing, phantom_stack, tmpfs

import etspy_widgets as etw
from etspy_widgets import cli
from etspy_widgets.actions import ActionLog, verbs
from etspy_widgets.engine.atomic import atomic_path
from etspy_widgets.engine.errors import (
    DiskFullError,
    OutputExistsError,
    OutputPathError,
    TomographyError,
)


@pytest.fixture(scope="module")
def stack():
    return phantom_stack((32, 32))


@pytest.fixture(scope="module")
def rec(stack):
    return stack.reconstruct(thickness=32, show_progressbar=False)


# -- atomic_path itself: any exception, the temporary goes and the old file stays ------------
FAILURES = [ValueError("boom"), OSError(errno.EIO, "I/O error"), KeyboardInterrupt(),
            SystemExit(130), MemoryError()]


@pytest.mark.parametrize("old", [None, b"old content"])
@pytest.mark.parametrize("failure", FAILURES, ids=lambda e: type(e).__name__)
def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, failure, old):
    target = tmp_path / "out.bin"
    if old is not None:
        target.write_bytes(old)
    with pytest.raises(type(failure)), atomic_path(target, overwrite=True) as tmp:
        tmp.write_bytes(b"half of the new cont")
        raise failure
    assert listing(tmp_path) == (["out.bin"] if old is not None else [])
    if old is not None:
        assert target.read_bytes() == old


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_write_under_the_cli_removes_the_temporary(tmp_path, signum):
    """The CLI turns SIGTERM/SIGHUP into KeyboardInterrupt, so the writer's finally runs."""
    target = tmp_path / "vol.hspy"
    target.write_bytes(b"previous result")
    with pytest.raises(KeyboardInterrupt), cli._signals_as_interrupt(), \
            atomic_path(target, overwrite=True) as tmp:
        tmp.write_bytes(b"partial")
        os.kill(os.getpid(), signum)
        for _ in range(1000):  # the handler runs between bytecodes
            pass
    assert listing(tmp_path) == ["vol.hspy"]
    assert target.read_bytes() == b"previous result"
    # and the handlers are restored afterwards
    assert signal.getsignal(signal.SIGTERM) is not cli._terminate


def test_write_is_flushed_and_complete(tmp_path, stack):
    path = stack.save(tmp_path / "s.hspy")
    assert listing(tmp_path) == ["s.hspy"]
    np.testing.assert_array_equal(etw.load(path).data, stack.data)


# -- overwrite never replaces a folder ------------------------------------------------------
def _folder(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    (d / "precious.txt").write_text("keep me")
    return d


@pytest.mark.parametrize("name", ["vol.hspy", "vol.zspy", "vol.mrc", "vol.emd", "vol.zarr",
                                  "vol"])
def test_rec_save_overwrite_never_deletes_a_folder(tmp_path, rec, name):
    d = _folder(tmp_path, name)
    target = d  # "vol" (no suffix) is saved as vol.hspy, beside the folder
    if not d.suffix:
        rec.save(target, overwrite=True)
        assert (tmp_path / "vol.hspy").is_file()
    else:
        with pytest.raises(OutputPathError, match="folder") as info:
            rec.save(target, overwrite=True)
        assert isinstance(info.value, OSError)
        assert str(d) in str(info.value)
    assert (d / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["s.hspy", "s.xf", "s.tlt", "s.mrc", "s.ali", "s.emd",
                                  "s.zarr", "s.aln"])
def test_stack_save_overwrite_never_deletes_a_folder(tmp_path, stack, name):
    d = _folder(tmp_path, name)
    with pytest.raises(OutputPathError, match="folder"):
        stack.save(d, overwrite=True)
    assert listing(d) == ["precious.txt"]


def test_code_log_export_never_deletes_a_folder(tmp_path, stack):
    d = _folder(tmp_path, "analysis.py")
    log = ActionLog(stack)
    with pytest.raises(OutputPathError, match="folder"):
        log.export(d, overwrite=True)
    with pytest.raises(OutputPathError, match="folder"):
        log.to_notebook(_folder(tmp_path, "analysis.ipynb"), overwrite=True)
    assert listing(d) == ["precious.txt"]


def test_a_zspy_store_is_replaced_by_a_new_one(tmp_path, rec):
    path = rec.save(tmp_path / "v.zspy")
    (rec * 2).save(path, overwrite=True)
    np.testing.assert_allclose(etw.load(path).data, 2 * rec.data, rtol=1e-6)
    assert listing(tmp_path) == ["v.zspy"]


# -- exists, pipes, missing folders ---------------------------------------------------------
@pytest.mark.parametrize("name", ["s.hspy", "s.zspy", "s.mrc", "s.emd", "s.zarr", "s.xf",
                                  "s.tlt"])
def test_an_existing_output_is_kept_without_overwrite(tmp_path, stack, name):
    target = tmp_path / name
    target.write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match="overwrite=True") as info:
        stack.save(target)
    assert isinstance(info.value, FileExistsError)
    assert target.read_bytes() == b"mine"
    assert listing(tmp_path) == [name]


@pytest.mark.parametrize("name", ["p.hspy", "p.mrc", "p.py"])
def test_a_named_pipe_as_output_is_refused_without_hanging(tmp_path, stack, name):
    pipe = tmp_path / name
    os.mkfifo(pipe)
    with pytest.raises(OutputPathError, match="not a regular file"):
        if name.endswith(".py"):
            ActionLog(stack).export(pipe, overwrite=True)
        else:
            stack.save(pipe, overwrite=True)
    assert listing(tmp_path) == [name]


@pytest.mark.parametrize("name", ["s.hspy", "s.mrc", "s.xf"])
def test_a_missing_folder_is_named(tmp_path, stack, name):
    with pytest.raises(OutputPathError, match="does not exist") as info:
        stack.save(tmp_path / "nowhere" / name)
    assert "nowhere" in str(info.value)
    assert listing(tmp_path) == []


def test_save_raw_is_all_or_nothing(tmp_path, stack):
    path = stack.save_raw(tmp_path / "raw")
    assert sorted(listing(tmp_path)) == sorted([path.name, path.with_suffix(".raw").name])
    with pytest.raises(OutputExistsError):
        stack.save_raw(tmp_path / "raw")
    assert len(listing(tmp_path)) == 2


# -- a full disk ---------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        yield disk


@pytest.mark.parametrize("name", ["v.hspy", "v.zspy", "v.mrc", "v.emd", "v.zarr"])
def test_rec_save_on_a_full_disk(full_disk, name):
    big = etw.RecStack(np.random.default_rng(0).random((64, 48, 64)).astype(np.float32))
    filler = fill(full_disk, leave=200_000)
    with pytest.raises(DiskFullError, match=r"disk is full|Not enough space") as info:
        big.save(full_disk / name)
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert "nothing was written" in str(info.value)
    assert listing(full_disk) == [filler.name]


@pytest.mark.parametrize("name", ["s.hspy", "s.zspy", "s.mrc", "s.ali", "s.emd"])
def test_stack_save_on_a_full_disk_keeps_the_old_file(full_disk, name):
    big = etw.TomoStack(np.random.default_rng(1).random((40, 64, 64)).astype(np.float32),
                        tilts=np.linspace(-60, 60, 40))
    old = full_disk / name
    if name.endswith((".hspy", ".mrc", ".ali", ".emd")):
        old.write_bytes(b"the previous result")
    filler = fill(full_disk, leave=150_000)
    with pytest.raises(DiskFullError):
        big.save(old, overwrite=True)
    names = listing(full_disk)
    assert all("partial" not in n for n in names), names
    if old.is_file():
        assert old.read_bytes() == b"the previous result"
    assert filler.name in names


@pytest.mark.parametrize("kind", ["export", "notebook"])
def test_code_log_export_on_a_full_disk(full_disk, stack, kind):
    log = ActionLog(stack)
    log.apply(verbs.remove_projections([3]))
    fill(full_disk, leave=0)
    before = listing(full_disk)
    with pytest.raises(DiskFullError):
        if kind == "export":
            log.export(full_disk / "analysis.py")
        else:
            log.to_notebook(full_disk / "analysis.ipynb")
    assert listing(full_disk) == before


def test_disk_full_error_is_a_tomography_oserror():
    err = DiskFullError("x")
    assert isinstance(err, OSError) and isinstance(err, TomographyError)
    assert err.errno == errno.ENOSPC

