"""AlignmentWorkbench driven from Python: traits, buttons, cancel, bad values.

Images and stacks are checked against the engine's own functions (the widget has
no numerics of its own): the live slices against ``test_align_slices``, each button
against the verb it logs.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import traitlets

import etspy_widgets as etw
from etspy_widgets.engine.align import test_align_slices as engine_slices
from etspy_widgets.engine.simulation import simulate_catalyst
from etspy_widgets.engine.transform import bin_stack
from etspy_widgets.widgets._worker import LatestWorker
from etspy_widgets.widgets.workbench import _frames as _display


@pytest.fixture(scope="module")
def series():
    return simulate_catalyst(size=64, n_particles=6, tilts=np.arange(-66.0, 67.0, 6.0),
                             misalign=True, seed=1, tiltshift=1.5, tiltrotate=0.8)


@pytest.fixture
def wb(series):
    widget = etw.AlignmentWorkbench(series.stack)
    widget.wait()
    yield widget
    widget.shutdown()


def frame_pixels(frame):
    return np.frombuffer(frame["data"], dtype=np.uint8).reshape(frame["shape"])


def test_initial_frames_are_binary_uint8_of_the_data(wb, series):
    stack = series.stack
    assert wb.slices == [16, 32, 48]
    assert wb.stack_shape == [23, 64, 64]
    frame = wb.tilt_frame
    assert isinstance(frame["data"], bytes) and frame["shape"] == [64, 64]
    img = np.asarray(stack.data[0], np.float32)
    lo, hi = _display.robust_limits(img)
    np.testing.assert_array_equal(frame_pixels(frame), _display.to_uint8(img, lo, hi))
    assert frame["angle"] == -66.0
    assert wb.slices_frame["shape"] == [3, 64, 64]
    assert wb.sino_frame["shape"] == [23, 64]
    assert wb.error == "" and wb.status == "Ready."


def test_tilt_index_moves_the_projection(wb, series):
    wb.tilt_index = 11
    assert wb.tilt_frame["index"] == 11 and wb.tilt_frame["angle"] == 0.0
    img = np.asarray(series.stack.data[11], np.float32)
    lo, hi = _display.robust_limits(img)
    np.testing.assert_array_equal(frame_pixels(wb.tilt_frame), _display.to_uint8(img, lo, hi))


@pytest.mark.parametrize(("trait", "value", "message"), [
    ("tilt_index", 23, "tilt_index must be in 0..22"),
    ("tilt_index", -1, "tilt_index must be in"),
    ("slices", [1, 2, 64], "slices must be 3 columns in 0..63"),
    ("slices", [1, 2], "at least 3|slices"),
    ("tilt_shift", float("nan"), "finite"),
    ("tilt_rotation", float("inf"), "finite"),
    ("contrast", [50.0, 10.0], "low < high"),
    ("slice_method", "DART", "Invalid slice method"),
    ("selected_slice", 3, "0, 1 or 2"),
    ("nudges", {"99": [1.0, 0.0]}, "projection index"),
])
def test_bad_values_are_refused_with_a_message(wb, trait, value, message):
    before = getattr(wb, trait)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(wb, trait, value)
    assert getattr(wb, trait) == before


def test_unknown_constructor_argument_is_a_type_error(series):
    with pytest.raises(TypeError, match="unknown argument"):
        etw.AlignmentWorkbench(series.stack, colour="red")


def test_live_slices_equal_the_engine_test_align(wb, series):
    stack = series.stack
    wb.tilt_shift = -1.5
    wb.tilt_rotation = 0.8
    wb.slices = [10, 30, 50]
    images = wb.slice_images()
    ref = engine_slices(np.asarray(stack.data), stack.tilt_values, -1.5, 0.8, [10, 30, 50],
                        iterations=wb.slice_iterations)
    np.testing.assert_array_equal(images, ref)
    frame = wb.slices_frame
    assert frame["tilt_shift"] == -1.5 and frame["slices"] == [10, 30, 50]
    assert frame["level"] == "full"
    lo, hi = _display.robust_limits(ref)
    np.testing.assert_array_equal(frame_pixels(frame), _display.to_uint8(ref, lo, hi))
    # the sinogram pane shows the selected slice's sinogram under the same trial alignment
    assert wb.sino_frame["slice"] == 30
    wb.slice_method = "SIRT"
    ref_sirt = engine_slices(np.asarray(stack.data), stack.tilt_values, -1.5, 0.8, [10, 30, 50],
                             method="SIRT", iterations=wb.slice_iterations)
    np.testing.assert_array_equal(wb.slice_images(), ref_sirt)


def test_nudges_preview_equals_the_engine_with_per_projection_shifts(wb, series):
    stack = series.stack
    wb.nudges = {"4": [1.25, -0.5]}
    shifts = np.zeros((23, 2))
    shifts[4] = (1.25, -0.5)
    ref = engine_slices(np.asarray(stack.data), stack.tilt_values, 0.0, 0.0, wb.slices,
                        iterations=wb.slice_iterations, shifts=shifts)
    np.testing.assert_array_equal(wb.slice_images(), ref)


def test_overlay_marks_the_trial_axis_and_slice_columns(wb):
    wb.tilt_shift = 2.0
    axis = np.array(wb.overlay["axis"])
    # the row that the shift brings onto the centre lies 2 px above it
    np.testing.assert_allclose(axis[:, 1], 31.5 - 2.0)
    wb.tilt_shift, wb.slices = 0.0, [5, 20, 40]
    assert [seg[0][0] for seg in wb.overlay["slices"]] == [5.0, 20.0, 40.0]


def test_newest_request_wins_and_stale_ones_are_dropped():
    errors = []
    worker = LatestWorker(errors.append)
    gate, ran = threading.Event(), []
    worker.submit(lambda: gate.wait(5))
    time.sleep(0.05)
    for k in range(10):
        worker.submit(lambda k=k: ran.append(k))
    gate.set()
    assert worker.wait(5)
    assert ran == [9]
    assert worker.dropped == 9 and errors == []
    worker.submit(lambda: 1 / 0)
    worker.wait(5)
    assert isinstance(errors[0], ZeroDivisionError)
    worker.close()


def test_rapid_slider_values_settle_on_the_last_one(wb):
    for value in np.linspace(-3, 3, 40):
        wb.set_state({"tilt_shift": float(value)})  # what a comm message from the browser does
    wb.wait()
    assert wb.slices_frame["tilt_shift"] == 3.0
    assert wb._live._worker.completed <= wb._live._worker.submitted


def test_dragging_previews_binned_then_refines():
    rng = np.random.default_rng(3)
    stack = etw.TomoStack(rng.random((12, 300, 300)).astype(np.float32),
                          tilts=np.linspace(-60, 60, 12))
    wb = etw.AlignmentWorkbench(stack)
    wb.wait()
    wb.dragging = True
    wb.tilt_shift = 4.0
    wb.wait()
    frame = wb.slices_frame
    assert frame["level"] == "preview"
    binned = bin_stack(stack.data, 2)
    ref = engine_slices(binned, stack.tilt_values, 2.0, 0.0, [s // 2 for s in wb.slices],
                        iterations=wb.slice_iterations)
    lo, hi = _display.robust_limits(ref)
    np.testing.assert_array_equal(frame_pixels(frame), _display.to_uint8(ref, lo, hi))
    wb.dragging = False
    wb.wait()
    assert wb.slices_frame["level"] == "full"
    assert wb.slice_images().shape == (3, 300, 300)
    wb.shutdown()


def test_buttons_apply_the_engine_verbs(series):
    stack = series.stack
    wb = etw.AlignmentWorkbench(stack)
    wb.reg_method = "PC"
    wb.press("register")
    wb.wait()
    ref = stack.stack_register(method="PC")
    np.testing.assert_array_equal(wb.stack.data, ref.data)
    np.testing.assert_array_equal(wb.stack.shift_values, ref.shift_values)
    wb.tilt_method = "CoM"
    wb.press("tilt_align")
    wb.wait()
    ref = ref.tilt_align(method="CoM")
    np.testing.assert_array_equal(wb.stack.data, ref.data)
    wb.tilt_shift, wb.tilt_rotation = 0.75, -0.3
    wb.press("apply_manual")
    wb.wait()
    ref = ref.trans_stack(xshift=0.0, yshift=0.75, angle=-0.3)
    np.testing.assert_array_equal(wb.stack.data, ref.data)
    assert (wb.tilt_shift, wb.tilt_rotation) == (0.0, 0.0)
    wb.filter_method = "median"
    wb.press("filter")
    wb.wait()
    ref = ref.filter(method="median")
    np.testing.assert_array_equal(wb.stack.data, ref.data)
    wb.tilt_index = 5
    wb.press("remove_projection")
    wb.wait()
    ref = ref.remove_projections([5])
    np.testing.assert_array_equal(wb.stack.tilt_values, ref.tilt_values)
    wb.view = [4, 6, 60, 58]
    wb.press("crop")
    wb.wait()
    np.testing.assert_array_equal(wb.stack.data, ref.isig[4:60, 6:58].data)
    assert wb.stack_shape == [22, 52, 56] and wb.view == []
    wb.rec_method = "FBP"
    wb.press("reconstruct")
    wb.wait()
    rec = ref.isig[4:60, 6:58].reconstruct(method="FBP")
    np.testing.assert_array_equal(wb.rec.data, rec.data)
    assert wb.error == "" and "done" in wb.status
    assert len(wb.log.actions) == 7
    wb.shutdown()


def test_front_end_messages_and_undo_redo(series):
    wb = etw.AlignmentWorkbench(series.stack)
    wb._on_front_message(wb, {"action": "remove_projection", "index": 0}, [])
    wb.wait()
    assert wb.stack_shape[0] == 22 and wb.can_undo
    wb._on_front_message(wb, {"action": "undo"}, [])
    assert wb.stack_shape[0] == 23 and wb.can_redo and not wb.can_undo
    assert "remove_projections" not in wb.code
    wb._on_front_message(wb, {"action": "redo"}, [])
    assert wb.stack_shape[0] == 22 and "remove_projections" in wb.code
    wb._on_front_message(wb, {"action": "no-such-button"}, [])
    assert "Unknown button" in wb.error
    wb.shutdown()


def test_errors_show_in_words_and_change_nothing(series):
    wb = etw.AlignmentWorkbench(series.stack)
    wb.reg_method = "Nonsense"
    wb.press("register")
    wb.wait()
    assert "UnknownMethodError" in wb.error and "Nonsense" in wb.error
    assert "failed" in wb.status and not wb.busy
    assert wb.log.actions == [] and wb.stack is series.stack
    with pytest.raises(ValueError, match="Nonsense"):
        wb.register("Nonsense")
    with pytest.raises(ValueError, match="Zoom into"):
        wb.press("crop")
    wb.shutdown()


def test_cancel_a_running_reconstruction(series):
    wb = etw.AlignmentWorkbench(series.stack)
    wb.wait()
    wb.reconstruct("SIRT", iterations=100000, block=False)
    deadline = time.monotonic() + 20
    while wb.progress <= 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wb.busy and 0 < wb.progress < 1  # it reports progress while it runs
    with pytest.raises(RuntimeError, match="still running"):
        wb.register("PC", block=False)
    wb.press("cancel")
    assert wb.wait(30)
    assert "Cancelled" in wb.status and wb.error == ""
    assert wb.rec is None and wb.log.actions == [] and not wb.busy
    wb.shutdown()


def test_contrast_colour_map_and_zoom(wb, series):
    wb.contrast = [10.0, 90.0]
    img = np.asarray(series.stack.data[0], np.float32)
    lo, hi = _display.limits(img, 10.0, 90.0)
    np.testing.assert_array_equal(frame_pixels(wb.tilt_frame), _display.to_uint8(img, lo, hi))
    assert wb.slices_frame["limits"] == list(_display.limits(wb.slice_images(), 10.0, 90.0))
    wb.cmap = "viridis"
    wb.view = [8, 16, 40, 48]
    frame = wb.tilt_frame
    assert frame["window"] == [8, 16, 40, 48] and frame["shape"] == [32, 32]
    assert frame["factor"] == 1  # zoomed in: full resolution


def test_large_images_travel_display_sized():
    stack = etw.TomoStack(np.zeros((3, 1100, 900), np.float32) + np.arange(900),
                          tilts=[-10, 0, 10])
    wb = etw.AlignmentWorkbench(stack)
    wb.wait()
    assert wb.tilt_frame["shape"] == [367, 300] and wb.tilt_frame["factor"] == 3
    assert max(wb.slices_frame["shape"][1:]) <= _display.DISPLAY_SIZE
    assert len(wb.tilt_frame["data"]) == 367 * 300
    wb.shutdown()


def test_code_export_and_history(wb, tmp_path):
    wb.remove_projection(3)
    path = tmp_path / "analysis.py"
    wb.export(path)
    assert path.read_text() == wb.code
    assert wb.stack.history[1:] == ["stack = stack.remove_projections(projections=[3])"]
    assert wb.stack.history[0].startswith("# stack: data from memory")
    with pytest.raises(RuntimeError, match="IPython"):
        wb.insert_code()


def test_insert_code_fills_the_next_cell(series):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        wb = etw.AlignmentWorkbench(series.stack)
        wb.remove_projection(1)
        wb.insert_code()
        assert shell.rl_next_input == wb.code
        assert "remove_projections(projections=[1])" in shell.rl_next_input
        wb.shutdown()
    finally:
        InteractiveShell.clear_instance()


def test_convergence_choice_reconstructs_through_the_workbench(wb):
    view = wb.convergence("SIRT", iterations=4, run=False)
    assert view.nslice == wb.slices[wb.selected_slice]
    view.run(block=True)
    np.testing.assert_allclose(
        view.residuals, wb.stack.recon_error(view.nslice, "SIRT", 4)[1].data, rtol=1e-6)
    view.iteration = 3
    view.choose()
    assert wb.wait(120)
    assert wb.code.splitlines()[-1] == view.code
    assert "iterations=3" in view.code
    expected = wb.stack.reconstruct("SIRT", iterations=3, constrain=True,
                                    show_progressbar=False)
    np.testing.assert_array_equal(wb.rec.data, expected.data)


def test_method_lists_are_the_engines(wb):
    from etspy_widgets.engine import align, filters, recon

    assert wb.choices["registration"] == list(align.REGISTER_METHODS)
    assert wb.choices["filter"] == list(filters.FILTER_METHODS)
    assert wb.choices["tilt"] == list(align.TILT_METHODS)
    assert wb.choices["reconstruction"] == list(recon.METHODS)
    for method in wb.choices["slices"]:  # each one the live engine accepts
        wb.slice_method = method
        assert wb.slice_images().shape == (3, 64, 64)


def test_only_the_engines_cancelled_is_a_cancellation(wb):
    from etspy_widgets.engine.errors import Cancelled

    lookalike = type("UserCancelled", (RuntimeError,), {})("the user's own error")
    wb._ctl._failed("Registering", lookalike)  # a name ending in Cancelled is not enough
    assert "UserCancelled: the user's own error" in wb.error
    assert "failed" in wb.status
    wb._ctl._failed("Registering", Cancelled())
    assert wb.status == "Cancelled: Registering. Nothing changed." and wb.error == ""


def test_run_time_controls_are_the_shared_names_the_verb_takes(wb):
    from etspy_widgets.actions import verbs
    from etspy_widgets.engine.signals import RUNTIME_CONTROLS as ENGINE_CONTROLS
    from etspy_widgets.widgets.workbench._controller import RUNTIME_CONTROLS, accepted_controls

    assert RUNTIME_CONTROLS is ENGINE_CONTROLS  # one tuple, the engine's
    assert {"client", "cancel", "callbacks", "show_progressbar"} <= set(RUNTIME_CONTROLS)
    taken = accepted_controls(wb.stack.reconstruct)
    assert {"cancel", "callbacks", "show_progressbar", "client"} <= taken
    event = threading.Event()
    controls = wb._ctl.controls(verbs.reconstruct("SIRT", iterations=3), event)
    assert controls["cancel"] is event and controls["show_progressbar"] is False
    assert len(controls["callbacks"]) == 1
    assert "client" not in controls  # accepted, but the workbench leaves it to the verb
    assert set(controls) <= taken
    assert wb._ctl.controls(verbs.remove_projections([1]), event).keys() <= \
        accepted_controls(wb.stack.remove_projections)


def test_frames_travel_as_messages_with_a_buffer_never_in_the_state(wb):
    sent = []
    wb.send = lambda content, buffers=None: sent.append((content, buffers))
    wb.tilt_index = 5
    content, buffers = [m for m in sent if m[0]["frame"] == "tilt_frame"][-1]
    assert content["frame"] == "tilt_frame" and content["index"] == 5
    assert "data" not in content and buffers == [wb.tilt_frame["data"]]
    state = wb.get_state()
    assert not {"tilt_frame", "sino_frame", "slices_frame"} & set(state)
    data = {k: v for k, v in state.items() if k not in ("_esm", "_css")}  # the front end
    assert sum(len(str(v)) for v in data.values()) < 5000  # a light saved state
    sent.clear()
    wb._on_front_message(wb, {"action": "frames"}, [])  # a new view asks for what is shown
    assert [c["frame"] for c, _ in sent if c["frame"] != "tilt_atlas"] == \
        ["tilt_frame", "sino_frame", "slices_frame"]
    wb.wait()
    atlas = [(c, b) for c, b in sent if c["frame"] == "tilt_atlas"]  # and every projection
    assert sorted(m["index"] for c, _ in atlas for m in c["frames"]) == \
        list(range(wb.stack_shape[0]))
    del wb.send


def catalyst_slices(n_particles, **traits):
    """The workbench's slice frame (uint8) and float slices of the aligned 256² catalyst."""
    sim = etw.datasets.get_catalyst_data(seed=0, size=256, n_particles=n_particles,
                                         return_truth=True)
    wb = etw.AlignmentWorkbench(etw.TomoStack(sim.aligned, tilts=sim.stack.tilt_values),
                                **traits)
    images = wb.slice_images()
    wb.wait()
    pixels = frame_pixels(wb.slices_frame).astype(float)
    wb.shutdown()
    return pixels, images


