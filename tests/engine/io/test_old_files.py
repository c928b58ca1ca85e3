"""Files saved before the layout changed (etspy-widgets 0.1 at e69ea00) still load and replay.

``tests/data/v0.1_stack.hspy`` and ``v0.1_volume.hspy`` were written by that version: a
registered simulated catalyst (every 6th of 90 projections, 32²) and its FBP volume.
"""

from __future__ import annotations

import numpy as np
from testpaths import DATA

import etspy_widgets as etw


def _raw():
    return etw.datasets.get_catalyst_data(misalign=True, seed=3, size=32,
                                          n_particles=3).inav[::6]


def test_old_stack_loads_with_its_tilts_shifts_and_history():
    old = etw.load(DATA / "v0.1_stack.hspy")
    assert isinstance(old, etw.TomoStack)
    raw = _raw()
    np.testing.assert_array_equal(old.tilt_values, raw.tilt_values)
    assert old.history == ["stack = stack.stack_register('PC', start=None, crop=False, "
                           "shift_type='fourier')"]
    again = raw.stack_register("PC")
    np.testing.assert_allclose(old.shift_values, again.shift_values, atol=1e-6)
    np.testing.assert_allclose(old.data, again.data, atol=1e-5)


def test_old_history_without_a_source_replays_on_the_data_given():
    old = etw.load(DATA / "v0.1_stack.hspy")
    run = etw.replay(old, stack=_raw())
    np.testing.assert_allclose(run.stack.data, old.data, atol=1e-5)


def test_old_volume_loads_and_matches_todays_reconstruction():
    vol = etw.load(DATA / "v0.1_volume.hspy")
    assert isinstance(vol, etw.RecStack) and vol.data.shape == (32, 32, 32)
    assert vol.history[-1] == "rec = stack.reconstruct()"
    stack = etw.load(DATA / "v0.1_stack.hspy")
    now = stack.reconstruct("FBP", show_progressbar=False)
    err = np.linalg.norm(now.data - vol.data) / np.linalg.norm(vol.data)
    assert err < 1e-4, err
