"""The workbench's synced state: traits (the contract with ``js/``), validators, front end.

Only state lives here; what changes it is in ``_controller`` (the steps) and ``_live``
(the preview). The method lists are the engine's own constants.
"""

from __future__ import annotations

import re
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from ...engine import align, filters, recon
from ...engine.errors import check_finite, check_method
from ...engine.validate import check_tilt_plausibility

REGISTRATION_METHODS = list(align.REGISTER_METHODS)
FILTER_METHODS = list(filters.FILTER_METHODS)
TILT_METHODS = list(align.TILT_METHODS)
RECON_METHODS = list(recon.METHODS)
SLICE_METHODS = list(align.SLICE_METHODS)
#: Colour maps the front end paints (``js/paint.js`` exports the same list; a test checks).
COLORMAPS = ["gray", "viridis", "magma", "afmhot", "inferno"]
MAX_SLICE_ITERATIONS = 1000


def stack_status(stack) -> str:
    """The status a new workbench shows: "Ready.", or what is wrong with the stack.

    NaN/inf data are refused (``InvalidDataError``: nothing could be shown or computed);
    tilts that are all zero, or implausible, open with a status that says so and how to
    fix it, instead of "Ready.".
    """
    data = np.asarray(stack.data)
    check_finite(data, "stack given to the workbench")
    tilts = np.asarray(stack.tilt_values, dtype=np.float64)
    if tilts.size and np.all(tilts == 0):
        return ("Tilts are all zero: alignment and slices need them. Set them first, e.g. "
                "stack.set_tilts(-70, 2), and open the workbench again.")
    try:
        check_tilt_plausibility(tilts)
    except ValueError as err:
        return f"Check the tilts: {err}"
    return "Ready."
CONTRAST_MODES = ("auto", "percentile", "manual")

_IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([\w.-]+\.js)";[ \t]*\n?', re.M)


def _folder() -> Path | None:
    """``js/`` beside the package (development), else the packaged ``static/`` copy."""
    here = Path(__file__).resolve()
    for folder in (here.parents[3] / "js", here.parents[2] / "static"):
        if (folder / "workbench.js").is_file():
            return folder
    return None


def bundle(entry: str = "workbench.js", folder: Path | None = None) -> str:
    """The front end as ONE ES module: ``entry`` with its ``./x.js`` imports inlined
    (dependencies first, each once). anywidget loads a single module from a string, so
    the modules in ``js/`` (which node tests import separately) are joined here; no
    bundler, no network."""
    folder = folder or _folder()
    if folder is None:
        message = ("etspy-widgets: the workbench front end is missing from this "
                   "installation (expected in js/ or etspy_widgets/static/).")
        return f"export default {{ render({{ el }}) {{ el.textContent = {message!r}; }} }};"
    seen: list[str] = []
    parts: list[str] = []

    def add(name: str, chain: tuple = ()):
        if name in seen:
            return
        if name in chain:
            raise ImportError(f"js/ import cycle: {' → '.join((*chain, name))}")
        text = (folder / name).read_text(encoding="utf-8")
        for dep in _IMPORT.findall(text):
            add(dep, (*chain, name))
        seen.append(name)
        parts.append(f"// ---- {name} ----\n" + _IMPORT.sub("", text))

    add(entry)
    return "\n".join(parts)


def _css() -> str:
    folder = _folder()
    return (folder / "workbench.css").read_text(encoding="utf-8") if folder else ""