def test_default_contrast_shows_the_catalysts_particles():
    """Particles are where the series with them differs from the same support without
    them; on the default frame they must stand out from the support, unsaturated."""
    shown, rec = catalyst_slices(20)
    _, support_only = catalyst_slices(0)
    diff = rec - support_only
    particles = diff > 0.3 * diff.max()
    support = (support_only > 0.5 * support_only.max()) & ~particles
    assert 10 <= particles.sum() < 0.01 * particles.size  # a few small particles
    contrast = shown[particles].mean() - shown[support].mean()
    assert contrast >= 60, contrast  # grey levels out of 255
    assert shown[support].mean() < 200 and (shown[support] >= 254).mean() < 0.01
    # the percentile limits of before put the top inside the support: particles vanish
    old, _ = catalyst_slices(20, contrast=[0.5, 99.5], contrast_mode="percentile")
    assert old[particles].mean() - old[support].mean() < 30
    assert old[support].mean() > 230


def test_contrast_modes(wb, series):
    assert wb.contrast_mode == "auto"
    img = np.asarray(series.stack.data[0], np.float32)
    hist = wb.tilt_frame["histogram"]
    assert sum(hist["counts"]) == img.size
    assert hist["range"] == [float(img.min()), float(img.max())]
    wb.contrast_limits = [float(img.mean()), float(img.max())]  # a histogram drag
    assert wb.contrast_mode == "manual"
    assert wb.tilt_frame["limits"] == wb.contrast_limits
    assert wb.sino_frame["limits"] == wb.contrast_limits  # the same data values
    wb.contrast = [2.0, 98.0]
    assert wb.contrast_mode == "percentile"
    assert wb.tilt_frame["limits"] == list(_display.limits(img, 2.0, 98.0))
    wb.contrast_mode = "auto"
    assert wb.tilt_frame["limits"] == list(_display.robust_limits(img))
    with pytest.raises(traitlets.TraitError, match="low < high"):
        wb.contrast_limits = [5.0, 1.0]
    with pytest.raises(traitlets.TraitError, match="contrast_mode"):
        wb.contrast_mode = "fancy"


