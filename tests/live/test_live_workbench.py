"""``AlignmentWorkbench.watch``: the panes follow a growing series; after ``stop`` the
workbench's script replays offline to the series it shows."""

from __future__ import annotations

import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets import live
from etspy_widgets.replay import replay

pytestmark = pytest.mark.timeout(240)


def test_workbench_follows_the_folder(tmp_path):
    from etspy_widgets.engine import simulation

    sim = simulation.simulate_catalyst(size=64, n_particles=12, tilts=np.arange(-60, 61, 12.),
                                       misalign=True, minshift=-3, maxshift=3, seed=4)
    acq = live.Acquisition(tmp_path, sim.stack, "dose-symmetric", 0.3)
    shapes = []
    wb = None
    try:
        acq.start()
        wb = etw.AlignmentWorkbench.watch(tmp_path, settle=0, poll=0.02, timeout=60,
                                          callback=lambda e: shapes.append(e.count))
        watcher = wb.live.watcher
        assert wb.status.startswith("Live: ")
        acq.join(60)
        assert watcher.wait(60), watcher.status()
        wb.live.stop()
        wb.wait(60)
        assert wb.stack_shape == [11, 64, 64]
        assert wb.tilt_angles == sorted(float(t) for t in sim.stack.tilt_values)
        assert wb.live.updates >= 2 and shapes[-1] == 11
        # the workbench shows the registered series: the live result, same arrays
        aligned, _ = watcher.result()
        np.testing.assert_array_equal(wb.stack.data, aligned.data)
        np.testing.assert_array_equal(wb.stack.shift_values, aligned.shift_values)
        # its code starts from the exact files used and replays to the same arrays
        assert "etw.live.load_registered([" in wb.code
        np.testing.assert_array_equal(replay(wb.code).namespace["stack"].data, aligned.data)
        assert wb.slice_images().shape == (3, 64, 64)
        assert wb.status.startswith("Stopped: 11 projections")
    finally:
        acq.stop()
        if wb is not None:
            wb.live.watcher.stop()
            wb.shutdown()
