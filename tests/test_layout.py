"""Tests mirror the package layout (docs/architecture.md, "Where the tests are").

A test of ``etspy_widgets/A/B/...`` lives in ``tests/A/B/``; a test of a top-level module
``etspy_widgets/M.py`` in ``tests/M/``. Only the whole-repository checks stay directly in
``tests/``. Test files are imported by basename (pytest's default import mode, no
``__init__.py`` in the test folders), so two test files may not share one.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from testpaths import ROOT, TESTS

PACKAGE = ROOT / "etspy_widgets"
#: whole-repository checks, not tests of one module: the only test files directly in tests/
TOP_LEVEL = {"test_docs.py", "test_layers.py", "test_layout.py", "test_lint.py",
             "test_notebooks.py"}
#: folders that are no mirror: the browser tests (own conftest, Chromium), ETSpy's suite
#: shim, the committed data, caches
NOT_MIRRORS = {"browser", "etspy_shim", "data", "__pycache__", ".pytest_cache"}
HOW = ("move it with `git mv` into the folder mirroring what it tests: tests/engine/recon/ "
       "for etspy_widgets/engine/recon/, tests/engine/ for etspy_widgets/engine/transform.py, "
       "tests/cli/ for etspy_widgets/cli.py (docs/architecture.md, 'Where the tests are')")


def _files(tests: Path):
    return [p for p in tests.rglob("test_*.py") if "__pycache__" not in p.parts]


def stray(tests: Path) -> list[str]:
    """Test files directly in ``tests/`` that are not whole-repository checks."""
    return sorted(p.name for p in tests.glob("test_*.py") if p.name not in TOP_LEVEL)


def unmirrored(tests: Path, package: Path = PACKAGE) -> list[str]:
    """Test files in a folder ``tests/A/B`` with no package ``A/B/`` nor module ``A/B.py``."""
    wrong = []
    for path in _files(tests):
        rel = path.parent.relative_to(tests).parts
        if not rel or rel[0] in NOT_MIRRORS:
            continue
        target = package.joinpath(*rel)
        if not ((target / "__init__.py").is_file() or target.with_suffix(".py").is_file()):
            wrong.append(path.relative_to(tests).as_posix())
    return sorted(wrong)


def shared_basenames(tests: Path) -> dict[str, list[str]]:
    seen = defaultdict(list)
    for path in _files(tests):
        seen[path.name].append(path.relative_to(tests).as_posix())
    return {name: sorted(where) for name, where in seen.items() if len(where) > 1}


def test_no_module_tests_directly_in_tests():
    assert not stray(TESTS), f"test files directly in tests/: {stray(TESTS)}; {HOW}."


def test_every_test_folder_mirrors_a_package_or_module():
    wrong = unmirrored(TESTS)
    assert not wrong, (f"test files in folders that mirror no etspy_widgets package or "
                       f"module: {wrong}; {HOW}.")


def test_test_basenames_are_unique():
    twice = shared_basenames(TESTS)
    assert not twice, (f"test files sharing a basename (pytest imports them by name): "
                       f"{twice}; rename one (e.g. test_io.py → test_io_mrc.py).")


def test_the_checks_catch_misplaced_files(tmp_path):
    """On a made-up tree: a stray top-level test, a folder mirroring nothing and a shared
    basename are each reported; mirrors of a package, a module and the browser are not."""
    tests = tmp_path / "tests"
    for rel in ("test_layers.py", "test_recon.py", "engine/recon/test_recon.py",
                "engine/nowhere/test_x.py", "cli/test_cli.py", "browser/test_b.py",
                "engine/test_transform.py"):
        (tests / rel).parent.mkdir(parents=True, exist_ok=True)
        (tests / rel).write_text("")
    assert stray(tests) == ["test_recon.py"]
    assert unmirrored(tests) == ["engine/nowhere/test_x.py"]
    assert shared_basenames(tests) == {"test_recon.py": ["engine/recon/test_recon.py",
                                                         "test_recon.py"]}
