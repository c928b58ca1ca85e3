"""Take the documentation's screenshots of the workbench in JupyterLab + Chromium, in the
light and the dark theme.

Usage: ``python tests/browser/screenshots.py [docs/img]`` (needs ETSpy's test data for
the needle series; the catalyst is simulated). Each scene registers, aligns, reconstructs,
waits for the quality report made after the steps and runs the tilt-axis scan, so every
pane is on screen.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import CHROMIUM, CHROMIUM_ARGS, Lab, open_and_run, write_notebook  # noqa: E402

JUDGE = "wb.scan_tilt_axis(bootstrap=20)\nwb.wait()\n"  # the strip: made after the steps
SCENES = {
    "workbench_needle": [
        "import etspy_widgets as etw",
        'wb = etw.AlignmentWorkbench.from_source("etw.datasets.get_needle_data()", '
        'cmap="afmhot")\nwb.register("PC")\nwb.tilt_index = 38\nwb.tilt_shift = 1.5\n'
        'wb.reconstruct("FBP")\n' + JUDGE + "wb",
    ],
    "workbench_catalyst": [
        "import etspy_widgets as etw",
        'wb = etw.AlignmentWorkbench.from_source("etw.datasets.get_catalyst_data('
        'misalign=True, seed=0, size=256, n_particles=20, tiltshift=2.0, tiltrotate=1.0)")\n'
        'wb.register("PC")\nwb.tilt_align("CoM")\nwb.tilt_index = 45\nwb.reconstruct("FBP")\n'
        + JUDGE + "wb",
    ],
}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
WIDTH = 1000  # pixels of the saved PNG (the page is 1500 wide)


def shrink(path: Path) -> None:
    """Scale to WIDTH and keep 256 colours: small PNGs for the docs."""
    from PIL import Image

    with Image.open(path) as shot:
        rgb = shot.convert("RGB")
    if rgb.width > WIDTH:
        rgb = rgb.resize((WIDTH, round(rgb.height * WIDTH / rgb.width)), Image.LANCZOS)
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main(out_dir: str = "docs/img") -> None:
    from playwright.sync_api import sync_playwright

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="etw-shots-"))
    for name, cells in SCENES.items():
        write_notebook(root / f"{name}.ipynb", cells)
    lab = Lab(root).start()
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1500, "height": 2400})
            ctx.add_init_script("window.__etwInstrument = true;")
            for name in SCENES:
                page = ctx.new_page()
                open_and_run(page, lab, f"{name}.ipynb", "[data-role='volume']:not(.etw-hidden)",
                             timeout_ms=300000)
                page.add_style_tag(content=".Toastify { display: none !important; }")
                for theme, label in THEMES.items():
                    page.evaluate("([t]) => window.jupyterapp.commands.execute("
                                  "'apputils:change-theme', {theme: t})", [label])
                    page.wait_for_function("(l) => document.body.dataset.jpThemeLight === l",
                                           arg=str(theme == "light").lower(), timeout=30000)
                    page.wait_for_timeout(1500)
                    # the light one keeps the name the docs and README have always used
                    path = out / (f"{name}.png" if theme == "light" else f"{name}_{theme}.png")
                    page.locator(".etw-root").screenshot(path=str(path))
                    shrink(path)
                    print("wrote", path, f"{path.stat().st_size / 1e3:.0f} kB")
                page.close()
            ctx.close()
    finally:
        lab.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
