"""datasets: ETSpy's names and defaults, the simulated catalyst's truth, the needle's files."""

from __future__ import annotations

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import DataNotFoundError, TomoStack
from etspy_widgets.engine import datapath


def test_default_catalyst_matches_etspy_series():
    stack = etw.datasets.get_catalyst_data()
    assert isinstance(stack, TomoStack)
    assert stack.data.shape == (90, 600, 600)
    assert stack.data.dtype == np.float32
    assert stack.axes_manager["Projections"].size == 90
    assert stack.axes_manager["x"].units == "nm"
    np.testing.assert_array_equal(stack.tilt_values, np.arange(0, 180, 2))
    assert np.all(stack.shift_values == 0)
    # ETSpy's catalyst: support of value 100 and radius 200 → 40 000 through the centre
    assert stack.data[0, 300, 300] == pytest.approx(2 * 200 * 100, rel=0.01)


def test_misaligned_catalyst_returns_the_exact_shifts():
    truth = etw.datasets.get_catalyst_data(misalign=True, minshift=-3, maxshift=3, seed=4,
                                           size=96, return_truth=True)
    assert truth.shifts.shape == (90, 2)
    assert (np.abs(truth.shifts) <= 3).all() and np.abs(truth.shifts).max() > 2
    stack = etw.datasets.get_catalyst_data(misalign=True, minshift=-3, maxshift=3, seed=4,
                                           size=96)
    np.testing.assert_array_equal(stack.data, truth.stack.data)
    # each projection's centre of mass moved by the applied shift (up to the sampling error of
    # point samples along x, < 0.005 px)
    yy, xx = np.mgrid[:96, :96]
    for i in (0, 33, 71):
        a, m = truth.aligned[i], stack.data[i]
        com_a = np.array([(a * yy).sum(), (a * xx).sum()]) / a.sum()
        com_m = np.array([(m * yy).sum(), (m * xx).sum()]) / m.sum()
        np.testing.assert_allclose(com_m - com_a, truth.shifts[i], atol=5e-3)


def test_catalyst_seed_noise_and_options():
    a = etw.datasets.get_catalyst_data(True, -5, 5, 2, 1, True, True, 0.1, 7, size=64)
    b = etw.datasets.get_catalyst_data(True, -5, 5, 2, 1, True, True, 0.1, 7, size=64)
    np.testing.assert_array_equal(a.data, b.data)
    truth = etw.datasets.get_catalyst_data(True, -5, 5, 2, 1, True, True, 0.1, 7, size=64,
                                           return_truth=True)
    assert truth.tilt_shift == 2 and truth.tilt_rotation == 1
    assert np.all(truth.shifts[:, 1] == 0)
    assert truth.noise_type == "gaussian"
    clean = etw.datasets.get_catalyst_data(size=64)
    assert np.std(a.data - clean.data) > 0


def test_needle_data(data_dir):
    stack = etw.datasets.get_needle_data()
    assert stack.data.shape == (77, 256, 256)
    np.testing.assert_array_equal(stack.tilt_values, np.arange(-76, 78, 2))
    assert np.all(stack.shift_values == 0)
    assert stack.axes_manager["Projections"].units == "degrees"
    assert stack.axes_manager["x"].units == "nm"
    assert stack.axes_manager["y"].scale == pytest.approx(3.36)
    aligned = etw.datasets.get_needle_data(aligned=True)
    assert np.all(aligned.shift_values[1:] != 0)
    np.testing.assert_array_equal(aligned.tilt_values, np.arange(-76, 78, 2))


def test_missing_needle_data_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setattr(datapath, "candidate_folders", lambda: [tmp_path / "nowhere"])
    with pytest.raises(DataNotFoundError, match="ETSPY_WIDGETS_DATA") as err:
        etw.datasets.get_needle_data()
    assert str(tmp_path / "nowhere") in str(err.value)
    assert "HAADF.mrc" in str(err.value)


def test_etspy_compatible_api_namespace():
    import etspy_widgets.api as etspy

    for name in ("load", "TomoStack", "RecStack", "datasets", "align", "recon", "simulation",
                 "utils", "io"):
        assert getattr(etspy, name) is not None, name
    assert etspy.load is etw.load
    assert etspy.TomoStack is TomoStack
    stack = etspy.datasets.get_catalyst_data(size=32)
    assert isinstance(stack, etspy.TomoStack)


def test_headless_demo_writes_a_png(tmp_path, capsys):
    from etspy_widgets import demo

    out = tmp_path / "demo.png"
    assert demo.main(["-o", str(out), "--size", "48"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "relative RMS error" in capsys.readouterr().out
    result = demo.run(tmp_path / "again.png", size=48)
    assert result["relative_rmse"] < 0.2  # 0.12 measured; a mirrored geometry gives > 0.5
