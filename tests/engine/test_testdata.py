"""`etspy-widgets data fetch` / `fetch_test_data`: ETSpy's wheel through pip, its SHA-256
checked, its test data unpacked atomically; a second run does nothing."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from etspy_widgets import datasets
from etspy_widgets.cli import main
from etspy_widgets.engine import datapath, testdata
from etspy_widgets.engine.errors import ChecksumError, DataNotFoundError

CACHED_WHEEL = testdata.cache_root() / "wheels" / testdata.WHEEL_NAME


def make_wheel(path: Path, files: dict[str, bytes], *, version="1.3.0") -> Path:
    """A minimal wheel (a zip with dist-info) that pip accepts."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        info = f"etspy-{version}.dist-info"
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: etspy\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                    "Tag: py3-none-any\n")
        zf.writestr(f"{info}/licenses/LICENSE", "NIST terms\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def small_wheel(tmp_path):
    return make_wheel(tmp_path / testdata.WHEEL_NAME, {
        "etspy/__init__.py": b"",
        "etspy/tests/test_base.py": b"def test_x(): pass\n",
        "etspy/tests/test_data/HAADF.rawtlt": b"-76\n-74\n",
        "etspy/tests/test_data/DM_Series_Test/a.dm3": b"\x00\x01\x02",
    })


def test_unpack_maps_the_prefix_marks_complete_and_is_idempotent(small_wheel, tmp_path):
    dest = tmp_path / "cache" / "etspy-testdata"
    out = testdata.unpack(small_wheel, testdata.DATA_PREFIX, dest, progress=False)
    assert out == dest.resolve()
    assert (dest / "HAADF.rawtlt").read_bytes() == b"-76\n-74\n"
    assert (dest / "DM_Series_Test" / "a.dm3").read_bytes() == b"\x00\x01\x02"
    assert not (dest / "test_base.py").exists() and not (dest / "__init__.py").exists()
    assert (dest / "LICENSE-ETSPY.txt").read_text() == "NIST terms\n"
    assert testdata.is_complete(dest)
    # nothing but the folder itself was left beside it (the temporary folder was renamed)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["etspy-testdata"]
    # a second run touches nothing, even with another wheel
    stamp = (dest / "HAADF.rawtlt").stat().st_mtime_ns
    other = make_wheel(tmp_path / "other.whl", {"etspy/tests/test_data/HAADF.rawtlt": b"0\n"})
    testdata.unpack(other, testdata.DATA_PREFIX, dest, progress=False)
    assert (dest / "HAADF.rawtlt").read_bytes() == b"-76\n-74\n"
    assert (dest / "HAADF.rawtlt").stat().st_mtime_ns == stamp


def test_unpack_refuses_a_foreign_folder_and_leaves_nothing_when_interrupted(small_wheel,
                                                                             tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="--dest"):
        testdata.unpack(small_wheel, testdata.DATA_PREFIX, foreign, progress=False)
    assert (foreign / "notes.txt").read_text() == "keep"
    # a corrupt member (CRC mismatch) fails half-way: no destination, no temporary folder
    bad = tmp_path / "bad.whl"
    data = small_wheel.read_bytes().replace(b"-76\n-74\n", b"-76\n-7X\n")
    bad.write_bytes(data)
    dest = tmp_path / "fresh" / "data"
    with pytest.raises(zipfile.BadZipFile):
        testdata.unpack(bad, testdata.DATA_PREFIX, dest, progress=False)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_a_wheel_with_another_checksum_is_refused(small_wheel, tmp_path, monkeypatch):
    """Real pip, offline: an index (find-links folder) that serves a different etspy 1.3.0."""
    index = tmp_path / "index"
    index.mkdir()
    os.replace(small_wheel, index / testdata.WHEEL_NAME)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    wheels = tmp_path / "wheels"
    with pytest.raises(ChecksumError, match=testdata.WHEEL_SHA256):
        testdata.get_wheel(wheels, quiet=True)
    assert not (wheels / testdata.WHEEL_NAME).exists()  # never cached
    assert isinstance(ChecksumError("x"), OSError)


def test_pip_failure_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))  # empty: nothing to find
    with pytest.raises(DataNotFoundError, match=r"pip download etspy==1\.3\.0") as err:
        testdata.get_wheel(tmp_path / "wheels", quiet=True)
    assert "etspy==1.3.0" in str(err.value) and "no matching distribution" in str(err.value).lower()


def test_cli_data_fetch_second_run_does_nothing(small_wheel, tmp_path, capsys, monkeypatch):
    dest = tmp_path / "data"
    testdata.unpack(small_wheel, testdata.DATA_PREFIX, dest, progress=False)
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # any download attempt would fail
    assert main(["data", "fetch", "--dest", str(dest), "-q"]) == 0
    assert f"already in {dest.resolve()}" in capsys.readouterr().out
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    assert main(["data", "fetch", "--dest", str(occupied), "-q"]) == 2  # bad input
    assert "remove it or choose another folder" in capsys.readouterr().err


def test_missing_data_names_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setattr(datapath, "candidate_folders", lambda: [tmp_path / "nowhere"])
    with pytest.raises(DataNotFoundError, match="etspy-widgets data fetch"):
        datasets.get_needle_data()


@pytest.mark.skipif(not CACHED_WHEEL.exists(), reason=f"ETSpy's wheel is not cached in "
                    f"{CACHED_WHEEL.parent} (`etspy-widgets data fetch` puts it there)")
def test_fetch_from_the_real_wheel_matches_its_record(tmp_path):
    """Every unpacked file has the SHA-256 that the wheel's RECORD lists for it."""
    dest = datasets.fetch_test_data(tmp_path / "etspy-testdata", progress=False)
    assert testdata.sha256(CACHED_WHEEL) == testdata.WHEEL_SHA256
    with zipfile.ZipFile(CACHED_WHEEL) as zf:
        record = zf.read(f"etspy-{testdata.ETSPY_VERSION}.dist-info/RECORD").decode()
    expected = {}
    for line in record.splitlines():
        name, digest, _size = line.rsplit(",", 2)
        if name.startswith(testdata.DATA_PREFIX):
            expected[name[len(testdata.DATA_PREFIX):]] = digest.removeprefix("sha256=")
    assert len(expected) > 20 and "HAADF.mrc" in expected
    for rel, digest in expected.items():
        raw = hashlib.sha256((dest / rel).read_bytes()).digest()
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == digest, rel
    # the package finds them there
    env = {**os.environ, "ETSPY_WIDGETS_DATA": str(dest)}
    out = subprocess.run([sys.executable, "-c", "from etspy_widgets.engine.datapath import "
                          "data_folder; print(data_folder())"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert Path(out) == dest
