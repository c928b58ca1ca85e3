"""Live tomography: the acquisition simulator and the watcher together, against offline
``etw.load`` + the same steps on the same files (same arrays)."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import live
from etspy_widgets.engine.errors import InvalidTiltsError
from etspy_widgets.engine.recon import reconstruct_slices
from etspy_widgets.replay import SourceChanged, replay

pytestmark = pytest.mark.timeout(180)
STEP = 6.0  # ±60° in steps of 6: 21 projections


@pytest.fixture(scope="module")
def truth():
    """The simulated catalyst (64², 21 tilts, misaligned by known shifts)."""
    from etspy_widgets.engine import simulation

    tilts = np.arange(-60, 61, STEP)
    return simulation.simulate_catalyst(size=64, n_particles=12, tilts=tilts, misalign=True,
                                        minshift=-3, maxshift=3, seed=3)


@pytest.fixture
def threads_end():
    """Every thread a test starts has ended when it finishes (also on failure)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        extra = [t for t in set(threading.enumerate()) - before
                 if t.name.startswith(("watch", "acquisition"))]
        if not extra:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left running: {extra}")


def run_series(folder, stack, *, scheme="dose-symmetric", watch_kw=None, before_start=None,
               **acq_kw):
    """Write ``stack`` into ``folder`` while a watcher follows it; both end here
    (``before_start(acq, watcher)`` is called once both exist, before the writing starts)."""
    acq = live.Acquisition(folder, stack, scheme, acq_kw.pop("interval", 0.02), **acq_kw)
    folder.mkdir(parents=True, exist_ok=True)
    kw = {"settle": 0, "poll": 0.02, **(watch_kw or {})}
    watcher = live.watch(folder, **kw)
    try:
        assert watcher.ready.wait(60)  # compiled: the files are seen as they come
        if before_start is not None:
            before_start(acq, watcher)
        acq.start()
        acq.join(60)
        assert watcher.wait(60), f"the series did not end: {watcher.status()} {watcher.errors}"
    finally:
        acq.stop()
        watcher.stop()
    return acq, watcher


def offline(watcher):
    """``etw.load`` of the files used + the recorded steps, run from the log's code."""
    return replay(watcher.code).namespace["stack"]


def assert_matches_offline(watcher, n):
    assert watcher.count == n, watcher.errors
    assert not watcher.errors
    ref = offline(watcher)
    stack = watcher.stack
    raw = etw.load([str(p) for p in watcher.files], tilts=watcher.tilts)
    np.testing.assert_array_equal(stack.data, raw.data)
    np.testing.assert_array_equal(stack.tilt_values, raw.tilt_values)
    assert stack.axes_manager.signal_axes[0].scale == raw.axes_manager.signal_axes[0].scale
    aligned, slices = watcher.result()
    np.testing.assert_array_equal(watcher.live.shifts, ref.shift_values)   # same arrays
    np.testing.assert_array_equal(aligned.data, ref.data)
    expected = reconstruct_slices(ref.data[:, :, watcher.live.slices], ref.tilt_values, "FBP",
                                  kernel="pixel")
    np.testing.assert_array_equal(slices, expected)
    # the running sums equal the one-go reconstruction to float32 rounding
    scale = np.abs(expected).max()
    assert np.abs(watcher.live.slice_images - expected).max() < 1e-5 * scale * n
    return ref


def test_dose_symmetric_order():
    tilts = np.arange(-9, 10, 3.0)
    order = live.acquisition_order(tilts, "dose-symmetric")
    np.testing.assert_array_equal(tilts[order], [0, 3, -3, 6, -6, 9, -9])
    np.testing.assert_array_equal(tilts[live.acquisition_order(tilts, "bidirectional")],
                                  [0, 3, 6, 9, -3, -6, -9])
    for scheme in live.SCHEMES:
        assert sorted(live.acquisition_order(tilts, scheme)) == list(range(7))