def test_frames_travel_at_the_size_the_panes_show_and_neighbours_are_prefetched():
    rng = np.random.default_rng(5)
    stack = etw.TomoStack(rng.random((9, 300, 300)).astype(np.float32),
                          tilts=np.linspace(-60, 60, 9))
    wb = etw.AlignmentWorkbench(stack, display_size=128)
    wb.wait()
    assert wb._atlas_key() == -1  # no view yet: no atlas
    wb._on_front_message(wb, {"action": "frames"}, [])  # a view opens
    assert wb.tilt_frame["shape"] == [100, 100] and wb.tilt_frame["factor"] == 3
    assert max(wb.slices_frame["shape"][1:]) <= 128
    wb.display_size = 320  # the pane grew
    assert wb.tilt_frame["shape"] == [300, 300]
    wb.wait()
    settings = wb._tilt_settings()
    # every projection's frame, made off the message thread (the atlas the views paint from)
    assert wb._atlas["settings"] == settings and sorted(wb._atlas["frames"]) == list(range(9))
    wb.tilt_index = 1
    img = np.asarray(stack.data[1], np.float32)
    np.testing.assert_array_equal(frame_pixels(wb.tilt_frame),
                                  _display.to_uint8(img, *_display.robust_limits(img)))
    wb.contrast = [5.0, 95.0]  # other settings: not served from the cache
    np.testing.assert_array_equal(frame_pixels(wb.tilt_frame),
                                  _display.to_uint8(img, *_display.limits(img, 5.0, 95.0)))
    with pytest.raises(traitlets.TraitError, match="display_size"):
        wb.display_size = 10
    wb.view = [0, 0, 150, 150]  # zoomed: no atlas, the neighbours are prefetched
    wb.wait()
    assert wb._atlas_key() == -1 and (2, wb._tilt_settings()) in wb._tilt_cache
    wb.shutdown()


