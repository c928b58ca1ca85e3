"""``AlignmentWorkbench.watch`` in a real browser: while a simulated acquisition writes into a
folder, the page's status line counts the projections in and the live slices repaint."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest
from harness import canvas_pixels, open_and_run, run_cell_source, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
READY = "[data-etw-ready='1'][data-slices-drawn]"


def status(page) -> str:
    return page.locator("[data-role='status']").text_content() or ""


def count_in(text: str) -> int:
    found = re.search(r"(\d+) projection\(s\) in", text)
    return int(found.group(1)) if found else -1


def test_the_panes_grow_with_the_series(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "live.ipynb", [
        "import tempfile\nimport etspy_widgets as etw\nfrom etspy_widgets import live\n"
        "folder = tempfile.mkdtemp()\n"
        "stack = live.load_dataset('catalyst', size=96, step=6)\n"
        "acq = live.Acquisition(folder, stack, 'dose-symmetric', 1.0).start()",
        "wb = etw.AlignmentWorkbench.watch(folder, settle=0, timeout=120)\nwb",
    ])
    page = browser_context.new_page()
    try:
        open_and_run(page, lab, "live.ipynb", READY)
        page.locator(".etw-root").scroll_into_view_if_needed()
        page.wait_for_function("() => { const s = document.querySelector("
                               "\"[data-role='status']\"); return s && "
                               "s.textContent.startsWith('Live:'); }", timeout=60000)
        seen = []
        slices = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(set(seen)) < 4:
            n = count_in(status(page))
            if not seen or n != seen[-1]:
                seen.append(n)
                slices.append(canvas_pixels(page, "[data-pane='slice-1']"))
            time.sleep(0.2)
        assert len(set(seen)) >= 4 and seen == sorted(seen), seen   # the count grows
        assert len({bytes(s) for s in slices if s}) >= 3            # the slice repaints
        shape = run_cell_source(page, "RESULT = wb.stack_shape")
        assert shape[0] >= seen[-1]
        run_cell_source(page, "acq.stop(); wb.live.stop(); RESULT = wb.stack_shape")
        page.wait_for_function("() => { const s = document.querySelector("
                               "\"[data-role='status']\"); return s && "
                               "s.textContent.startsWith('Stopped:'); }", timeout=30000)
    finally:
        with contextlib.suppress(Exception):  # the kernel goes with the lab fixture anyway
            run_cell_source(page, "acq.stop(); wb.live.watcher.stop(); wb.shutdown(); "
                            "RESULT = 1", timeout_ms=30000)
        page.close()
