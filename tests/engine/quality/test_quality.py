"""stack.quality(), the bad-projection flags, the tilt-axis scan and the resolution,
against simulated series with known faults, axes and noise (etspy_widgets.engine.quality)."""

from __future__ import annotations

import numpy as np
import pytest
from align_phantoms import make_phantom
from quality_faults import inject_faults

import etspy_widgets as etw
from etspy_widgets.engine import simulation as sim
from etspy_widgets.engine.quality import assess, even_odd_frc, tilt_axis_scan

TILTS = np.arange(-70, 71, 2.0)  # 71 projections


def _clean(kind, seed=0, size=128):
    if kind == "catalyst":
        r = sim.simulate_catalyst(size=size, tilts=TILTS)
        return r.aligned, r.tilts
    if kind == "needle":
        r = sim.simulate_needle(size=size, tilts=TILTS)
        return r.aligned, r.tilts
    ph = make_phantom("catalyst", size=(size, size), tilts=TILTS, jitter=0, seed=seed)
    return ph.truth, ph.tilts


CASES = [("blobs", 0)] + [pytest.param(k, s, marks=pytest.mark.slow)
                          for k in ("catalyst", "needle", "blobs") for s in (0, 1, 2)
                          if (k, s) != ("blobs", 0)]


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_every_fault_flagged_with_its_reason_and_no_clean_one(kind, seed):
    data, tilts = _clean(kind, seed)
    bad, truth = inject_faults(data, seed)
    res = assess(bad, tilts, resolution=False)
    got = {i: f for i, f in enumerate(res["flags"]) if f}
    assert got == truth


def test_clean_series_flags_nothing():
    data, tilts = _clean("catalyst")
    assert not any(assess(data, tilts, resolution=False)["flags"])
    # a noisy, slightly jittered series is not "bad" either
    r = sim.simulate_needle(size=128, tilts=TILTS, misalign=True, minshift=-1, maxshift=1,
                            noise=True, noise_factor=0.1, seed=0)
    assert not any(assess(np.asarray(r.stack.data), TILTS, resolution=False)["flags"])


def test_thresholds_are_tunable_and_checked():
    data, tilts = _clean("blobs")
    bad, truth = inject_faults(data, 0)
    res = assess(bad, tilts, resolution=False, thresholds={"dark": 0.9})
    dark = next(i for i, r in truth.items() if r == "dark")
    assert res["flags"][dark] != "dark"   # a 65 % drop is below a 90 % threshold
    with pytest.raises(ValueError, match="Unknown threshold 'darkness'"):
        assess(bad, tilts, resolution=False, thresholds={"darkness": 0.5})