def test_watch_dose_symmetric_equals_offline(tmp_path, truth, threads_end):
    events = []
    acq, watcher = run_series(tmp_path / "s", truth.stack,
                              watch_kw={"callback": events.append, "expected": 21})
    assert watcher.end_reason == "21 of 21 projections in"
    assert watcher.source.describe() == "'mdoc'"  # auto found the growing .mdoc
    ref = assert_matches_offline(watcher, 21)
    # arrival order was 0, +6, -6, +12...: the events' tilts in that order
    arrived = [e.tilt for e in events if e.kind == "new"]
    assert arrived == [w.tilt for w in acq.written]
    assert {e.kind for e in events} == {"new"}
    # the registration recovered the known misalignment (up to one common shift)
    err = ref.shift_values + truth.shifts[np.argsort(truth.stack.tilt_values)]
    assert np.abs(err - err[10]).max() < 0.6, err
    # the live volume: three orthoslices of the binned series
    assert [o.shape for o in watcher.live.orthoslices] == [(64, 64)] * 3
    assert "21 projection(s) in" in watcher.status()


@pytest.mark.parametrize("scheme", ["sequential", "bidirectional", "random"])
def test_any_arrival_order_gives_the_offline_result(tmp_path, truth, scheme, threads_end):
    starts = []
    _, watcher = run_series(tmp_path / scheme, truth.stack, scheme=scheme, seed=5,
                            interval=0.1 if scheme == "sequential" else 0.02,
                            watch_kw={"expected": 21,
                                      "callback": lambda e: starts.append(e.live.start)})
    assert_matches_offline(watcher, 21)
    assert starts[-1] == 10
    if scheme == "sequential":  # from -60° up: the reference moved towards 0° as files came
        assert starts[0] == 0 and len(set(starts)) > 2


def test_binned_registration_equals_offline(tmp_path, truth, threads_end):
    """Pairs registered on 2×2-binned images (the default for 1024² and up): the script
    bins with stack.rebin and scales the shifts; same arrays."""
    _, watcher = run_series(tmp_path / "b", truth.stack, scheme="random", seed=2,
                            watch_kw={"expected": 21,
                                      "reconstruct": {"register_binning": 2}})
    assert "binning=2, upsample_factor=40" in watcher.code
    ref = assert_matches_offline(watcher, 21)
    one = live.load_registered(watcher.files, watcher.tilts, binning=2, upsample_factor=40)
    np.testing.assert_array_equal(one.data, ref.data)
    err = ref.shift_values + truth.shifts[np.argsort(truth.stack.tilt_values)]
    assert np.abs(err - err[10]).max() < 0.8, err


def test_partial_writes_are_never_read(tmp_path, truth, threads_end):
    """A writer that does not rename: each MRC grows under its final name in 4 pieces."""
    stack = truth.stack.inav[::2]  # 11 projections
    _, watcher = run_series(tmp_path / "p", stack, partial=True, interval=0.1,
                            watch_kw={"expected": 11})
    assert_matches_offline(watcher, 11)
    by_tilt = dict(zip(stack.tilt_values, stack.data, strict=True))
    for tilt, image in zip(watcher.tilts, watcher.stack.data, strict=True):
        np.testing.assert_array_equal(image, by_tilt[tilt])  # whole, never half
    assert all(e.kind == "new" for e in watcher.events)


def test_partial_tiff_writes_wait_for_a_stable_size(tmp_path, truth, threads_end):
    stack = truth.stack.inav[::4]  # 6 projections
    _, watcher = run_series(tmp_path / "t", stack, partial=True, interval=0.2, fmt="tif",
                            watch_kw={"pattern": "*.tif", "settle": 0.3, "expected": 6})
    assert watcher.count == 6 and not watcher.errors
    np.testing.assert_array_equal(watcher.stack.data, stack.data)


def rewrites_after_the_first_pass(acq, watcher):
    """The re-acquisitions start once the watcher has read the whole first pass (an event,
    not a time): a file rewritten before the watcher ever read it is one new projection,
    not a replaced one (seen under load: the 4th file was first listed already rewritten)."""
    write = acq._write

    def gated(path, image):
        if len(acq.written) == len(acq.order):  # the first rewrite
            watcher.wait_for(len(acq.order), timeout=60)
        write(path, image)
    acq._write = gated


