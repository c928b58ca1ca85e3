"""VolumeView (ipyvolume) in a real browser: the WebGL canvas is drawn, not blank.

The pixels are read from an element screenshot (a WebGL canvas cannot be read back
through a 2D context). Single volume: coloured (non-grey) pixels appear. Three
elements: red, green and blue pixels all appear (Cr, Ni, Si).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from harness import open_and_run, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SETUP = """import numpy as np
from etspy_widgets.widgets.volume import VolumeView
g = np.mgrid[:40, :40, :40]
def blob(c, w=40.0):
    return np.exp(-sum((gi - ci) ** 2 for gi, ci in zip(g, c)) / w).astype(np.float32)"""

SINGLE = """single = VolumeView(blob((20, 20, 20), 80.0), width=300, height=300)
single.figure.add_class('vv-single')
single"""

EDX = """edx = VolumeView({"Cr": blob((20, 20, 8)), "Ni": blob((20, 20, 20)),
                   "Si": blob((20, 20, 32))}, colors=["red", "lime", "blue"],
                  threshold=0.1, opacity=0.6, width=300, height=300)
edx.figure.add_class('vv-edx')
edx"""


def _pixels(page, selector) -> np.ndarray:
    from PIL import Image

    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels that are clearly not grey (the box, labels and background are grey/white)."""
    return (rgb.max(axis=-1) - rgb.min(axis=-1)) > 60


@pytest.fixture(scope="module")
def page(lab, lab_root, browser_context):
    write_notebook(Path(lab_root) / "volume.ipynb", [SETUP, SINGLE, EDX])
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    open_and_run(pg, lab, "volume.ipynb", ".vv-edx canvas")
    yield pg
    assert not [e for e in errors if "ipyvolume" in e.lower()], errors
    pg.close()


def _wait_for_colour(page, selector, timeout=40.0) -> np.ndarray:
    """The first WebGL frames can be empty while textures upload: poll the screenshot."""
    deadline = time.monotonic() + timeout
    page.locator(selector).scroll_into_view_if_needed()
    while True:
        rgb = _pixels(page, selector)
        if _coloured(rgb).sum() > 200 or time.monotonic() > deadline:
            return rgb
        time.sleep(1.0)


def test_single_volume_renders(page):
    rgb = _wait_for_colour(page, ".vv-single")
    assert _coloured(rgb).sum() > 200, "the volume rendering canvas stayed blank"


def test_three_elements_render_in_their_colours(page):
    rgb = _wait_for_colour(page, ".vv-edx")
    r, g, b = (rgb[..., i] for i in range(3))
    red = (r > g + 60) & (r > b + 60)
    green = (g > r + 60) & (g > b + 60)
    blue = (b > r + 60) & (b > g + 60)
    assert red.sum() > 50 and green.sum() > 50 and blue.sum() > 50, (
        red.sum(), green.sum(), blue.sum())