@pytest.mark.parametrize(("kind", "rotation", "offset"), [
    ("blobs", 1.2, 2.8),
    pytest.param("needle", 1.7, 2.3, marks=pytest.mark.slow),
    pytest.param("rod", -2.0, 1.5, marks=pytest.mark.slow),
    pytest.param("catalyst", 2.5, -1.4, marks=pytest.mark.slow),
    pytest.param("noisy needle", -1.3, 1.1, marks=pytest.mark.slow),
    pytest.param("noisy needle", 1.7, 2.3, marks=pytest.mark.slow),
    pytest.param("noisy needle", 3.0, 3.0, marks=pytest.mark.slow),
    pytest.param("noisy catalyst", 2.5, -1.4, marks=pytest.mark.slow),
])
@pytest.mark.parametrize("seed", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_scan_finds_a_known_axis(kind, rotation, offset, seed):
    if kind in ("needle", "catalyst", "noisy needle", "noisy catalyst"):
        f = sim.simulate_catalyst if kind.endswith("catalyst") else sim.simulate_needle
        r = f(size=128, misalign=True, minshift=0, maxshift=0, tiltshift=offset,
              tiltrotate=rotation, seed=seed, tilts=TILTS, noise=kind.startswith("noisy"),
              noise_factor=0.1)
        data, want_rot, want_off = np.asarray(r.stack.data), -r.tilt_rotation, -r.tilt_shift
    else:
        ph = make_phantom("catalyst" if kind == "blobs" else "rod", size=(128, 128),
                          tilts=TILTS, jitter=0, rotation=rotation, yshift=offset,
                          seed=1 + seed)
        data, want_rot, want_off = ph.data, ph.rotation, ph.yshift
    res = tilt_axis_scan(data, TILTS, bootstrap=20)
    # the figure of issue 15, noisy (10 %) series included: 0.05° and 0.15 px (the noisy
    # catalyst: 0.021° and 0.038° at seeds 0 and 2; over 15 noisy catalyst series, 3 miss
    # it, worst 0.083°: `bench_quality.py --parts scan`, docs/quality.md)
    assert abs(res["rotation"] - want_rot) < 0.05, res["rotation"]
    assert abs(res["offset"] - want_off) < 0.15, res["offset"]
    assert 0 < res["uncertainty"][0] < 0.5 and 0 < res["uncertainty"][1] < 0.5
    j = int(np.argmin(res["rotation_curve"]))
    assert abs(res["rotations"][j] - want_rot) < 0.1   # the grid point nearest
    assert res["surface"].shape == (res["rotations"].size, res["offsets"].size)


def test_resolution_falls_with_noise_and_with_fewer_tilts():
    noisy = []
    for nf in (0.0, 0.1, 0.3, 1.0):
        r = sim.simulate_catalyst(size=96, tilts=TILTS, noise=nf > 0, noise_factor=nf or 0.2)
        noisy.append(even_odd_frc(np.asarray(r.stack.data), r.tilts)["resolution_px"])
    assert np.all(np.diff(noisy) > 0), noisy
    r = sim.simulate_catalyst(size=96, tilts=np.arange(-70, 71, 1.0), noise=True,
                              noise_factor=0.1)
    d = np.asarray(r.stack.data)
    sparse = [even_odd_frc(d[::s], r.tilts[::s])["resolution_px"] for s in (1, 2, 3, 5)]
    assert np.all(np.diff(sparse) > 0), sparse
    assert 2.0 <= noisy[0] < 6.0


def test_report_object_metadata_history_and_csv(tmp_path):
    import pandas as pd

    stack = etw.datasets.get_catalyst_data(size=96, seed=0)   # 90 × 96², calibrated nm
    data, truth = inject_faults(np.asarray(stack.data), 3)
    stack.data = data
    report = stack.quality()
    t = report.table
    for col in ("tilt", "residual", "ncc", "dy", "dx", "flag"):
        assert col in t.columns
    assert len(t) == 90 and sorted(report.flagged) == sorted(truth)
    assert set(t["flag"][t["flag"] != ""]) <= set(truth.values())
    s = report.summary
    for key in ("rms_residual", "global_shift_px", "tilt_axis", "resolution", "thickness_px"):
        assert key in s
    assert s["units"] == "nm" and s["resolution"] > 0 and 0 < s["rms_residual"] < 1
    # the support sphere (radius ~ 0.36 × 96) is what is thick
    assert 40 < s["thickness_px"] < 96
    assert stack.history[-1].startswith("# report = stack.quality()")
    assert stack.metadata.Tomography.quality["summary"]["n_flagged"] == 5
    path = report.to_csv(tmp_path / "qc.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back["flag"]) == list(t["flag"])
    series = pd.read_csv(report.to_csv(tmp_path / "series.csv", series=True))
    for name in ("Tilt_Series", "Thickness(Pix)", "Tilt_Axis", "Global_Shift(Pix)",
                 "Pix_Size(A)"):
        assert name in series.columns
    with pytest.raises(FileExistsError):
        report.to_csv(tmp_path / "qc.csv", overwrite=False)
    assert report.plot() is not None
    stack.save(tmp_path / "s.hspy")
    loaded = etw.load(tmp_path / "s.hspy")
    assert loaded.metadata.Tomography.quality["summary"]["n_flagged"] == 5
    fewer = stack.remove_projections(report.flagged)
    assert fewer.data.shape[0] == 85
    assert fewer.history[-1] == f"stack = stack.remove_projections(projections={sorted(truth)!r})"
    assert not any(assess(np.asarray(fewer.data), fewer.tilt_values,
                          resolution=False)["flags"])


def test_stack_tilt_axis_scan_undoes_a_known_axis():
    stack = etw.datasets.get_catalyst_data(misalign=True, minshift=0, maxshift=0,
                                           tiltrotate=2, tiltshift=3, seed=0, size=96)
    scan = stack.tilt_axis_scan(bootstrap=10)
    assert abs(scan.rotation + 2) < 0.1 and abs(scan.offset + 3) < 0.15
    assert stack.history[-1].startswith("# scan = stack.tilt_axis_scan()")
    assert stack.metadata.Tomography.tilt_axis_scan["rotation"] == pytest.approx(scan.rotation)
    assert scan.plot(marks={"CoM": (-2.0, -3.0)}) is not None


def test_quality_with_a_given_reconstruction_and_bad_input():
    stack = etw.datasets.get_catalyst_data(size=64, seed=0)
    rec = stack.reconstruct("SIRT", iterations=20, constrain=True)
    report = stack.quality(rec=rec, resolution=False)
    assert report.summary["rms_residual"] < 0.2 and not report.flagged
    assert "quality(rec=rec, resolution=False)" in stack.history[-1]
    with pytest.raises(ValueError, match="rec must be a reconstruction"):
        stack.quality(rec=np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="tilt range of at least 20"):
        tilt_axis_scan(np.asarray(stack.data)[:5], np.arange(5.0))


def test_history_with_a_quality_line_still_replays():
    from etspy_widgets.replay import replay

    stack = etw.datasets.get_catalyst_data(size=48, seed=0).stack_register("PC")
    stack.quality(resolution=False)
    stack.tilt_axis_scan(bootstrap=0)
    ns = replay("\n".join(stack.history) + "\n").namespace
    np.testing.assert_allclose(np.asarray(ns["stack"].data), np.asarray(stack.data),
                               atol=1e-4)


def test_quality_with_record_false_leaves_the_stack_untouched():
    """``record=False`` (the workbench's judge, run on another thread) neither writes a
    history line nor stores the report, and gives the same table as a recorded report."""
    stack = etw.datasets.get_catalyst_data(size=48, seed=0).stack_register("PC")
    history, data = list(stack.history), np.asarray(stack.data)
    quiet = stack.quality(resolution=False, record=False)
    assert stack.history == history and stack.metadata.get_item("Tomography.quality") is None
    assert np.asarray(stack.data) is data
    loud = stack.quality(resolution=False)
    assert "quality(" in stack.history[-1]
    assert stack.metadata.get_item("Tomography.quality") is not None
    np.testing.assert_allclose(quiet.table["residual"], loud.table["residual"], atol=1e-6)


def test_neighbour_trend_leaves_the_value_out_and_follows_a_slope_to_the_ends():
    """The trend a projection is judged against: exact on a straight line, to the very
    ends; blind to the value itself (a fault at an end is judged against its neighbours,
    not itself); two faults side by side move no other projection's trend; NaN ignored."""
    from etspy_widgets.engine.quality import flag_projections, neighbour_trend

    ramp = 3.0 + 0.5 * np.arange(41)
    np.testing.assert_allclose(neighbour_trend(ramp, 7), ramp, atol=1e-12)
    spoiled = ramp.copy()
    spoiled[[-2, -1]] = [40.0, 60.0]          # two bad ones side by side, at the end
    spoiled[0] = -20.0                        # and one at the other end
    np.testing.assert_allclose(neighbour_trend(spoiled, 7), ramp, atol=1e-12)
    with_nan = ramp.copy()
    with_nan[10] = np.nan
    np.testing.assert_allclose(neighbour_trend(with_nan, 7), ramp, atol=1e-12)
    # the mean of a slab falls with tilt; the last projection is half as bright: dark,
    # and only it (a reflected running median judged it against itself, twice)
    tilts = np.radians(np.arange(-60, 61, 3.0))
    mean = 100 * np.cos(tilts)
    mean[-1] *= 0.5
    n = len(mean)
    measures = {"mean": mean, "std": np.full(n, 10.0), "sharpness": np.ones(n),
                "neighbour_ncc": np.full(n, 0.9)}
    flags, _ = flag_projections(measures, None)
    assert [i for i, f in enumerate(flags) if f] == [n - 1] and flags[-1] == "dark"
