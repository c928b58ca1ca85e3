"""The workbench in a real browser: JupyterLab + Debian Chromium driven by Playwright.

Checks from the page that the canvases show what Python sent (pixel by pixel), that
sliders, keys, clicks and buttons reach the kernel, that the insert button writes the
code log into a new cell whose execution gives the same stack, and measures slider
event → redrawn canvas latency (printed, not asserted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness import canvas_pixels, open_and_run, run_cell_source, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SOURCE = ("etw.datasets.get_catalyst_data(misalign=True, seed=0, size=128, n_particles=10, "
          "tiltshift=2.0, tiltrotate=1.0)")
# benchmarks/bench_workbench.py --browser measures other sizes through this variable
SIZE = int(os.environ.get("ETW_BROWSER_SIZE", "0"))
if SIZE:
    N_TILTS = 77 if SIZE <= 256 else 151
    SOURCE = (f"etw.simulation.simulate_needle(size={SIZE}, tilts=np.linspace(-76, 76, "
              f"{N_TILTS}), misalign=True, seed=0).stack")
MOVES = int(os.environ.get("ETW_BROWSER_MOVES", "13"))  # the benchmark asks for more
WIDGET = ".etw-root"
READY = "[data-etw-ready='1'][data-slices-drawn]"


def el_data(page, key):
    return page.evaluate("""(k) => { const r = document.querySelector('.etw-root');
        return r ? r.parentElement.dataset[k] : null; }""", key)


@pytest.fixture(scope="module")
def page(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "workbench.ipynb", [
        "import numpy as np\nimport etspy_widgets as etw",
        f"wb = etw.AlignmentWorkbench.from_source({SOURCE!r})\nwb",
    ])
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    open_and_run(pg, lab, "workbench.ipynb", READY)
    pg.locator(WIDGET).scroll_into_view_if_needed()
    yield pg
    assert not [e for e in errors if "etw" in e or "workbench" in e], errors
    pg.close()


def until_python(page, expr, ok, tries=40):
    """``expr`` evaluated in the kernel (after ``wb.wait()``) once ``ok(value)``: a value the
    browser already shows (projections are painted from the atlas at once) may still be on
    its way to the kernel (ipywidgets holds a message back while the kernel is busy)."""
    for _ in range(tries):
        value = run_cell_source(page, f"wb.wait()\nRESULT = {expr}")
        if ok(value):
            return value
        page.wait_for_timeout(200)
    return value


def python_frame(page, trait, index=0):
    return run_cell_source(page, f"""
