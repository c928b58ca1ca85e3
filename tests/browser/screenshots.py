"""Take the documentation's screenshots of the workbench in JupyterLab + Chromium.

Usage: ``python tests/browser/screenshots.py [docs/img]`` (needs ETSpy's test data for
the needle series; the catalyst is simulated).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import CHROMIUM, CHROMIUM_ARGS, Lab, open_and_run, write_notebook

SCENES = {
    "workbench_needle.png": [
        "import etspy_widgets as etw",
        'wb = etw.AlignmentWorkbench.from_source("etw.datasets.get_needle_data()", '
        'cmap="afmhot")\nwb.register("PC")\nwb.tilt_index = 38\nwb.tilt_shift = 1.5\nwb',
    ],
    "workbench_catalyst.png": [
        "import etspy_widgets as etw",
        'wb = etw.AlignmentWorkbench.from_source("etw.datasets.get_catalyst_data('
        'misalign=True, seed=0, size=256, n_particles=20, tiltshift=2.0, tiltrotate=1.0)")\n'
        'wb.register("PC")\nwb.tilt_align("CoM")\nwb.tilt_index = 45\nwb',
    ],
}


def main(out_dir: str = "docs/img") -> None:
    from playwright.sync_api import sync_playwright

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="etw-shots-"))
    for name, cells in SCENES.items():
        write_notebook(root / (Path(name).stem + ".ipynb"), cells)
    lab = Lab(root).start()
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1500, "height": 1200})
            for name in SCENES:
                page = ctx.new_page()
                open_and_run(page, lab, Path(name).stem + ".ipynb",
                             "[data-etw-ready='1'][data-slices-drawn]", timeout_ms=180000)
                page.wait_for_function("() => document.querySelector('[data-role=status]')"
                                       ".textContent.length > 0")
                page.wait_for_timeout(1500)
                page.locator(".etw-root").screenshot(path=str(out / name))
                print("wrote", out / name)
                page.close()
            ctx.close()
    finally:
        lab.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