def test_the_atlas_holds_the_frames_python_sends_and_is_sent_in_chunks():
    rng = np.random.default_rng(6)
    stack = etw.TomoStack(rng.random((40, 256, 256)).astype(np.float32),
                          tilts=np.linspace(-60, 60, 40))
    wb = etw.AlignmentWorkbench(stack, display_size=256)
    wb.wait()
    sent = []
    wb.send = lambda content, buffers=None: sent.append((content, buffers))
    wb._on_front_message(wb, {"action": "frames"}, [])  # a view asks: atlas sent again
    wb.wait()
    chunks = [(c, b) for c, b in sent if c["frame"] == "tilt_atlas"]
    key = [c for c, _ in sent if c["frame"] == "tilt_frame"][-1]["atlas"]
    assert len(chunks) == 2 and all(c["key"] == key >= 1 for c, _ in chunks)  # 2 MB each
    pixels = {}
    for content, (buffer,) in chunks:
        offset = 0
        for meta in content["frames"]:
            n = int(np.prod(meta["shape"]))
            pixels[meta["index"]] = bytes(buffer[offset:offset + n])
            offset += n
        assert offset == len(buffer)
    for index in (0, 17, 39):  # what the browser paints from = what a tilt change sends
        wb.tilt_index = index
        assert pixels[index] == wb.tilt_frame["data"]
        img = np.asarray(stack.data[index], np.float32)
        np.testing.assert_array_equal(
            np.frombuffer(pixels[index], np.uint8).reshape(256, 256),
            _display.to_uint8(img, *_display.robust_limits(img)))
    sent.clear()
    wb.contrast = [1.0, 99.0]  # new settings: a new atlas with a new key
    wb.wait()
    new = [c for c, _ in sent if c["frame"] == "tilt_atlas"]
    assert new and all(c["key"] == key + 1 for c in new)
    del wb.send
    wb.shutdown()
    wb.shutdown()