f = wb.{trait}
h, w = f['shape'][-2:]
RESULT = list(f['data'][{index} * h * w:({index} + 1) * h * w])""")


def test_canvases_show_the_frames_python_sent(page):
    page.wait_for_function("() => document.querySelector('[data-pane=\"slice-2\"]').width > 0")
    for k in range(3):
        assert canvas_pixels(page, f"[data-pane='slice-{k}']") == \
            python_frame(page, "slices_frame", k)
    assert canvas_pixels(page, "[data-pane='tilt']") == python_frame(page, "tilt_frame")
    assert canvas_pixels(page, "[data-pane='sinogram']") == python_frame(page, "sino_frame")
    overlay = canvas_pixels(page, "[data-pane='tilt-overlay']")
    assert len(overlay) > 0
    status = page.locator("[data-role='status']").text_content()
    assert status == "Ready."


JS_THEME = """([name]) => window.jupyterapp.commands.execute('apputils:change-theme',
    {theme: name})"""
JS_COLOURS = """() => { const r = document.querySelector('.etw-root');
    const s = getComputedStyle(r); return [s.backgroundColor, s.color,
    getComputedStyle(r.querySelector('button')).backgroundColor]; }"""


def luminance(css: str) -> float:
    r, g, b = (float(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Light"])
def test_the_workbench_follows_the_jupyterlab_theme(page, theme):
    page.evaluate(JS_THEME, [theme])
    light = theme.endswith("Light")
    page.wait_for_function("(l) => document.body.dataset.jpThemeLight === String(l)", arg=light,
                           timeout=30000)
    page.wait_for_timeout(300)
    bg, fg, button = page.evaluate(JS_COLOURS)
    if light:
        assert luminance(bg) > 0.8 and luminance(fg) < 0.4 and luminance(button) > 0.6
    else:
        assert luminance(bg) < 0.3 and luminance(fg) > 0.6 and luminance(button) < 0.4
    # the images keep their pixels whatever the theme
    assert canvas_pixels(page, "[data-pane='slice-1']") == python_frame(page, "slices_frame", 1)
    folder = os.environ.get("ETW_SCREENSHOT_DIR")
    if folder:
        page.locator(WIDGET).screenshot(
            path=str(Path(folder) / f"workbench-{'light' if light else 'dark'}.png"))


def test_dragging_a_limit_on_the_histogram_sets_the_contrast(page):
    before = canvas_pixels(page, "[data-pane='tilt']")
    hist = page.locator("[data-pane='histogram']")
    _, y0 = settled_centre(page, hist, "[data-pane='histogram']")
    box = hist.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.97, y0)  # the upper limit, near the right
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y0, steps=5)
    page.mouse.up()
    # the last value may still be on its way (ipywidgets holds a message back while the
    # kernel is busy with the one before): read until Python has it
    for _ in range(20):
        state = run_cell_source(page, "wb.wait()\nf = wb.tilt_frame['histogram']['range']\n"
                                      "RESULT = [wb.contrast_mode, wb.contrast_limits, f, "
                                      "wb.tilt_frame['limits']]")
        mode, limits, (lo, hi), shown = state
        if limits and abs(limits[1] - (lo + 0.6 * (hi - lo))) < 0.05 * (hi - lo):
            break
        page.wait_for_timeout(200)
    assert mode == "manual" and shown == limits
    assert limits[1] == pytest.approx(lo + 0.6 * (hi - lo), abs=0.02 * (hi - lo)), (state, box)
    after = canvas_pixels(page, "[data-pane='tilt']")
    assert after != before and after == python_frame(page, "tilt_frame")
    run_cell_source(page, "wb.contrast_mode = 'auto'\nRESULT = 1")


def test_every_control_has_a_tooltip(page):
    missing = page.evaluate("""() => [...document.querySelectorAll(
        '.etw-root input, .etw-root select, .etw-root button, .etw-root summary')]
        .filter((e) => !(e.title || '').trim()).map((e) => e.outerHTML.slice(0, 80))""")
    assert missing == []


JS_GRID = """() => { const box = document.querySelector("[data-pane='tilt']")
    .closest('.etw-canvasbox'); const grid = document.querySelector("[data-role='images']");
  return [box.clientWidth, getComputedStyle(grid).gridTemplateColumns.split(' ').length]; }"""


def test_the_pane_size_resizes_the_grid_and_the_frames_follow(page):
    """Small / Medium / Large: the grid keeps the cell's width with fewer, larger panes, and
    the kernel sends frames at the size the panes now show (device pixels, steps of 128)."""
    width, columns = page.evaluate(JS_GRID)
    page.select_option("[data-role='pane-size']", "340px")
    page.wait_for_function(f"() => ({JS_GRID})()[0] > {width}", timeout=10000)
    large, fewer = page.evaluate(JS_GRID)
    assert large >= 340 and fewer < columns
    ratio = page.evaluate("() => window.devicePixelRatio || 1")
    expected = max(128, min(1024, -(-int(large * ratio) // 128) * 128))
    size = until_python(page, "[wb.display_size, max(wb.tilt_frame['shape'])]",
                        lambda v: v[0] == expected)
    assert size[0] == expected and size[1] <= expected
    page.select_option("[data-role='pane-size']", "240px")
    page.wait_for_function(f"() => ({JS_GRID})()[0] === {width}", timeout=10000)
    assert page.evaluate(JS_GRID) == [width, columns]


def test_keyboard_shortcuts_when_the_widget_has_focus(page):
    root = page.locator(WIDGET)
    start = run_cell_source(page, "RESULT = [wb.tilt_index, wb.tilt_shift, wb.selected_slice, "
                                  "wb.slices]")
    page.wait_for_timeout(300)
    root.evaluate("(e) => e.focus()")  # after the cell ran (running a cell takes the focus)
    assert page.evaluate("() => document.activeElement.classList.contains('etw-root')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Period")
    page.keyboard.press("3")
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"() => window.__etwTiltIndex === {start[0] + 2}", timeout=20000)
    state = until_python(page, "[wb.tilt_index, wb.tilt_shift, wb.selected_slice, wb.slices]",
                         lambda v: v[0] == start[0] + 2 and v[2] == 2)
    assert state[0] == start[0] + 2
    assert state[1] == pytest.approx(start[1] + 0.1)
    assert state[2] == 2 and state[3][2] == start[3][2] + 1
    page.wait_for_timeout(300)
    root.evaluate("(e) => e.focus()")
    page.keyboard.press("Shift+Slash")  # "?"
    help_box = page.locator("[data-role='help']")
    assert help_box.is_visible() and "undo" in help_box.text_content()
    page.keyboard.press("Escape")
    assert not help_box.is_visible()
    page.keyboard.press("Home")
    page.wait_for_function("() => window.__etwTiltIndex === 0", timeout=20000)
    # focus anywhere in the widget, e.g. on a button: the keys still drive it
    page.locator("button[data-action='help']").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__etwTiltIndex === 1", timeout=20000)
    page.keyboard.press("Shift+Slash")
    assert help_box.is_visible()
    page.keyboard.press("Escape")
    assert not help_box.is_visible()
    page.keyboard.press("Home")  # back to the first projection: the tests below start there
    page.wait_for_function("() => window.__etwTiltIndex === 0", timeout=20000)
    run_cell_source(page, f"wb.tilt_shift = {start[1]!r}\nwb.slices = {start[3]!r}\n"
                          "wb.wait()\nRESULT = 1")


def settled_centre(page, locator, selector):
    """The centre of ``locator`` once scrolled into view and no longer moving (JupyterLab
    scrolls smoothly after a cell runs), checked to be the element under that point."""
    # centred, away from JupyterLab's toolbars (top) and notification toasts (bottom right)
    locator.evaluate("(e) => e.scrollIntoView({block: 'center', inline: 'center'})")
    box, previous = locator.bounding_box(), None
    for _ in range(50):
        if box == previous:
            break
        page.wait_for_timeout(100)
        previous, box = box, locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    hit = page.evaluate("([x, y, sel]) => document.elementFromPoint(x, y) === "
                        "document.querySelector(sel)", [x, y, selector])
    assert hit, f"something covers the slider at ({x:.0f}, {y:.0f})"
    return x, y


def test_shift_slider_keys_redraw_the_slices_and_measure_latency(page):
    before = canvas_pixels(page, "[data-pane='slice-1']")
    slider = page.locator("input[data-trait='tilt_shift']")
    slider.focus()
    for _ in range(12):  # rapid presses: coalesced, the last value must win
        page.keyboard.press("ArrowRight")
    page.wait_for_function("""() => { const r = document.querySelector('.etw-root').parentElement;
        return Math.abs(Number(r.dataset.slicesShift) - 1.2) < 1e-9; }""", timeout=30000)
    value = run_cell_source(page, "wb.wait()\n"
                                  "RESULT = [wb.tilt_shift, wb.slices_frame['tilt_shift']]")
    assert value[0] == pytest.approx(1.2) and value[1] == value[0]
    after = canvas_pixels(page, "[data-pane='slice-1']")
    assert after != before
    assert after == python_frame(page, "slices_frame", 1)
    # latency while dragging the thumb with the mouse, one move at a time, each waiting
    # for the frame of the value it sent (the browser's own event → canvas painted)
    page.evaluate("() => { window.__etwLatencies = []; window.__etwBreakdown = []; "
                  "window.__etwSent = null; }")
    x0, y0 = settled_centre(page, slider, "input[data-trait='tilt_shift']")
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(MOVES):
        page.mouse.move(x0 + 2 * (k + 1), y0)
        try:
            page.wait_for_function("() => window.__etwSent && window.__etwSent.done === true",
                                   timeout=30000)
        except Exception as err:
            state = page.evaluate("""() => ({sent: window.__etwSent,
                value: document.querySelector("input[data-trait='tilt_shift']").value,
                shown: document.querySelector('.etw-root').parentElement.dataset.slicesShift,
                status: document.querySelector("[data-role='status']").textContent,
                error: document.querySelector("[data-role='error']").textContent})""")
            page.mouse.up()
            raise AssertionError(f"move {k}: the frame of the sent value never came: "
                                 f"{state}") from err
    page.mouse.up()
    lat = page.evaluate("() => window.__etwLatencies")
    assert len(lat) >= MOVES - 3
    report("slider drag → redrawn slices", lat, "drag",
           page.evaluate("() => window.__etwBreakdown"))


def report(what, lat, key, phases=()):
    """Print p50/p95 (and the median of each phase of the probe's breakdown: where the
    time went) and add them to ``$ETW_BROWSER_LATENCY_OUT`` (JSON) for the benchmark."""
    p50, p95 = percentile(lat, 50), percentile(lat, 95)
    size = f"{SIZE}² × {N_TILTS}" if SIZE else "128² × 90"
    print(f"\nbrowser {what}, {size} tilts: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"min {min(lat):.1f}, max {max(lat):.1f} (n={len(lat)})")
    names = [k for k in ("up", "wait", "compute", "encode", "down", "paint")
             if any(k in p for p in phases)]
    split = {k: {"p50": percentile([p[k] for p in phases if k in p], 50),
                 "p95": percentile([p[k] for p in phases if k in p], 95)} for k in names}
    if split:
        print(f"browser   {key} phases p50/p95 (ms): " + ", ".join(
            f"{k} {v['p50']:.1f}/{v['p95']:.1f}" for k, v in split.items()))
    out = os.environ.get("ETW_BROWSER_LATENCY_OUT")
    if out:
        path = Path(out)
        figures = json.loads(path.read_text()) if path.exists() else {}
        figures[key] = {"p50": p50, "p95": p95, "n": len(lat), "phases": split}
        path.write_text(json.dumps(figures))


def percentile(values, q):
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def test_tilt_change_redraws_the_projection_and_measure_latency(page):
    tilt = page.locator("input[data-trait='tilt_index']")
    page.evaluate("() => { window.__etwTiltLatencies = []; window.__etwTiltBreakdown = []; "
                  "window.__etwSent = null; }")
    start = run_cell_source(page, "RESULT = wb.tilt_index")
    tilt.focus()
    for k in range(MOVES):
        page.keyboard.press("ArrowRight")
        page.wait_for_function("(i) => window.__etwTiltIndex === i", arg=start + k + 1,
                               timeout=30000)
    lat = page.evaluate("() => window.__etwTiltLatencies")
    assert len(lat) >= MOVES - 3
    report("tilt change → redrawn projection", lat, "tilt",
           page.evaluate("() => window.__etwTiltBreakdown"))
    until_python(page, "wb.tilt_index", lambda v: v == start + MOVES)
    page.wait_for_timeout(300)  # the kernel's own frame of it, painted again
    assert canvas_pixels(page, "[data-pane='tilt']") == python_frame(page, "tilt_frame")
    run_cell_source(page, f"wb.tilt_index = {start}\nRESULT = 1")
    page.wait_for_function("(i) => window.__etwTiltIndex === i", arg=start, timeout=30000)


def test_tilt_slider_arrow_keys_and_angle(page):
    before = canvas_pixels(page, "[data-pane='tilt']")
    angle0 = page.locator("[data-role='angle']").text_content()
    tilt = page.locator("input[data-trait='tilt_index']")
    tilt.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("(a) => document.querySelector('[data-role=angle]').textContent"
                           ".includes('(4/')", arg=angle0, timeout=20000)
    state = until_python(page, "[wb.tilt_index, wb.tilt_angles[wb.tilt_index]]",
                         lambda v: v[0] == 3)
    assert state[0] == 3
    assert page.locator("[data-role='angle']").text_content().strip().startswith(
        f"{state[1]:.1f}°")
    page.wait_for_function("(a) => window.__etwTiltIndex === 3", arg=0, timeout=20000)
    assert canvas_pixels(page, "[data-pane='tilt']") != before
    assert canvas_pixels(page, "[data-pane='tilt']") == python_frame(page, "tilt_frame")


def test_click_moves_the_nearest_slice_line(page):
    overlay = page.locator("[data-pane='tilt-overlay']")
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    overlay.click(position={"x": box["width"] * 0.10, "y": box["height"] * 0.5})
    page.wait_for_function("""() => { const r = document.querySelector('.etw-root').parentElement;
        return r.dataset.slicesSeq !== undefined; }""")
    state = run_cell_source(page, "wb.wait()\nRESULT = [wb.slices, wb.selected_slice, "
                                  "wb.stack_shape[2]]")
    slices, selected, nx = state
    assert selected == 0
    assert abs(slices[0] - 0.10 * nx) <= 2
    page.wait_for_function("""(x) => { const t = document.querySelectorAll('.etw-slice .etw-title');
        return t.length && t[0].textContent.startsWith('Slice x = ' + x); }""", arg=slices[0])


def test_remove_button_changes_the_stack(page):
    page.locator("button[data-action='remove_projection']").click()
    page.wait_for_function("""() => document.querySelector('[data-role=status]').textContent
        .includes('done')""", timeout=60000)
    state = run_cell_source(page, "wb.wait()\nRESULT = [wb.stack_shape, wb.error, "
                                  "wb.log.lines()[-1]]")
    assert state[0][0] == 89 and state[1] == ""
    assert state[2] == "stack = stack.remove_projections(projections=[3])"
    assert "/89)" in page.locator("[data-role='angle']").text_content()
    # Ctrl-Z on the widget undoes it, Ctrl-Y redoes it
    page.wait_for_timeout(300)
    page.locator(WIDGET).evaluate("(e) => e.focus()")
    page.keyboard.press("Control+z")
    page.wait_for_function("() => document.querySelector('[data-role=angle]').textContent"
                           ".includes('/90)')", timeout=30000)
    page.keyboard.press("Control+y")
    page.wait_for_function("() => document.querySelector('[data-role=angle]').textContent"
                           ".includes('/89)')", timeout=30000)
    assert run_cell_source(page, "wb.wait()\nRESULT = wb.log.lines()[-1]") == \
        "stack = stack.remove_projections(projections=[3])"


def test_insert_button_writes_the_log_into_a_new_cell_that_reproduces(page):
    page.locator("button[data-action='insert']").click()
    source = page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        return nb.model.sharedModel.cells[2].getSource(); }""")
    code = run_cell_source(page, "RESULT = wb.code")
    assert source == code
    assert source.startswith("import etspy_widgets as etw\n")
    assert "stack = stack.remove_projections(projections=[3])" in source
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        nb.activeCellIndex = 2; window.jupyterapp.commands.execute('notebook:run-cell'); }""")
    same = run_cell_source(page, "RESULT = [bool(np.array_equal(stack.data, wb.stack.data)), "
                                 "bool(np.array_equal(stack.tilt_values, wb.stack.tilt_values))]",
                           timeout_ms=120000)
    assert same == [True, True]
    shot = os.environ.get("ETW_SCREENSHOT")
    if shot:
        page.locator(WIDGET).screenshot(path=shot)
