"""ConvergenceView: the plotted residuals are recon_error's, the cursor picks the slice shown,
and the chosen iteration count becomes a reconstruction action in the code log."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from etspy_widgets import RecStack, TomoStack
from etspy_widgets.engine.errors import UnknownMethodError
from etspy_widgets.engine.recon import get_projector
from etspy_widgets.widgets.convergence import ConvergenceView


@pytest.fixture(scope="module")
def stack():
    tilts = np.linspace(-70, 70, 24)
    n = 32
    vol = np.zeros((6, n, n), np.float32)  # (nx, thickness, ny)
    vol[:, 10:20, 8:22] = 1.0
    vol[:, 14:17, 12:15] = 2.0
    sino = get_projector(tilts, n, n).forward(vol)  # (nx, n_tilts, ny)
    return TomoStack(np.ascontiguousarray(sino.transpose(1, 2, 0)), tilts=tilts)


@pytest.mark.parametrize("algorithm", ["SIRT", "SART", "CGLS", "TV"])
def test_plotted_residuals_are_recon_errors(stack, algorithm):
    view = ConvergenceView(stack, nslice=3, algorithm=algorithm, iterations=8)
    view.run(block=True)
    images, error = stack.recon_error(3, algorithm, 8, True)
    np.testing.assert_allclose(view.residuals, error.data, rtol=1e-6)
    x, y = view.line.get_data()
    np.testing.assert_array_equal(x, np.arange(1, 9))
    np.testing.assert_allclose(y, error.data, rtol=1e-6)
    assert view.ax_res.get_yscale() == "log"
    assert len(view.images) == 8
    np.testing.assert_allclose(view.images[4], images.data[4], rtol=1e-5, atol=1e-6)
    assert not view.running and view.iteration == 8
    if algorithm in ("SIRT", "CGLS"):
        assert error.data[-1] < error.data[0]


def test_cursor_over_the_curve_shows_that_iteration(stack):
    view = ConvergenceView(stack, algorithm="SIRT", iterations=10)
    view.run(block=True)
    view.canvas.draw()
    x_pix, y_pix = view.ax_res.transData.transform((4, view.residuals[3]))
    event = MouseEvent("motion_notify_event", view.canvas, x_pix, y_pix)
    view.canvas.callbacks.process("motion_notify_event", event)
    assert view.iteration == 4
    np.testing.assert_array_equal(view.image.get_array(), view.images[3])
    assert "after 4 iterations" in view.ax_img.get_title()
    assert list(view.marker.get_xdata()) == [4, 4]
    assert view.w_choose.description == "Use 4 iterations"
    view.w_iteration.value = 7  # the slider drives the same trait
    np.testing.assert_array_equal(view.image.get_array(), view.images[6])


def test_background_run_can_be_stopped(stack):
    view = ConvergenceView(stack, algorithm="SIRT", iterations=200)
    seen = []

    def stop_at_three(v):
        seen.append(len(v.residuals))
        if len(v.residuals) == 3:
            v._cancel.set()

    view.on_iteration(stop_at_three)
    view.run()
    view._thread.join(timeout=120)
    assert not view.running
    assert len(view.residuals) == 3
    assert "stopped" in view.message.lower()
    assert seen == [1, 2, 3]


def test_choice_is_a_reconstruction_action_in_the_log(stack):
    from etspy_widgets.actions import ActionLog

    log = ActionLog(stack)
    view = ConvergenceView(stack, algorithm="SIRT", iterations=6, log=log)
    chosen = []
    view.on_choose(chosen.append)
    with pytest.raises(ValueError, match="Run first"):
        view.choose()
    view.run(block=True)
    view.iteration = 5
    action = view.choose()
    assert chosen == [action]
    assert view.chosen == 5
    assert view.code == log.lines()[-1]
    assert "iterations=5" in view.code and "SIRT" in view.code
    assert isinstance(log.rec, RecStack)
    assert log.rec.data.shape == (6, 32, 32)


def test_unknown_algorithm_is_rejected(stack):
    with pytest.raises(UnknownMethodError, match='"SIRT"'):
        ConvergenceView(stack, algorithm="ART")
