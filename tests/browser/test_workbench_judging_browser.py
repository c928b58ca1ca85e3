"""The judging panes in a real browser: quality strip, alignment curves, tilt-axis scan and
the volume's orthoslices, each driven by the mouse and checked against Python's state."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import canvas_pixels, open_and_run, run_cell_source, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TESTS = Path(__file__).resolve().parents[1]
WIDGET = ".etw-root"
READY = "[data-etw-ready='1'][data-slices-drawn]"
SETUP = f"""import sys
import numpy as np
import etspy_widgets as etw
sys.path.insert(0, {str(TESTS)!r})
from judging_fakes import NeighbourReport, SharpnessScan
sim = etw.datasets.get_catalyst_data(seed=0, size=64, n_particles=8, return_truth=True)
data = np.array(sim.aligned, np.float32)
data[7] = np.random.default_rng(0).permutation(data[7].ravel()).reshape(data[7].shape)
series = etw.TomoStack(data, tilts=sim.stack.tilt_values)"""
SHOW = ("wb = etw.AlignmentWorkbench(series)\nwb.show_quality(NeighbourReport(series))\n"
        "wb.show_scan(SharpnessScan(series, np.linspace(-4, 4, 9)))\nwb")


@pytest.fixture(scope="module")
def page(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "judging.ipynb", [SETUP, SHOW])
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    open_and_run(pg, lab, "judging.ipynb", READY)
    pg.locator(WIDGET).scroll_into_view_if_needed()
    yield pg
    assert not [e for e in errors if "etw" in e or "workbench" in e], errors
    pg.close()


def click_at(page, selector, fx, fy=0.5):
    loc = page.locator(selector)
    loc.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    box = loc.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def state(page, expr):
    return run_cell_source(page, f"wb.wait()\nRESULT = {expr}")


def test_quality_strip_click_goes_to_the_tilt(page):
    page.wait_for_selector("[data-role='quality']:not(.etw-hidden)")
    pixels = canvas_pixels(page, "[data-pane='quality']")
    assert pixels and max(pixels) != min(pixels)
    assert "1 flagged" in page.locator("[data-role='quality']").text_content()
    click_at(page, "[data-pane='quality']", (7 + 0.5) / 90)
    page.wait_for_function("() => window.__etwTiltIndex === 7", timeout=20000)
    for _ in range(30):  # painted from the atlas at once; the kernel may get it later
        if state(page, "wb.tilt_index") == 7:
            break
        page.wait_for_timeout(200)
    assert state(page, "wb.tilt_index") == 7


def test_curves_click_goes_to_the_nearest_tilt(page):
    assert max(canvas_pixels(page, "[data-pane='curves']")) > 0
    click_at(page, "[data-pane='curves']", 0.98)
    page.wait_for_function("() => window.__etwTiltIndex >= 85", timeout=20000)
    for _ in range(30):
        if state(page, "wb.tilt_index") >= 85:
            break
        page.wait_for_timeout(200)
    assert state(page, "wb.tilt_index") >= 85


def test_scan_click_sets_the_rotation(page):
    page.wait_for_selector("[data-role='scan']:not(.etw-hidden)")
    click_at(page, "[data-pane='scan']", 0.98)
    for _ in range(20):
        rotation = state(page, "wb.tilt_rotation")
        if rotation > 3:
            break
        page.wait_for_timeout(200)
    assert 3.0 < rotation <= 4.5


def test_remove_flagged_is_one_logged_step(page):
    page.locator("button[data-action='remove_flagged']").click()
    page.wait_for_function("() => document.querySelector('[data-role=status]').textContent"
                           ".includes('done')", timeout=60000)
    n, line, quality = state(page, "[wb.stack.data.shape[0], wb.log.lines()[-1], wb.quality]")
    assert (n, line) == (89, "stack = stack.remove_projections(projections=[7])")
    # the report is refreshed on the new stack (stack.quality() runs after each step):
    # the removed projection's tilt (14°) is gone from it
    assert not quality or (len(quality["tilts"]) == 89 and 14.0 not in quality["tilts"])


def test_volume_orthoslices_drag_and_the_3d_view(page):
    run_cell_source(page, "wb.tilt_rotation = 0.0\nwb.reconstruct('FBP')\nRESULT = 1")
    page.wait_for_selector("[data-role='volume']:not(.etw-hidden)")
    page.wait_for_function("() => { const c = document.querySelector('[data-pane=ortho-yz]');"
                           " return c && c.width > 0; }", timeout=20000)
    frame = run_cell_source(page, "f = wb.ortho_xy\nRESULT = [list(f['data']), wb.ortho, "
                                  "f['size']]")
    assert canvas_pixels(page, "[data-pane='ortho-xy']") == frame[0]
    nx, ny, _ = frame[2]
    click_at(page, "[data-pane='ortho-xy']", 0.25, 0.75)  # x at 1/4, y at 3/4
    for _ in range(20):
        pos = state(page, "wb.ortho")
        if pos != frame[1]:
            break
        page.wait_for_timeout(200)
    assert abs(pos[0] - nx // 4) <= 2 and abs(pos[1] - 3 * ny // 4) <= 2
    assert pos[2] == frame[1][2]
    # a drag: the planes follow the pointer, and end where it was released
    loc = page.locator("[data-pane='ortho-xy']")
    loc.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)  # (running a cell scrolls the notebook)
    box = loc.bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.75 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.4 * box["height"], steps=6)
    page.mouse.up()
    for _ in range(20):
        pos = state(page, "wb.ortho")
        if abs(pos[0] - int(0.6 * nx)) <= 2:
            break
        page.wait_for_timeout(200)
    assert abs(pos[0] - int(0.6 * nx)) <= 2 and abs(pos[1] - int(0.4 * ny)) <= 2, pos
    yz = run_cell_source(page, "RESULT = list(wb.ortho_yz['data'])")
    page.wait_for_function("(p) => document.querySelector('[data-pane=ortho-yz]')"
                           ".closest('.etw-pane').textContent.includes('x = ' + p)", arg=pos[0])
    assert canvas_pixels(page, "[data-pane='ortho-yz']") == yz
    cells = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model"
                          ".sharedModel.cells.length")
    page.locator("button[data-action='volume']").click()
    page.wait_for_function("(n) => window.jupyterapp.shell.currentWidget.content.model"
                           ".sharedModel.cells.length > n", arg=cells, timeout=20000)
    source = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model"
                           ".sharedModel.cells[2].getSource()")
    assert source == "wb.volume_view()"
    # the new cell runs and shows the ipyvolume view (a WebGL canvas)
    page.wait_for_function("() => document.querySelectorAll('.jp-Cell')[2] && "
                           "document.querySelectorAll('.jp-Cell')[2].querySelector('canvas')",
                           timeout=90000)
