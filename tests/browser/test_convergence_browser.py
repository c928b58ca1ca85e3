"""ConvergenceView (ipympl) in a real browser: the run fills the plot from a background
thread, and moving the mouse over the residual curve selects the iteration shown."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from harness import open_and_run, run_cell_source, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CELL = """import numpy as np
from etspy_widgets import TomoStack
from etspy_widgets.engine.recon import get_projector
from etspy_widgets.widgets.convergence import ConvergenceView
tilts = np.linspace(-70, 70, 24)
vol = np.zeros((6, 32, 32), np.float32); vol[:, 10:20, 8:22] = 1.0
sino = get_projector(tilts, 32, 32).forward(vol).transpose(1, 2, 0)
stack = TomoStack(np.ascontiguousarray(sino), tilts=tilts)
view = ConvergenceView(stack, algorithm="SIRT", iterations=30, run=True)
view.add_class("cv-test")
view"""


@pytest.fixture(scope="module")
def page(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "convergence.ipynb", [CELL])
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    open_and_run(pg, lab, "convergence.ipynb", ".cv-test canvas")
    yield pg
    assert not [e for e in errors if "matplotlib" in e.lower()], errors
    pg.close()


def test_hover_over_the_curve_selects_the_iteration(page):
    deadline = time.monotonic() + 60
    while run_cell_source(page, "RESULT = [len(view.residuals), view.running]") != [30, False]:
        assert time.monotonic() < deadline, "the background run did not finish"
        time.sleep(1)
    # where iteration 10 of the curve is drawn, in CSS pixels of the canvas
    x, y, height = run_cell_source(page, """
x_pix, y_pix = view.ax_res.transData.transform((10, view.residuals[9]))
RESULT = [float(x_pix), float(y_pix), float(view.figure.bbox.height)]""")
    canvas = page.locator(".cv-test canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    dpr = page.evaluate("() => window.devicePixelRatio")
    scale = box["height"] / (height / dpr) / dpr
    page.mouse.move(box["x"] + x * scale, box["y"] + (height - y) * scale)
    deadline = time.monotonic() + 20
    while (shown := run_cell_source(page, "RESULT = view.iteration")) == 30:
        assert time.monotonic() < deadline, "hovering did not change the iteration shown"
        time.sleep(0.5)
    assert abs(shown - 10) <= 1
    title = run_cell_source(page, "RESULT = view.ax_img.get_title()")
    assert f"after {shown} iterations" in title
