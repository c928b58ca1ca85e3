"""The judging panes from Python: quality strip, alignment curves, tilt-axis scan, volume.

``stack.quality()`` and ``stack.tilt_axis_scan()`` are being written on another branch;
until they land, the report and the scan here are built from real per-projection
measurements of the series (normalised cross-correlation with the neighbours, the engine's
phase-correlation shifts, slice sharpness over trial rotations), in their contract's shape.
"""

from __future__ import annotations

import numpy as np
import pytest
from judging_fakes import NeighbourReport, SharpnessScan

import etspy_widgets as etw
from etspy_widgets.widgets.workbench import _frames, _panels


@pytest.fixture(scope="module")
def series():
    sim = etw.datasets.get_catalyst_data(seed=0, size=64, n_particles=8, return_truth=True,
                                         tiltrotate=2.0)
    data = np.array(sim.aligned, np.float32)
    rng = np.random.default_rng(0)
    data[7] = rng.permutation(data[7].ravel()).reshape(data[7].shape)  # a ruined projection
    return etw.TomoStack(data, tilts=sim.stack.tilt_values)


@pytest.fixture
def wb(series):
    widget = etw.AlignmentWorkbench(series)
    widget.wait()
    yield widget
    widget.shutdown()


def test_quality_strip_flags_the_ruined_projection_and_removes_it_in_one_action(wb, series):
    report = NeighbourReport(series)
    assert report.flagged == [7]  # the stand-in finds it from the data alone
    wb.show_quality(report)
    q = wb.quality
    assert q["flagged"] == [7] and q["flag"][7] == "high residual" and q["flag"][6] == ""
    assert q["residual"] == pytest.approx(report.table["residual"].tolist())
    assert wb.curves["measured_dy"] == pytest.approx(report.table["dy"].tolist())
    assert wb.curves["dy"] == [0.0] * 90  # nothing applied yet
    wb.press("remove_flagged")
    assert wb.wait(60)
    assert wb.log.lines()[-1] == "stack = stack.remove_projections(projections=[7])"
    assert wb.stack.data.shape[0] == 89 and wb.error == ""
    np.testing.assert_array_equal(wb.stack.data, np.delete(series.data, 7, axis=0))
    # the report of before described 90 projections; the strip now shows the engine's
    # report of the 89 left, made after the step (auto_quality)
    assert len(wb.quality["tilts"]) == 89 and 7 not in wb.quality["flagged"]
    assert wb.quality["tilts"] == pytest.approx(wb.stack.tilt_values.tolist())
    assert len(wb.curves["measured_dy"]) == 89
    wb.undo()
    assert wb.stack.data.shape[0] == 90


def test_remove_flagged_without_flags_changes_nothing(wb):
    wb.remove_flagged()
    assert "Nothing to remove" in wb.status and wb.log.actions == []


def test_a_report_that_breaks_the_contract_is_refused(wb, series):
    report = NeighbourReport(series)
    report.table = report.table.drop(columns=["ncc"])
    with pytest.raises(ValueError, match="ncc"):
        wb.show_quality(report)


def test_curves_follow_the_applied_shifts(wb):
    wb.register("PC")
    applied = np.asarray(wb.stack.shifts.data)
    assert wb.curves["dy"] == pytest.approx(applied[:, 0].tolist())
    assert wb.curves["dx"] == pytest.approx(applied[:, 1].tolist())
    assert wb.curves["tilts"] == pytest.approx(wb.stack.tilt_values.tolist())


def test_tilt_axis_scan_curve(wb):
    tilted = etw.datasets.get_catalyst_data(seed=0, size=64, n_particles=8, tiltrotate=2.0)
    scan = SharpnessScan(tilted, np.linspace(-4, 4, 9))
    assert np.ptp(scan.scores) > 0  # a measured curve, not a constant
    wb.show_scan(scan)
    assert wb.scan["kind"] == "rotation" and wb.scan["x"] == pytest.approx(scan.rotations)
    assert wb.scan["y"] == pytest.approx(scan.scores.tolist())
    assert wb.scan["rotation"] == scan.rotation