def test_rewritten_files_replace_their_projection(tmp_path, truth, threads_end):
    _, watcher = run_series(tmp_path / "r", truth.stack, rewrite=[0, 3],
                            watch_kw={"marker": "acquisition.done"},
                            before_start=rewrites_after_the_first_pass)
    assert watcher.end_reason == "end marker acquisition.done found"
    replaced = [e for e in watcher.events if e.kind == "replaced"]
    assert {e.tilt for e in replaced} == {0.0, 2 * STEP}  # acquired 1st and 4th
    ref = assert_matches_offline(watcher, 21)
    k = int(np.flatnonzero(ref.tilt_values == 0.0)[0])
    np.testing.assert_array_equal(watcher.stack.data[k],
                                  truth.stack.data[10] * np.float32(1.5))


def test_stop_and_resume(tmp_path, truth, threads_end):
    folder = tmp_path / "sr"
    acq = live.Acquisition(folder, truth.stack, interval=0.05)
    folder.mkdir()
    watcher = live.watch(folder, settle=0, poll=0.02)
    try:
        acq.start()
        watcher.wait_for(5, timeout=60)
        watcher.stop()
        assert not watcher.running
        used = watcher.code
        n_stop = watcher.count
        load_line = next(ln for ln in used.splitlines() if ln.startswith("stack = "))
        assert load_line.count("/tilt_") == n_stop  # the log names exactly the files used
        assert used.count("# source ") == n_stop    # with their size and SHA-256
        assert replay(used).namespace["stack"].data.shape[0] == n_stop
        acq.join(60)
        assert watcher.count == n_stop  # stopped: nothing more was read
        watcher.start()  # resume: the files written meanwhile are read first
        assert watcher.wait(60)
    finally:
        acq.stop()
        watcher.stop()
    assert_matches_offline(watcher, 21)


