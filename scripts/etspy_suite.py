#!/usr/bin/env python
"""Run ETSpy 1.3.0's own test suite, unmodified, against etspy-widgets.

    python scripts/etspy_suite.py [--min-rate 95] [-k EXPR] [-- PYTEST ARGS]

Gets ETSpy 1.3.0's wheel with ``pip download etspy==1.3.0 --no-deps`` (the only network
use; cached in ``~/.cache/etspy-widgets/wheels``, SHA-256 checked), unpacks its
``etspy/tests`` (tests and ``test_data`` side by side, as in the wheel) into
``~/.cache/etspy-widgets/etspy-1.3.0-suite/etspy/tests`` and runs them with pytest through
the names-only shim ``tests/etspy_shim`` (``etspy.X`` is ``etspy_widgets.etspy.X``).

It prints ``N of M ETSpy-passing tests pass (P %)``, where M counts the tests that pass on
ETSpy 1.3.0 itself (``tests/etspy_shim/etspy_passing.txt``; the tests ETSpy skips without
CUDA are in ``etspy_cuda.txt`` and not counted), then every one of the M that does not pass
here. Exit status 1 when P < ``--min-rate`` (or pytest could not run), else 0.

``--against-etspy`` runs the same suite on ETSpy itself (the wheel installed with
``--no-deps`` into the cache, on this environment's HyperSpy/ASTRA); with
``--write-baseline`` it rewrites the two lists from that run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "tests" / "etspy_shim"
PASSING = SHIM / "etspy_passing.txt"
CUDA = SHIM / "etspy_cuda.txt"
sys.path.insert(0, str(ROOT))

from etspy_widgets.engine import testdata  # noqa: E402


def read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def prepare(cache: Path) -> Path:
    """The unpacked suite's ``etspy`` folder (holding ``tests/`` and ``tests/test_data``)."""
    wheel = testdata.get_wheel(cache / "wheels")
    suite = cache / f"etspy-{testdata.ETSPY_VERSION}-suite" / "etspy"
    testdata.unpack(wheel, testdata.TESTS_PREFIX, suite / "tests", progress=sys.stderr.isatty())
    return suite


def install_etspy(cache: Path) -> Path:
    """ETSpy itself, installed without dependencies into the cache (for ``--against-etspy``)."""
    target = cache / f"etspy-{testdata.ETSPY_VERSION}-real"
    if not (target / "etspy" / "__init__.py").exists():
        wheel = testdata.get_wheel(cache / "wheels")
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".etspy-real-"))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "--target", str(tmp), str(wheel)],
                       check=True)
        os.replace(tmp, target)
    return target


def run_suite(suite: Path, against_etspy: bool, cache: Path, extra: list[str]):
    """Run pytest on the suite; ({test id: outcome}, pytest's exit code, seconds)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    report = Path(tempfile.mkstemp(prefix="etspy-suite-", suffix=".json")[1])
    env["ETSPY_SUITE_REPORT"] = str(report)
    if against_etspy:
        real = install_etspy(cache)
        path = [str(real), str(SHIM)]  # the real etspy first; SHIM for the plugin only
        env["ETSPY_SUITE_HIDE_ETW"] = "1"
        env.pop("ETSPY_SUITE_DIR", None)
    else:
        path = [str(SHIM), str(ROOT)]
        env["ETSPY_SUITE_DIR"] = str(suite)
        env["ETSPY_WIDGETS_DATA"] = str(suite / "tests" / "test_data")
    env["PYTHONPATH"] = os.pathsep.join(path + [p for p in [os.environ.get("PYTHONPATH")] if p])
    cmd = [sys.executable, "-m", "pytest", str(suite / "tests"), "-p", "etspy_suite_plugin",
           "-p", "no:cacheprovider", f"--rootdir={suite / 'tests'}",
           f"-c={SHIM / 'pytest.ini'}", "-q", "--no-header", "-rN", "--tb=no",
           "--continue-on-collection-errors", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=suite / "tests", check=False)
    seconds = time.perf_counter() - start
    try:
        results = json.loads(report.read_text() or "{}")
    finally:
        report.unlink(missing_ok=True)
    return results, proc.returncode, seconds


def write_baseline(results: dict[str, str]) -> None:
    passing = sorted(t for t, o in results.items() if o == "passed")
    skipped = sorted(t for t, o in results.items() if o == "skipped")
    head = (f"# ETSpy {testdata.ETSPY_VERSION}'s own tests that pass on ETSpy itself "
            "(python scripts/etspy_suite.py --against-etspy --write-baseline)\n")
    PASSING.write_text(head + "\n".join(passing) + "\n")
    CUDA.write_text(f"# skipped on ETSpy {testdata.ETSPY_VERSION} itself without CUDA/CuPy "
                    "(skipif astra.use_cuda() / cupy importable); not counted\n"
                    + "\n".join(skipped) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--cache", type=Path, default=testdata.cache_root())
    parser.add_argument("--min-rate", type=float, default=0.0,
                        help="fail (exit 1) below this percentage")
    parser.add_argument("--against-etspy", action="store_true",
                        help="run the suite on ETSpy 1.3.0 itself")
    parser.add_argument("--write-baseline", action="store_true",
                        help="with --against-etspy: rewrite etspy_passing.txt / etspy_cuda.txt")
    parser.add_argument("-k", help="pytest -k expression (the figure is then partial)")
    parser.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")
    args = parser.parse_args(argv)
    suite = prepare(args.cache)
    extra = list(args.pytest_args) + (["-k", args.k] if args.k else [])
    results, code, seconds = run_suite(suite, args.against_etspy, args.cache, extra)
    if code not in (0, 1) or not results:
        print(f"pytest could not run ETSpy's suite (exit {code})", file=sys.stderr)
        return 1
    if args.against_etspy and args.write_baseline:
        write_baseline(results)
    expected = read_list(PASSING)
    if args.k:
        expected = [t for t in expected if t in results]
    passed = [t for t in expected if results.get(t) == "passed"]
    failing = [t for t in expected if results.get(t) != "passed"]
    rate = 100.0 * len(passed) / len(expected) if expected else 0.0
    broken = sorted(t for t, o in results.items() if o == "error")
    for tid in failing:
        print(f"  not passing: {tid} ({results.get(tid, 'not collected')})")
    for tid in broken:
        print(f"  collection error: {tid}")
    print(f"{len(passed)} of {len(expected)} ETSpy-passing tests pass ({rate:.1f} %) "
          f"[{len(read_list(CUDA))} CUDA tests not counted; {seconds:.0f} s]")
    if rate < args.min_rate:
        print(f"below the required {args.min_rate:g} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
