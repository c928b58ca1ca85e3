"""The tilt-axis scan pane in a real browser, on the engine's own scan of a simulated
series whose axis is rotated by a known angle: the Scan button runs
``stack.tilt_axis_scan()`` off the kernel's thread, the curves are drawn, and a click on a
curve sets the slider to the value under the pointer; the quality strip refreshes after a
step by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import canvas_pixels, open_and_run, run_cell_source, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WIDGET = ".etw-root"
READY = "[data-etw-ready='1'][data-slices-drawn]"
SETUP = """import numpy as np
import etspy_widgets as etw
# the axis rotated by 2° and shifted by 3 px: the scan's correction is (-2°, -3 px)
stack = etw.datasets.get_catalyst_data(misalign=True, minshift=0, maxshift=0, tiltrotate=2,
                                       tiltshift=3, seed=0, size=96)
wb = etw.AlignmentWorkbench(stack)
wb"""
PAD, RIGHT = 22, 4  # js/plots.js linePlot: left axis margin, right margin (CSS px)


@pytest.fixture(scope="module")
def page(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "scan.ipynb", [SETUP])
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    open_and_run(pg, lab, "scan.ipynb", READY)
    pg.locator(WIDGET).scroll_into_view_if_needed()
    yield pg
    assert not [e for e in errors if "etw" in e or "workbench" in e], errors
    pg.close()


def state(page, expr):
    return run_cell_source(page, f"wb.wait()\nRESULT = {expr}", timeout_ms=300000)


def click_value(page, selector, xs, value):
    """Click the plot ``selector`` where ``linePlot`` draws x = ``value`` (its x range is
    the values' span padded by 5 %)."""
    loc = page.locator(selector)
    loc.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    box = loc.bounding_box()
    lo, hi = min(xs), max(xs)
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
    px = PAD + (value - lo) / (hi - lo) * (box["width"] - PAD - RIGHT)
    page.mouse.click(box["x"] + px, box["y"] + box["height"] / 2)
    return (hi - lo) / (box["width"] - PAD - RIGHT)  # one pixel, in the curve's units


def test_the_scan_button_draws_the_engines_curves(page):
    page.locator("button[data-action='scan']").click()
    page.wait_for_selector("[data-role='scan']:not(.etw-hidden)", timeout=30000)
    page.wait_for_function("() => (document.querySelector('[data-role=scan-note]') || {})"
                           ".textContent?.startsWith('Scanned')", timeout=240000)
    scan = state(page, "wb.scan")
    assert abs(scan["rotation"] + 2) < 0.1 and abs(scan["offset"] + 3) < 0.15  # known axis
    title = page.locator("[data-role='scan'] .etw-title").text_content()
    assert f"{scan['rotation']:.2f}°" in title
    for pane in ("scan", "scan-offset"):
        pixels = canvas_pixels(page, f"[data-pane='{pane}']")
        assert pixels and max(pixels) != min(pixels)  # a curve is drawn


def test_clicking_the_curves_sets_rotation_and_offset(page):
    scan = state(page, "wb.scan")
    target = scan["rotation"]
    step = click_value(page, "[data-pane='scan']", scan["x"], target)
    for _ in range(30):
        rotation = state(page, "wb.tilt_rotation")
        if rotation != 0.0:
            break
        page.wait_for_timeout(200)
    assert rotation == pytest.approx(target, abs=2 * step + 0.01)
    target = scan["offset"]
    step = click_value(page, "[data-pane='scan-offset']", scan["offset_x"], target)
    for _ in range(30):
        shift = state(page, "wb.tilt_shift")
        if shift != 0.0:
            break
        page.wait_for_timeout(200)
    assert shift == pytest.approx(target, abs=2 * step + 0.01)
    # the slices follow the clicked values (the live preview of the trial axis)
    page.wait_for_function("(s) => Math.abs(Number(document.querySelector('.etw-root')"
                           ".parentElement.dataset.slicesShift) - s) < 1e-9", arg=shift,
                           timeout=30000)


def test_a_step_refreshes_the_quality_strip_by_itself(page):
    page.locator("button[data-action='apply_manual']").click()
    page.wait_for_selector("[data-role='quality']:not(.etw-hidden) [data-pane='quality']",
                           timeout=60000)
    page.wait_for_function("() => (document.querySelector('[data-role=quality-note]') || {})"
                           ".textContent?.startsWith('Judged')", timeout=240000)
    quality, scan, line = state(page, "[wb.quality, wb.scan, wb.log.lines()[-1]]")
    assert line.startswith("stack = stack.trans_stack(")
    assert len(quality["residual"]) == 90 and scan == {}  # the scan measured the stack before
    pixels = canvas_pixels(page, "[data-pane='quality']")
    assert pixels and max(pixels) != min(pixels)
