"""Hostile files: folders and pipes named like files, lying headers, junk and missing
sidecars, duplicates — each refused with our error (an OSError) naming the file."""

from __future__ import annotations

import os
import struct
import threading

import mrcfile
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.engine.errors import TomoFileError, TomographyError

rng = np.random.default_rng(0)
DATA = rng.random((5, 64, 64)).astype(np.float32)


def _mrc(path, data=DATA):
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(data)
    return path


def _refused(path_or_list, *words, **kwargs):
    with pytest.raises(TomoFileError) as info:
        etw.load(path_or_list, **kwargs)
    assert isinstance(info.value, OSError) and isinstance(info.value, TomographyError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info.value


@pytest.mark.parametrize("name", ["x.mrc", "x.ali", "x.hspy", "x.dm4", "x.tif", "x.emd",
                                  "x.st"])
def test_a_folder_named_like_a_file(tmp_path, name):
    (tmp_path / name).mkdir()
    _refused(tmp_path / name, "is a folder", name)


@pytest.mark.parametrize("name", ["x.mrc", "x.hspy", "x.dm3", "x.tif", "x.zspy"])
def test_a_named_pipe_does_not_hang(tmp_path, name):
    pipe = tmp_path / name
    os.mkfifo(pipe)
    result = {}

    def run():
        try:
            etw.load(pipe)
        except Exception as err:
            result["err"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the thread ends, then fail
        with open(pipe, "wb"):
            pass
        pytest.fail(f"load({name}) blocked on a named pipe")
    err = result["err"]
    assert isinstance(err, TomoFileError) and "not a regular file" in str(err)


@pytest.mark.parametrize(("claimed", "words"), [
    ((32, 32), ("32 x 32", "header disagrees")),
    ((64, 32), ("64 x 32", "header disagrees")),
    ((16, 16), ("16 x 16",)),
])
def test_an_mrc_header_that_disagrees_with_the_file_size(tmp_path, claimed, words):
    path = _mrc(tmp_path / "lie.mrc")
    raw = bytearray(path.read_bytes())
    raw[0:8] = struct.pack("<ii", *claimed)
    path.write_bytes(bytes(raw))
    _refused(path, *words, tilts=np.arange(5.0))


@pytest.mark.parametrize("cut", [1, 1000, 20000])
def test_a_truncated_mrc(tmp_path, cut):
    path = _mrc(tmp_path / "cut.mrc")
    path.write_bytes(path.read_bytes()[:-cut])
    _refused(path, "truncated", tilts=np.arange(5.0))


@pytest.mark.parametrize("size", [0, 10, 1023])
def test_a_file_shorter_than_a_header(tmp_path, size):
    path = tmp_path / "short.mrc"
    path.write_bytes(b"\1" * size)
    _refused(path, "shorter than an MRC header")


def test_junk_with_an_mrc_name(tmp_path):
    path = tmp_path / "junk.mrc"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    _refused(path, "not an MRC file")


@pytest.mark.parametrize(("content", "words"), [
    ("PixelSpacing = 1.0\n[ZValue = 0]\nExposureTime = 1\n", ("no 'TiltAngle",)),
    ("[ZValue = 0]\nDose = 2\n[ZValue = 1]\nDose = 2\n", ("no 'TiltAngle",)),
    (b"\x00\x01\x02" * 600, ("binary data",)),
    (os.urandom(3000), ("binary",)),
    ("just some words without keys\n", ("not a SerialEM .mdoc",)),
])
def test_a_bad_mdoc_is_refused_not_zeros(tmp_path, content, words):
    path = _mrc(tmp_path / "a.mrc", DATA[:1])
    side = tmp_path / "a.mrc.mdoc"
    side.write_bytes(content if isinstance(content, bytes) else content.encode())
    err = _refused(path, *words)
    assert "a.mrc.mdoc" in str(err)


def test_a_bad_mdoc_is_fine_when_the_tilts_are_given(tmp_path):
    path = _mrc(tmp_path / "a.mrc", DATA[:1])
    (tmp_path / "a.mrc.mdoc").write_text("[ZValue = 0]\nDose = 2\n")
    assert etw.load(path, tilts=[10.0]).tilt_values.tolist() == [10.0]


def _frames(tmp_path, n=3, with_mdoc=(True, True, True)):
    paths = []
    for k in range(n):
        p = _mrc(tmp_path / f"f{k}.mrc", DATA[:2] + k)
        if with_mdoc[k]:
            (tmp_path / f"f{k}.mrc.mdoc").write_text(f"[ZValue = 0]\nTiltAngle = {10 * k}\n")
        paths.append(p)
    return paths


@pytest.mark.parametrize("missing", [(False, True, True), (True, False, True),
                                     (True, True, False), (True, False, False)])
def test_a_multi_frame_list_with_a_missing_mdoc(tmp_path, missing):
    paths = _frames(tmp_path, 3, missing)
    names = [p.name for p, m in zip(paths, missing, strict=True) if not m]
    err = _refused([str(p) for p in paths], "have no .mdoc")
    assert all(n in str(err) for n in names)


def test_a_multi_frame_list_with_every_mdoc_loads_its_tilts(tmp_path):
    stack = etw.load([str(p) for p in _frames(tmp_path)])
    assert np.unique(stack.tilt_values).tolist() == [0.0, 10.0, 20.0]


@pytest.mark.parametrize("twice", [0, 1, 2])
def test_the_same_file_twice_in_a_list(tmp_path, twice):
    paths = [str(p) for p in _frames(tmp_path)]
    paths.append(paths[twice])
    _refused(paths, "twice", f"f{twice}.mrc")


def test_the_same_file_twice_through_another_spelling(tmp_path):
    paths = [str(p) for p in _frames(tmp_path)]
    paths.append(str(tmp_path / "." / "f1.mrc"))
    _refused(paths, "twice")


@pytest.mark.parametrize("name", ["missing.mrc", "missing.hspy", "nothing/here.mrc"])
def test_a_missing_file(tmp_path, name):
    with pytest.raises(FileNotFoundError) as info:
        etw.load(tmp_path / name)
    assert isinstance(info.value, TomographyError) and "No such file" in str(info.value)


def test_an_unknown_extension(tmp_path):
    path = tmp_path / "x.weird"
    path.write_bytes(b"123")
    _refused(path, "Unknown file type", ".weird")