def test_volume_orthoslices_after_a_reconstruction(wb):
    assert not wb.has_volume and wb.ortho_xy == {}
    rec = wb.reconstruct("FBP")
    vol = np.asarray(rec.data)
    nx, nz, ny = vol.shape
    assert wb.has_volume and wb.ortho == [nx // 2, ny // 2, nz // 2]
    lo, hi = _panels.volume_limits(vol)
    shown = np.frombuffer(wb.ortho_xy["data"], np.uint8).reshape(wb.ortho_xy["shape"])
    np.testing.assert_array_equal(shown, _frames.to_uint8(vol[:, nz // 2, :].T, lo, hi))
    wb.ortho = [5, 40, 20]  # a drag on the XY pane moves x and y
    yz = np.frombuffer(wb.ortho_yz["data"], np.uint8).reshape(wb.ortho_yz["shape"])
    np.testing.assert_array_equal(yz, _frames.to_uint8(vol[5], lo, hi))
    xz = np.frombuffer(wb.ortho_xz["data"], np.uint8).reshape(wb.ortho_xz["shape"])
    np.testing.assert_array_equal(xz, _frames.to_uint8(vol[:, :, 40].T, lo, hi))
    assert wb.ortho_xy["position"] == [5, 40, 20]
    view = wb.volume_view()
    assert type(view).__name__ == "VolumeView"
    sent = []
    wb.send = lambda content, buffers=None: sent.append(content)
    wb.press("volume")  # the button: a cell below shows it
    assert sent == [{"insert": "wb.volume_view()", "run": True}]
    del wb.send
    wb.undo()
    assert not wb.has_volume


def test_a_stack_that_reports_its_quality_is_judged_off_the_message_thread(series):
    import threading

    threads = []

    class JudgedStack(etw.TomoStack):
        def quality(self, **kwargs):
            threads.append(threading.current_thread())
            return NeighbourReport(self)

    wb = etw.AlignmentWorkbench(JudgedStack(np.asarray(series.data), tilts=series.tilt_values))
    assert wb.wait(60) and wb.quality == {}  # opening judges nothing: Judge does
    wb.press("judge")
    assert wb.wait(60)
    assert wb.quality["flagged"] == [7]
    assert threads and all(t is not threading.main_thread() for t in threads)
    wb.shutdown()


def test_judge_runs_the_engines_quality_report_off_the_message_thread(wb):
    wb.press("judge")
    assert wb.wait(300)
    q = wb.quality
    assert len(q["residual"]) == 90 and len(q["flag"]) == 90
    assert 7 in q["flagged"]  # the ruined projection, found by the engine's report


def test_the_strip_refreshes_after_each_step_off_the_message_thread(series):
    """After a step the engine's report of the new stack fills the strip (the one
    ``stack.quality(resolution=False)`` gives), computed on the quality thread; the
    stack's own history gets no measurement line."""
    import threading

    wb = etw.AlignmentWorkbench(series)
    assert wb.wait(60) and wb.quality == {}  # opening judges nothing (Judge does)
    seen = []
    original = wb.show_quality
    wb.show_quality = lambda report: (seen.append(threading.current_thread()),
                                      original(report))
    wb.register("PC")
    assert wb.wait(300)
    assert seen and all(t is not threading.main_thread() for t in seen)
    assert not [h for h in wb.stack.history if "quality(" in h]  # judged with record=False
    reference = wb.stack.quality(resolution=False).table
    assert wb.quality["residual"] == pytest.approx(reference["residual"].tolist(), abs=1e-6)
    assert 7 in wb.quality["flagged"]  # the ruined projection
    assert wb.quality_note.startswith("Judged in")
    assert [name for name, _ in wb.timings].count("quality") == 1
    wb.shutdown()


def test_a_stale_report_is_stopped_when_a_newer_one_is_asked():
    import threading

    from etspy_widgets.engine.recon import reconstruct_slices
    from etspy_widgets.widgets._worker import LatestWorker

    errors, events = [], []
    worker = LatestWorker(errors.append, name="test", stoppable=True)
    started = threading.Event()
    sino, tilts = np.ones((30, 24), np.float32), np.linspace(-70, 70, 30)

    def step():
        return None

    def slow():
        started.set()  # a long computation of the engine's (Python calls between its parts)
        reconstruct_slices(sino, tilts, "SIRT", iterations=10 ** 6)
        events.append("slow finished")

    worker.submit(slow)
    assert started.wait(30)
    worker.submit(lambda: events.append("newer"), supersede=True)
    assert worker.wait(60)
    assert events == ["newer"] and worker.superseded == 1 and errors == []
    plain = LatestWorker(errors.append, name="plain")  # not stoppable: runs to its end
    plain_started = threading.Event()

    def plain_job():
        plain_started.set()
        for _ in range(10 ** 5):
            step()
        events.append("plain")

    plain.submit(plain_job)
    assert plain_started.wait(30)
    plain.submit(lambda: None, supersede=True)
    assert plain.wait(60) and "plain" in events and plain.superseded == 0
    worker.close()
    plain.close()


def test_the_scan_button_runs_the_engines_scan_and_a_step_drops_it():
    stack = etw.datasets.get_catalyst_data(misalign=True, minshift=0, maxshift=0,
                                           tiltrotate=2, tiltshift=3, seed=0, size=96)
    wb = etw.AlignmentWorkbench(stack, auto_quality=False)
    history = list(wb.stack.history)
    wb.press("scan")
    assert wb.wait(300), wb.last_traceback
    s = wb.scan
    assert s["kind"] == "rotation" and abs(s["rotation"] + 2) < 0.1  # the known axis
    assert abs(s["offset"] + 3) < 0.15
    assert len(s["x"]) == len(s["y"]) > 10 and len(s["offset_x"]) == len(s["offset_y"]) > 5
    assert s["x"][int(np.argmin(s["y"]))] == pytest.approx(s["rotation"], abs=0.3)
    assert wb.scan_note.startswith("Scanned in") and list(wb.stack.history) == history
    wb.tilt_rotation, wb.tilt_shift = s["rotation"], s["offset"]  # the curve's clicks
    wb.apply_manual()
    assert wb.wait(120) and wb.scan == {}  # it measured the stack of before
    wb.shutdown()


def test_a_reconstruction_right_after_a_step_keeps_that_steps_report(series):
    """A reconstruction keeps the stack but makes a new snapshot of it while the step's
    report still runs: the report is still the shown stack's and must fill the strip (it
    was dropped, leaving "Judging…" for ever, when snapshots were compared)."""
    wb = etw.AlignmentWorkbench(series)
    try:
        wb.register("PC")
        wb.reconstruct("FBP")  # at once: the report of the registration is running
        assert wb.wait(300)
        assert wb.quality.get("flagged") is not None and 7 in wb.quality["flagged"]
        assert wb.quality_note.startswith("Judged in")
    finally:
        wb.shutdown()


def press_twice(wb, press, worker, note):
    """Press a button whose work runs on ``worker`` twice, the second time while the first
    runs; the values the ``note`` trait took meanwhile."""
    import time as _time

    assert wb.wait(60)
    notes = []
    wb.observe(lambda change: notes.append(change["new"]), names=note)
    press()
    deadline = _time.monotonic() + 30
    while not worker._running and _time.monotonic() < deadline:
        _time.sleep(0.001)
    assert worker._running  # the first is computing
    press()
    assert wb.wait(300)
    assert worker.superseded == 1
    return notes


def test_judge_pressed_while_a_report_runs_shows_no_failure(series):
    """Pressing Judge while a report of the same stack runs stops that one (newest wins):
    being replaced is not a failure, so the note beside the strip never says it failed
    (it said "Quality report failed: Superseded: …" until the next report was in)."""
    wb = etw.AlignmentWorkbench(series, auto_quality=False)
    try:
        notes = press_twice(wb, wb.judge, wb._judge, "quality_note")
        assert not [n for n in notes if "failed" in n], notes
        assert wb.quality_note.startswith("Judged in") and 7 in wb.quality["flagged"]
    finally:
        wb.shutdown()


def test_scan_pressed_while_a_scan_runs_shows_no_failure():
    stack = etw.datasets.get_catalyst_data(misalign=True, minshift=0, maxshift=0,
                                           tiltrotate=2, tiltshift=3, seed=0, size=96)
    wb = etw.AlignmentWorkbench(stack, auto_quality=False)
    try:
        notes = press_twice(wb, wb.scan_tilt_axis, wb._scanner, "scan_note")
        assert not [n for n in notes if "failed" in n], notes
        assert wb.scan_note.startswith("Scanned in") and abs(wb.scan["rotation"] + 2) < 0.1
    finally:
        wb.shutdown()