def test_the_drag_preview_is_prepared_before_the_first_drag():
    """A large stack's drag preview (binned copy, slice sampler, projector) is built when the
    workbench opens, so the first drag only reconstructs; its frame is still the engine's."""
    rng = np.random.default_rng(4)
    stack = etw.TomoStack(rng.random((12, 300, 300)).astype(np.float32),
                          tilts=np.linspace(-60, 60, 12))
    wb = etw.AlignmentWorkbench(stack)
    assert wb.wait(120)
    engine = wb._live._engine
    assert any(key[1] == 2 for key in engine._samplers)  # the 2 × 2 binned preview's
    samplers = dict(engine._samplers)
    wb.dragging = True
    wb.tilt_shift = 1.5
    assert wb.wait(120)
    assert wb.slices_frame["level"] == "preview"
    assert all(engine._samplers[k] is v for k, v in samplers.items())  # none rebuilt
    ref = engine_slices(bin_stack(stack.data, 2), stack.tilt_values, 0.75, 0.0,
                        [s // 2 for s in wb.slices], iterations=wb.slice_iterations)
    lo, hi = _display.robust_limits(ref)
    np.testing.assert_array_equal(frame_pixels(wb.slices_frame), _display.to_uint8(ref, lo, hi))
    wb.shutdown()