class WorkbenchModel(anywidget.AnyWidget):
    """The traits of the workbench and their validation (no behaviour)."""

    _esm = bundle()
    _css = _css()

    # -- what is shown ---------------------------------------------------------
    tilt_index = t.Int(0).tag(sync=True)
    slices = t.List(t.Int(), minlen=3, maxlen=3, default_value=[0, 0, 0]).tag(sync=True)
    selected_slice = t.Int(1).tag(sync=True)
    tilt_shift = t.Float(0.0).tag(sync=True)
    tilt_rotation = t.Float(0.0).tag(sync=True)
    nudges = t.Dict().tag(sync=True)  # {"index": [dy, dx]} trial per-projection shifts
    dragging = t.Bool(False).tag(sync=True)
    slice_method = t.Unicode("FBP").tag(sync=True)
    slice_iterations = t.Int(20).tag(sync=True)
    # -- display ---------------------------------------------------------------
    cmap = t.Unicode("gray").tag(sync=True)
    # contrast: "auto" (robust limits on the object), "percentile" (``contrast``, set by
    # assigning it) or "manual" (``contrast_limits`` in data values, from the histogram;
    # for the projection and sinogram, whose values they are: the slices stay automatic)
    contrast_mode = t.Unicode("auto").tag(sync=True)
    contrast = t.List(t.Float(), minlen=2, maxlen=2, default_value=[0.5, 99.5]).tag(sync=True)
    contrast_limits = t.List(t.Float(), default_value=[]).tag(sync=True)
    view = t.List(t.Float(), default_value=[]).tag(sync=True)  # tilt-pane zoom [x0,y0,x1,y1]
    # the largest side of an image sent: the front end sets it to what its panes show (device
    # pixels), so a 1024² projection in a 240 px pane travels as 256², not 512²
    display_size = t.Int(512).tag(sync=True)
    # frames travel as custom messages with a binary buffer (never in the saved widget
    # state, so a saved notebook stays light); a new view asks for them ({"action": "frames"})
    tilt_frame = t.Dict()
    sino_frame = t.Dict()
    slices_frame = t.Dict()
    overlay = t.Dict().tag(sync=True)
    # -- judging panes (small JSON: lists of numbers) ----------------------------
    curves = t.Dict().tag(sync=True)   # shifts per tilt, applied and measured
    quality = t.Dict().tag(sync=True)  # per-tilt residuals and flags (the strip)
    scan = t.Dict().tag(sync=True)     # the tilt-axis scan curve
    has_volume = t.Bool(False).tag(sync=True)
    # refresh the quality report after every step (off the message thread, newest wins)
    auto_quality = t.Bool(True).tag(sync=True)
    quality_note = t.Unicode("").tag(sync=True)  # beside the strip: judging, judged, failed
    scan_note = t.Unicode("").tag(sync=True)  # in the scan pane: scanning, scanned
    ortho = t.List(t.Int(), default_value=[0, 0, 0]).tag(sync=True)  # [x, y, z] orthoslices
    ortho_xy = t.Dict()
    ortho_xz = t.Dict()
    ortho_yz = t.Dict()
    # -- data facts ------------------------------------------------------------
    stack_shape = t.List(t.Int()).tag(sync=True)
    tilt_angles = t.List(t.Float()).tag(sync=True)
    # -- controls --------------------------------------------------------------
    choices = t.Dict().tag(sync=True)
    reg_method = t.Unicode("PC").tag(sync=True)
    filter_method = t.Unicode("median").tag(sync=True)
    tilt_method = t.Unicode("CoM").tag(sync=True)
    rec_method = t.Unicode("FBP").tag(sync=True)
    rec_iterations = t.Int(20).tag(sync=True)
    # -- status ----------------------------------------------------------------
    status = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    job = t.Unicode("").tag(sync=True)
    progress = t.Float(-1.0).tag(sync=True)  # 0..1 while a job reports, else -1
    code = t.Unicode("").tag(sync=True)
    can_undo = t.Bool(False).tag(sync=True)
    can_redo = t.Bool(False).tag(sync=True)

    @staticmethod
    def method_choices() -> dict:
        return {"registration": REGISTRATION_METHODS, "filter": FILTER_METHODS,
                "tilt": TILT_METHODS, "reconstruction": RECON_METHODS,
                "slices": SLICE_METHODS, "cmap": COLORMAPS,
                "contrast": list(CONTRAST_MODES)}

    def _settable(self):
        return [k for k in self.traits(sync=True) if not k.startswith("_")
                and not k.endswith("_frame") and k not in ("code", "status", "error")]

    def _shape(self) -> tuple[int, int, int]:
        """``(n_tilts, ny, nx)`` of the stack shown (overridden by the workbench)."""
        return tuple(self.stack_shape) if len(self.stack_shape) == 3 else (1, 1, 1)

    # -- validation --------------------------------------------------------------
    @t.validate("tilt_index")
    def _check_tilt_index(self, proposal):
        value, n = int(proposal["value"]), self._shape()[0]
        if not 0 <= value < n:
            raise t.TraitError(f"tilt_index must be in 0..{n - 1} (the stack has {n} "
                               f"projections); got {value}.")
        return value

    @t.validate("slices")
    def _check_slices(self, proposal):
        nx = self._shape()[2]
        values = [int(v) for v in proposal["value"]]
        bad = [v for v in values if not 0 <= v < nx]
        if bad:
            raise t.TraitError(f"slices must be 3 columns in 0..{nx - 1}; got {values}.")
        return values

    @t.validate("tilt_shift", "tilt_rotation")
    def _check_finite(self, proposal):
        value = float(proposal["value"])
        if not np.isfinite(value):
            raise t.TraitError(f"{proposal['trait'].name} must be a finite number; got {value}.")
        return value

    @t.validate("selected_slice")
    def _check_selected(self, proposal):
        value = int(proposal["value"])
        if not 0 <= value <= 2:
            raise t.TraitError(f"selected_slice is 0, 1 or 2; got {value}.")
        return value

    @t.validate("contrast")
    def _check_contrast(self, proposal):
        lo, hi = (float(v) for v in proposal["value"])
        if not 0.0 <= lo < hi <= 100.0:
            raise t.TraitError(f"contrast is [low, high] percentiles with 0 ≤ low < high ≤ 100; "
                               f"got {[lo, hi]}.")
        return [lo, hi]

    @t.validate("display_size")
    def _check_display_size(self, proposal):
        value = int(proposal["value"])
        if not 64 <= value <= 4096:
            raise t.TraitError(f"display_size is 64..4096 pixels; got {value}.")
        return value

    @t.validate("contrast_mode")
    def _check_contrast_mode(self, proposal):
        value = str(proposal["value"])
        if value not in CONTRAST_MODES:
            raise t.TraitError(f"contrast_mode is one of {CONTRAST_MODES}; got {value!r}.")
        return value

    @t.validate("contrast_limits")
    def _check_contrast_limits(self, proposal):
        values = [float(v) for v in proposal["value"]]
        if values and (len(values) != 2 or not np.isfinite(values).all()
                       or not values[0] < values[1]):
            raise t.TraitError("contrast_limits is [] or [low, high] data values with "
                               f"low < high; got {values}.")
        return values

    @t.validate("slice_method")
    def _check_slice_method(self, proposal):
        try:
            return check_method("slice method", proposal["value"], SLICE_METHODS)
        except ValueError as err:
            raise t.TraitError(str(err)) from None

    @t.validate("cmap")
    def _check_cmap(self, proposal):
        value = proposal["value"]
        for name in COLORMAPS:
            if isinstance(value, str) and value.lower() == name.lower():
                return name
        raise t.TraitError(f"cmap must be one of {COLORMAPS}; got {value!r}.")

    @t.validate("slice_iterations")
    def _check_slice_iterations(self, proposal):
        value = int(proposal["value"])
        if not 1 <= value <= MAX_SLICE_ITERATIONS:
            raise t.TraitError(f"slice_iterations must be in 1..{MAX_SLICE_ITERATIONS} "
                               f"(iterations of the trial slices); got {value}.")
        return value

    @t.validate("nudges")
    def _check_nudges(self, proposal):
        n, out = self._shape()[0], {}
        for key, value in dict(proposal["value"]).items():
            index = int(key)
            if not 0 <= index < n or len(value) != 2 or not np.isfinite(value).all():
                raise t.TraitError(f"nudges maps a projection index (0..{n - 1}) to a finite "
                                   f"[dy, dx]; got {key!r}: {value!r}.")
            if any(float(v) != 0.0 for v in value):
                out[str(index)] = [float(value[0]), float(value[1])]
        return out
