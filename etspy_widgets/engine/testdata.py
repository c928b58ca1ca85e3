"""ETSpy 1.3.0's published test data (and test suite), fetched from the package registry.

ETSpy's wheel carries its test suite and the data it uses (``etspy/tests/test_data``: the
needle ``HAADF.mrc``, DM and SerialEM series, ~77 MB, NIST licence). ``fetch_test_data``
gets the wheel through pip (``python -m pip download etspy==1.3.0 --no-deps``, so pip's
index and proxy settings apply), checks its SHA-256 against the value recorded here and
unpacks the data into the user cache, where [`data_folder`][etspy_widgets.engine.datapath]
finds them. A second call finds them there and does nothing.

The wheel is kept in ``~/.cache/etspy-widgets/wheels`` so that ``scripts/etspy_suite.py``
(ETSpy's own tests run against this project) reuses it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import ChecksumError, DataNotFoundError, OutputExistsError

ETSPY_VERSION = "1.3.0"
WHEEL_NAME = f"etspy-{ETSPY_VERSION}-py3-none-any.whl"
# sha256sum of the wheel pip downloaded on 2026-12-01; the same as the registry's
# (https://pypi.org/simple/etspy/ lists ...whl#sha256=23b07379...)
WHEEL_SHA256 = "23b07379a1e973a4f69445b0a634687d4af4bb6a806d24bdce49be57afbd36f8"
DATA_PREFIX = "etspy/tests/test_data/"
LICENSE_MEMBER = f"etspy-{ETSPY_VERSION}.dist-info/licenses/LICENSE"  # NIST's terms
TESTS_PREFIX = "etspy/tests/"
# written last into a folder unpacked from the wheel: its presence means "complete"
MARKER = ".etspy-widgets-complete"
# files the data tests read; all must be there after unpacking
REQUIRED = ("HAADF.mrc", "HAADF.rawtlt", "HAADF_Aligned.hspy", "HAADF.dm3")

FETCH_COMMAND = "etspy-widgets data fetch"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/etspy-widgets`` (``~/.cache/etspy-widgets`` when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "etspy-widgets"


def default_data_folder() -> Path:
    """Where ``fetch_test_data()`` puts the data by default (searched by ``data_folder``)."""
    return cache_root() / "etspy-testdata"


def sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_wheel(wheel_dir: Path | None = None, *, quiet: bool = False) -> Path:
    """ETSpy 1.3.0's wheel, downloaded through pip when not already cached.

    Raises
    ------
    DataNotFoundError
        When pip cannot download it (no network, no index); the message has pip's last lines.
    ChecksumError
        When the file's SHA-256 is not `WHEEL_SHA256` (a cached file that does not match
        is removed first and downloaded again once).
    """
    wheel_dir = Path(wheel_dir) if wheel_dir is not None else cache_root() / "wheels"
    wheel = wheel_dir / WHEEL_NAME
    if wheel.exists():
        if sha256(wheel) == WHEEL_SHA256:
            return wheel
        wheel.unlink()  # a truncated or foreign file: fetch it again
    wheel_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheel_dir, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"etspy=={ETSPY_VERSION}", "--no-deps",
               "--only-binary=:all:", "--disable-pip-version-check", "-d", tmp]
        if quiet:
            cmd.append("-q")
        print(f"downloading ETSpy {ETSPY_VERSION}'s wheel (66.6 MB): {' '.join(cmd[2:])}",
              file=sys.stderr)
        proc = subprocess.run(cmd, stdout=sys.stderr if not quiet else subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False)
        got = Path(tmp) / WHEEL_NAME
        if proc.returncode != 0 or not got.exists():
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise DataNotFoundError(
                f"`pip download etspy=={ETSPY_VERSION} --no-deps` failed (exit "
                f"{proc.returncode}):\n{tail}\nCheck the network or pip's index settings "
                f"(pip config list), or put {WHEEL_NAME} in {wheel_dir} yourself.")
        digest = sha256(got)
        if digest != WHEEL_SHA256:
            raise ChecksumError(
                f"{WHEEL_NAME} from pip has SHA-256 {digest}, expected {WHEEL_SHA256}. "
                "The index served another file; check pip's index settings (pip config list).")
        os.replace(got, wheel)
    return wheel


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` was fully unpacked from the wheel (its marker file is there)."""
    marker = Path(folder) / MARKER
    return marker.exists() and marker.read_text().strip() == WHEEL_SHA256


def unpack(wheel: Path, prefix: str, dest: Path, *, progress: bool = True) -> Path:
    """Unpack the members of ``wheel`` under ``prefix`` into ``dest``, atomically.

    The files go to a temporary folder beside ``dest``, which is renamed to ``dest`` once
    complete, so an interrupted run leaves nothing half-written where the data are looked
    for. A ``dest`` that is already complete is left alone.

    Raises
    ------
    OutputExistsError
        (a ``FileExistsError``) When ``dest`` exists, is not empty and was not unpacked by
        this function.
    """
    from tqdm.auto import tqdm

    dest = Path(dest).expanduser().resolve()
    if is_complete(dest):
        return dest
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise OutputExistsError(
            f"{dest} exists and was not unpacked by `{FETCH_COMMAND}`; remove it or choose "
            "another folder (--dest DIR)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
        total = sum(m.file_size for m in members)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
        try:
            tmp.chmod(0o755)  # mkdtemp's 0o700 would hide the data from other users
            with tqdm(total=total, unit="B", unit_scale=True, disable=not progress,
                      desc=f"unpacking to {dest.name}", file=sys.stderr) as bar:
                for member in members:
                    rel = Path(member.filename[len(prefix):])
                    if rel.is_absolute() or ".." in rel.parts:
                        continue  # never write outside the folder
                    target = tmp / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                    bar.update(member.file_size)
            if LICENSE_MEMBER in zf.namelist():  # the data's licence travels with them
                (tmp / "LICENSE-ETSPY.txt").write_bytes(zf.read(LICENSE_MEMBER))
            (tmp / MARKER).write_text(WHEEL_SHA256 + "\n")
            if dest.exists():
                dest.rmdir()  # empty (checked above)
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest


def fetch_test_data(dest: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Download ETSpy 1.3.0's test data into ``dest`` (default: the user cache); its path.

    Does nothing (no network) when ``dest`` already holds them.
    """
    dest = Path(dest).expanduser() if dest is not None else default_data_folder()
    if is_complete(dest):
        return dest.resolve()
    wheel = get_wheel(quiet=not progress)
    folder = unpack(wheel, DATA_PREFIX, dest, progress=progress)
    missing = [name for name in REQUIRED if not (folder / name).exists()]
    if missing:  # pragma: no cover - the checksum pins the wheel's content
        raise DataNotFoundError(f"{WHEEL_NAME} lacks {missing}; it is not ETSpy 1.3.0's wheel")
    return folder