def test_replay_refuses_a_file_changed_after_the_series(tmp_path, truth, threads_end):
    stack = truth.stack.inav[::4]
    live.Acquisition(tmp_path, stack, interval=0).run()
    watcher = live.watch(tmp_path, settle=0, poll=0.02)
    try:
        assert watcher.wait(30)
    finally:
        watcher.stop()
    code = watcher.code
    np.testing.assert_array_equal(replay(code).namespace["stack"].data, watcher.result()[0].data)
    changed = watcher.files[2]
    changed.write_bytes(changed.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(SourceChanged, match=changed.name):
        replay(code)


def test_wait_for_times_out_and_threads_end(tmp_path, threads_end):
    watcher = live.watch(tmp_path, poll=0.02)
    try:
        with pytest.raises(live.WatchTimeout, match="0 of 3 projections"):
            watcher.wait_for(3, timeout=0.3)
        with pytest.raises(TimeoutError):  # a built-in TimeoutError too
            watcher.wait_for(1, timeout=0.1)
    finally:
        watcher.stop()
    assert not watcher.running


def test_tilts_from_names_list_and_function(tmp_path, truth, threads_end):
    stack = truth.stack.inav[::4]  # 6 projections
    folder = tmp_path / "n"
    live.Acquisition(folder, stack, "random", 0, mdoc=False, seed=1).run()
    by_names = live.watch(folder, settle=0, expected=6, reconstruct=False)
    names = sorted(p.name for p in folder.glob("*.mrc"))
    from_list = live.watch(folder, tilts=[float(n.rsplit("_", 1)[1][:-4]) for n in names],
                           settle=0, expected=6, reconstruct=False)
    from_fn = live.watch(folder, tilts=lambda p: float(p.stem.rsplit("_", 1)[1]), settle=0,
                         expected=6, reconstruct=False)
    try:
        for w in (by_names, from_list, from_fn):
            assert w.wait(30), w.status()
            np.testing.assert_array_equal(w.tilts, stack.tilt_values)
            np.testing.assert_array_equal(w.stack.data, stack.data)
        assert by_names.source.kind == "names"
    finally:
        for w in (by_names, from_list, from_fn):
            w.stop()


def test_tilts_from_the_files_metadata(tmp_path, data_dir, threads_end):
    """The stage tilts of ETSpy's DM3 series, copied in one by one."""
    src = sorted((data_dir / "DM_Series_Test").glob("*.dm3"))
    watcher = live.watch(tmp_path, pattern="*.dm3", tilts="metadata", settle=0, poll=0.02,
                         expected=len(src))
    try:
        for p in src[::-1]:
            shutil.copy(p, tmp_path / f".{p.name}.tmp")
            (tmp_path / f".{p.name}.tmp").rename(tmp_path / p.name)
        assert watcher.wait(60), watcher.status()
    finally:
        watcher.stop()
    ref = etw.load([str(p) for p in src])
    np.testing.assert_array_equal(watcher.tilts, ref.tilt_values)
    np.testing.assert_array_equal(watcher.stack.data, ref.data)


def test_velox_emd_files_with_their_stage_tilts(tmp_path, threads_end):
    """Velox EMD (the formats' reader), one frame per file, tilts from each file's metadata."""
    from engine.io.test_formats import write_velox  # tests/engine/io (tests/ is on sys.path)

    rng = np.random.default_rng(1)
    tilts = [0.0, 15.0, -15.0, 30.0, -30.0]
    frames = rng.random((5, 40, 40)).astype(np.float32)
    watcher = live.watch(tmp_path, pattern="*.emd", tilts="metadata", settle=0, poll=0.02,
                         expected=5, reconstruct=False)
    try:
        for k, (frame, tilt) in enumerate(zip(frames, tilts, strict=True)):
            tmp = tmp_path / f".frame_{k}.emd.tmp"
            write_velox(tmp, frame[None], [tilt])
            tmp.rename(tmp_path / f"frame_{k}.emd")
        assert watcher.wait(60), watcher.status()
    finally:
        watcher.stop()
    np.testing.assert_array_equal(watcher.tilts, sorted(tilts))
    np.testing.assert_array_equal(watcher.stack.data, frames[np.argsort(tilts)])
    ref = etw.load([str(p) for p in watcher.files])
    np.testing.assert_array_equal(watcher.stack.data, ref.data)


def test_removed_file_leaves_the_series(tmp_path, truth, threads_end):
    stack = truth.stack.inav[::4]
    live.Acquisition(tmp_path, stack, interval=0, marker=None).run()
    watcher = live.watch(tmp_path, settle=0, poll=0.02)
    try:
        watcher.wait_for(6, timeout=30)
        gone = watcher.files[0]
        gone.unlink()
        deadline = time.monotonic() + 10
        while watcher.count != 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.stop()
    assert watcher.count == 5 and gone not in watcher.files
    assert watcher.events[-1].kind == "removed"
    assert watcher.live.n == 5


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path, truth, threads_end):
    def boom(event):
        raise RuntimeError("user code")

    stack = truth.stack.inav[::4]
    live.Acquisition(tmp_path, stack, interval=0).run()
    watcher = live.watch(tmp_path, settle=0, callback=boom, expected=6, reconstruct=False)
    try:
        assert watcher.wait(30)
    finally:
        watcher.stop()
    assert watcher.count == 6
    assert any("callback: RuntimeError: user code" in e for e in watcher.errors)


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        live.watch(tmp_path / "missing")
    with pytest.raises(InvalidTiltsError, match="not a tilt source"):
        live.watch(tmp_path, tilts="angles", start=False)
    with pytest.raises(ValueError, match="settle"):
        live.watch(tmp_path, settle=-1, start=False)
    assert live.name_tilt("tilt_003_-21.0.mrc") == -21.0
    assert live.name_tilt("tomo_012.mrc") is None  # a sequence number is not a tilt
