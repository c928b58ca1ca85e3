"""The live quality strip: the acquisition simulator writes a series with faulty
projections (dark, blurred, shifted, blank) while ``etw.watch`` follows it; each is marked
with its reason in the update that brings it in, and no clean projection is ever marked."""

from __future__ import annotations

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import live
from etspy_widgets.engine.errors import UnknownMethodError

pytestmark = pytest.mark.timeout(240)
TILTS = np.arange(-60, 61, 3.0)  # 41 projections


@pytest.fixture(scope="module")
def stack():
    """The simulated catalyst, 96², noisy, misaligned by up to 2 px."""
    from etspy_widgets.engine import simulation

    return simulation.simulate_catalyst(size=96, n_particles=16, tilts=TILTS, misalign=True,
                                        minshift=-2, maxshift=2, noise=True,
                                        noise_factor=0.05, seed=5).stack


def follow(folder, stack, faults, **watch_kw):
    """Run the acquisition with ``faults`` while a watcher follows; every event kept."""
    events = []
    acq = live.Acquisition(folder, stack, "dose-symmetric", 0.02, faults=faults)
    watcher = live.watch(folder, settle=0, poll=0.02, callback=events.append, **watch_kw)
    try:
        assert watcher.ready.wait(60)
        acq.start()
        acq.join(120)
        assert watcher.wait(120), watcher.status()
    finally:
        acq.stop()
        watcher.stop()
    assert not watcher.errors, watcher.errors
    return acq, watcher, events


def names_of(acq, indices):
    """File names of the stack indices ``indices``."""
    by_index = {}
    for k, index in enumerate(acq.order):
        by_index[int(index)] = acq.name(k, int(index))
    return {by_index[i]: i for i in indices}


# indices in tilt order, away from the ends and 0° (they arrive after ≥ 7 others)
FAULTS = {8: "dark", 14: "blurred", 27: "shifted", 33: "blank"}


def test_faults_marked_as_they_arrive_and_no_clean_one(tmp_path, stack):
    acq, watcher, events = follow(tmp_path, stack, FAULTS)
    faulty = names_of(acq, FAULTS)
    expected = {name: live.FAULT_REASONS[FAULTS[i]] for name, i in faulty.items()}
    assert watcher.count == len(TILTS)
    arrived = {}
    for e in events:
        flags = e.live.flags
        # no clean projection is marked, at any update
        assert set(flags) <= set(faulty), (e.count, flags)
        # what is marked is marked with its reason
        assert all(flags[n] == expected[n] for n in flags), flags
        if e.kind == "new" and e.name in faulty:
            arrived[e.name] = e.flag
    # each fault is marked in the update that brings it in (the event says so)
    assert arrived == expected
    # and stays marked to the end: the report of the whole series
    report = watcher.live.quality
    assert watcher.live.flags == expected
    tilts = np.asarray(watcher.tilts)
    assert sorted(report.flagged) == sorted(int(np.argmin(np.abs(tilts - TILTS[i])))
                                            for i in FAULTS)
    assert list(report.table["tilt"]) == list(tilts)
    assert "flagged" in watcher.status()


def test_each_fault_marked_whatever_arrives_with_it(stack):
    """The watcher reads what a poll finds: a fault may come alone, with others, or next to
    the end of the series so far (the newest projection of a dose-symmetric series is
    always at one end). Every prefix of the acquisition order, fed to the live
    reconstructor directly (no timing), marks each fault that is in with its reason and
    no clean projection: the trend a projection is judged against leaves it out
    (``neighbour_trend``), also at the ends."""
    acq = live.Acquisition("unused", stack, "dose-symmetric", 0, faults=FAULTS)
    images = {}
    for index in acq.order:
        image = np.asarray(stack.data[index], np.float32)
        if int(index) in FAULTS:
            image = live.fault_image(image, FAULTS[int(index)], seed=int(index))
        images[int(index)] = image
    recon = live.LiveReconstructor(volume_size=0)
    expected = {i: live.FAULT_REASONS[kind] for i, kind in FAULTS.items()}
    checked = 0
    for k in range(recon.quality.min_projections, len(acq.order) + 1):
        present = sorted(int(i) for i in acq.order[:k])
        frame = recon.update(present, TILTS[present], [images[i] for i in present])
        marked = dict(zip(present, frame.quality.table["flag"], strict=True))
        got = {i: f for i, f in marked.items() if f}
        assert got == {i: r for i, r in expected.items() if i in present}, (k, got)
        checked += sum(i in present for i in FAULTS)
    assert checked > 4 * 10  # each fault judged at many series lengths


def test_clean_series_marks_nothing(tmp_path, stack):
    _, watcher, events = follow(tmp_path, stack, {})
    assert watcher.count == len(TILTS)
    assert all(not e.live.flags and not e.flag for e in events)
    assert watcher.live.quality.flagged == []


def test_strip_in_the_workbench(tmp_path, stack):
    faults = {11: "dark", 29: "blurred"}
    acq = live.Acquisition(tmp_path, stack, "dose-symmetric", 0.05, faults=faults)
    seen = []
    wb = None
    try:
        acq.start()
        wb = etw.AlignmentWorkbench.watch(
            tmp_path, settle=0, poll=0.02, timeout=60,
            callback=lambda e: seen.append((e.count, list(wb.quality.get("flag", [])))
                                           if wb is not None and e.last else None))
        acq.join(120)
        assert wb.live.watcher.wait(120)
        wb.live.stop()
        wb.wait(60)
        strip = wb.quality
        tilts = wb.tilt_angles
        marked = {tilts[i]: strip["flag"][i] for i in strip["flagged"]}
        assert marked == {float(TILTS[11]): "dark", float(TILTS[29]): "blurred"}
        assert len(strip["flag"]) == len(TILTS) == len(strip["tilts"])
        # the strip grew with the series and showed the dark one before the end
        grown = [item for item in seen if item is not None and item[1]]
        assert grown and grown[0][0] < len(TILTS)
        assert any("dark" in flags for n, flags in grown if n < len(TILTS))
        assert "flagged" in wb.status or wb.status.startswith("Stopped")
        # Remove flagged drops exactly those two (one logged step)
        wb.remove_flagged()
        assert len(wb.tilt_angles) == len(TILTS) - 2
        assert float(TILTS[11]) not in wb.tilt_angles
    finally:
        acq.stop()
        if wb is not None:
            wb.live.watcher.stop()
            wb.shutdown()


def test_simulator_faults_are_checked(tmp_path, stack):
    with pytest.raises(UnknownMethodError, match="fault"):
        live.Acquisition(tmp_path, stack, faults={3: "smudged"})
    with pytest.raises(etw.InvalidDataError, match="faults: index 99"):
        live.Acquisition(tmp_path, stack, faults={99: "dark"})
    image = np.asarray(stack.data[5], np.float32)
    np.testing.assert_allclose(live.fault_image(image, "dark"), image * 0.35, rtol=1e-6)
    blank = live.fault_image(image, "blank")
    assert blank.std() < 1e-2 * image.std()
