"""pytest plugin of ``scripts/etspy_suite.py``: records each test's outcome as JSON.

``ETSPY_SUITE_REPORT`` names the JSON file written at the end ({test id: outcome}, the test id
relative to ETSpy's ``tests`` folder, e.g. ``test_base.py::TestX::test_y[a]``).

With ``ETSPY_SUITE_HIDE_ETW=1`` (the run against ETSpy itself, to measure which tests pass
there) etspy-widgets' HyperSpy extension is hidden before HyperSpy is imported, so that
``signal_type="TomoStack"`` means ETSpy's class and not ours.
"""

import importlib.metadata as _md
import json
import os

if os.environ.get("ETSPY_SUITE_HIDE_ETW") == "1":
    _entry_points = _md.entry_points

    def _without_etw(**kwargs):
        eps = _entry_points(**kwargs)
        if kwargs.get("group") == "hyperspy.extensions":
            return _md.EntryPoints([e for e in eps if not e.value.startswith("etspy_widgets")])
        return eps

    _md.entry_points = _without_etw

_results: dict[str, str] = {}


def _test_id(nodeid: str) -> str:
    return nodeid.split("tests/", 1)[-1] if "tests/" in nodeid else nodeid


def pytest_runtest_logreport(report):
    tid = _test_id(report.nodeid)
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results[tid] = report.outcome
    elif report.when == "teardown" and report.outcome == "failed":
        _results[tid] = "failed"


def pytest_collectreport(report):
    if report.outcome == "failed":  # a module that cannot be imported: all its tests fail
        _results[_test_id(report.nodeid) + "::<collection>"] = "error"


def pytest_sessionfinish(session):
    path = os.environ.get("ETSPY_SUITE_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump(_results, fh, indent=0, sort_keys=True)
