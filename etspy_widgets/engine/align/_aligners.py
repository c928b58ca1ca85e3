"""The registration and tilt-axis methods as classes, under ETSpy 1.3.0's names.

Each class *is* the method: ``TomoStack.stack_register(method)`` (through
[`compute_shifts`][etspy_widgets.engine.align.compute_shifts]) and ``TomoStack.tilt_align``
construct one and call ``calculate_shifts()`` / ``measure()``. ETSpy code that builds them
directly gets the same numbers::

    from etspy_widgets.etspy.align import PhaseCorrelationAligner
    shifts = PhaseCorrelationAligner(stack, start=38).calculate_shifts()   # (n, 2) (y, x)
    aligned = PhaseCorrelationAligner(stack).align()                       # a TomoStack

``stack`` may be a ``TomoStack`` or an ``(n, ny, nx)`` array (then ``tilts=`` gives the
tilts in degrees where a method needs them). ``align()`` / ``align_tilt_axis()`` need a
``TomoStack``: they go through its verbs, so the result has the history and metadata of
``stack_register`` / ``tilt_align``. Signs: ``docs/conventions.md``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from ..errors import ArgumentTypeError, InvalidArgumentError, InvalidDataError, InvalidTiltsError
from . import _pm, _register, _tiltaxis

logger = logging.getLogger(__name__)


def _data_of(stack) -> np.ndarray:
    data = getattr(stack, "data", stack)
    if hasattr(data, "compute"):  # a lazy stack: registration needs the pixels
        data = data.compute()
    return np.asarray(data)


def _tilts_of(stack, tilts):
    if tilts is not None:
        return np.asarray(tilts, dtype=np.float64).reshape(-1)
    values = getattr(stack, "tilt_values", None)
    return None if values is None else np.asarray(values, dtype=np.float64).reshape(-1)


class StackAligner(ABC):
    """A registration method: ``calculate_shifts()`` gives the ``(n, 2)`` (y, x) shifts to
    apply; ``align()`` returns the registered ``TomoStack``.

    ``start`` is the reference projection (default the middle one); ``use_cuda`` and
    ``show_progressbar`` are ETSpy's (registration runs on the CPU here); ``progress`` is
    called once per registered pair where a method has pairs. Other keyword arguments are
    the method's (see ``TomoStack.stack_register``).
    """

    method: str = ""

    def __init__(self, stack, start: int | None = None, use_cuda: bool | None = False,
                 show_progressbar: bool = False, *, tilts=None, progress=None, **kwargs):
        self.stack = stack
        self.data = _data_of(stack)
        if self.data.ndim != 3:
            raise InvalidDataError(
                f"A tilt series (n_tilts, ny, nx) is needed; got shape {self.data.shape}.")
        self.tilts = _tilts_of(stack, tilts)
        self.start = _register.check_start(start, self.data.shape[0])
        self.use_cuda = bool(use_cuda)
        self.show_progressbar = show_progressbar
        self.progress = progress
        self.kwargs = kwargs
        self.shifts = np.zeros((self.data.shape[0], 2))

    def _checked(self) -> np.ndarray:
        return _register.check_stack(self.data)

    @abstractmethod
    def calculate_shifts(self) -> np.ndarray:
        """The ``(n, 2)`` shifts (y across the tilt axis, x along it) to apply, pixels."""

    def align(self, shift_method: str = "fourier"):
        """The registered stack: ``stack.stack_register(<this method>, crop=False)``.

        Sets ``self.shifts`` to the shifts found (the difference to ``stack.shifts``).
        """
        if not hasattr(self.stack, "stack_register"):
            raise ArgumentTypeError(
                "align() needs a TomoStack; for an array use calculate_shifts() "
                "and etspy_widgets.engine.transform.shift_stack")
        out = self.stack.stack_register(self.method, start=self.start, crop=False,
                                        shift_type=shift_method, **self.kwargs)
        self.shifts = np.asarray(out.shift_values) - np.asarray(self.stack.shift_values)
        return out


class _PairwiseAligner(StackAligner):
    """Pairwise registration composed outward from ``start``, then the accumulated drift
    removed (``drift="com"``, a polynomial of ``drift_degree``; ``drift=None`` keeps the raw
    pairwise result, as ETSpy)."""

    def _pairwise(self, data, **kwargs) -> np.ndarray:
        raise NotImplementedError

    def calculate_shifts(self) -> np.ndarray:
        kwargs = dict(self.kwargs)
        drift = kwargs.pop("drift", "com")
        degree = kwargs.pop("drift_degree", 6)
        data = self._checked()
        shifts = self._pairwise(data, **kwargs)
        if drift == "com":
            shifts = _register.drift_correct(shifts, data, self.tilts, self.start,
                                             degree=degree)
        elif drift is not None:
            raise InvalidArgumentError(f"drift must be 'com' or None; got {drift!r}.")
        self.shifts = shifts
        return shifts


class PhaseCorrelationAligner(_PairwiseAligner):
    """Sub-pixel phase/cross-correlation of neighbouring projections ("PC").

    Keywords: ``upsample_factor`` (50), ``lowpass`` (0.15 cycles/pixel), ``highpass`` (0),
    ``normalization`` (None; ``"phase"`` for classic phase correlation), ``drift``,
    ``drift_degree``.
    """

    method = "PC"

    def _pairwise(self, data, **kwargs):
        return _register.pc_shifts(data, self.start, progress=self.progress, **kwargs)


class StackRegAligner(_PairwiseAligner):
    """Translation registration of neighbouring projections with pystackreg ("StackReg")."""

    method = "StackReg"

    def _pairwise(self, data, **kwargs):
        if kwargs:
            raise ArgumentTypeError(f"StackReg takes no options {sorted(kwargs)}")
        return _register.stackreg_shifts(data, self.start, progress=self.progress)


class CoMAligner(StackAligner):
    """Centre-of-mass tracking ("COM", after Sanders et al. 2015): x from the mass profiles
    along the axis, y from the centre of mass across it.

    Keywords: ``slices`` (``"all"`` columns by default; ``None`` for the ``nslices`` best),
    ``nslices`` (20), ``fit`` (``"constant"`` or ``"sinusoid"``). ETSpy's ``xrange`` and
    ``p`` (its integer search window) are accepted and not needed.
    """

    method = "COM"

    def calculate_shifts(self) -> np.ndarray:
        kwargs = {k: v for k, v in self.kwargs.items() if k not in ("xrange", "p")}
        self.shifts = _register.com_shifts(self._checked(), self.tilts, self.start, **kwargs)
        return self.shifts


class CommonLineAligner(StackAligner):
    """Centre of mass across the axis, common line along it ("COM-CL", Scott et al. 2012).

    Keywords: ``com_ref_index``, ``cl_ref_index`` (default ``start``), ``fit``. ETSpy's
    ``cl_resolution`` (< 0.5) and ``cl_div_factor`` tuned its iterative line search; the
    common line here is registered by a least-squares sub-pixel search instead.
    """

    method = "COM-CL"

    def __init__(self, stack, start=None, use_cuda=False, show_progressbar=False, **kwargs):
        super().__init__(stack, start, use_cuda, show_progressbar, **kwargs)
        self.com_ref_index = self.kwargs.get("com_ref_index")
        self.cl_ref_index = self.kwargs.get("cl_ref_index")
        self.cl_resolution = self.kwargs.pop("cl_resolution", 0.05)
        self.cl_div_factor = self.kwargs.pop("cl_div_factor", 8)

    @staticmethod
    def _check_resolution(cl_resolution) -> None:
        if not 0 < float(cl_resolution) < 0.5:
            raise InvalidArgumentError(f"Resolution should be less than 0.5 (and above 0); "
                                       f"got cl_resolution={cl_resolution}.")

    def calculate_shifts(self) -> np.ndarray:
        self._check_resolution(self.cl_resolution)
        self.shifts = _register.comcl_shifts(self._checked(), self.tilts, self.start,
                                             **self.kwargs)
        return self.shifts

    def calc_shifts_cl(self, cl_ref_index: int | None, cl_resolution: float = 0.05,
                       cl_div_factor: int = 8) -> np.ndarray:
        """The shifts along the tilt axis (x) alone, from the common line, ``(n,)``."""
        self._check_resolution(cl_resolution)
        data = _register._background_free(self._checked())
        ref = _register.check_start(cl_ref_index if cl_ref_index is not None else self.start,
                                    data.shape[0])
        return _register.mass_profile_xshifts(data, ref, iterations=1)

    @staticmethod
    def pad_line(line: np.ndarray, paddedsize: int) -> np.ndarray:
        """``line`` zero-padded to ``paddedsize`` with its centre kept (ETSpy's helper)."""
        line = np.asarray(line)
        start = (int(paddedsize) - line.size) // 2
        out = np.zeros(int(paddedsize))
        out[start:start + line.size] = line
        return out


class ProjectionMatchingAligner(StackAligner):
    """Projection matching ("PM"): shifts refined until the projections agree with the
    re-projection of their own reconstruction (``_pm.projection_matching``).

    ``initial`` is a method name (default ``"COM-CL"``), an ``(n, 2)`` array or None.
    """

    method = "PM"

    def calculate_shifts(self) -> np.ndarray:
        kwargs = dict(self.kwargs)
        initial = kwargs.pop("initial", "COM-CL")
        data = self._checked()
        if isinstance(initial, str):
            initial = ALIGNERS[initial](data, self.start, tilts=self.tilts).calculate_shifts()
        self.result = _pm.projection_matching(data, self.tilts, start=self.start,
                                              initial=initial, **kwargs)
        self.shifts = self.result["shifts"]
        return self.shifts


ALIGNERS: dict[str, type[StackAligner]] = {
    cls.method: cls for cls in (PhaseCorrelationAligner, StackRegAligner, CoMAligner,
                                CommonLineAligner, ProjectionMatchingAligner)}


# -- tilt axis -----------------------------------------------------------------------------
class TiltAligner(ABC):
    """A tilt-axis method: ``measure()`` gives the correction to apply (``rotation`` in
    degrees, ``yshift`` and ``xshift`` in pixels, and what the method saw);
    ``align_tilt_axis()`` returns ``stack.tilt_align(<this method>, ...)``."""

    method: str = ""

    def __init__(self, stack, *, tilts=None, **kwargs):
        self.stack = stack
        self.tilts = _tilts_of(stack, tilts)
        self.kwargs = kwargs

    @property
    def data(self) -> np.ndarray:
        return _data_of(self.stack)

    @abstractmethod
    def measure(self) -> dict:
        """The correction to apply: ``{"rotation", "yshift", "xshift", ...}``."""

    def align_tilt_axis(self):
        """The stack with its tilt axis made the horizontal line through the centre."""
        if not hasattr(self.stack, "tilt_align"):
            raise ArgumentTypeError(
                "align_tilt_axis() needs a TomoStack; measure() works on arrays")
        return self.stack.tilt_align(self.method, **self.kwargs)


def _check_tilts(tilts) -> np.ndarray:
    if tilts is None or not np.any(np.asarray(tilts) != 0):
        raise InvalidTiltsError(
            "Tilts are not defined in stack.tilts (values were all zeros). Please set tilt "
            "values before alignment, e.g. stack.set_tilts(-70, 2).")
    return np.asarray(tilts, dtype=np.float64)


def _choose_nslices(nslices, nx: int) -> int:
    """ETSpy's rule: default 10 % of nx clamped to [3, 50]; at most 30 % of nx."""
    if nslices is None:
        return max(min(int(0.1 * nx), 50), 3)
    if nslices > nx:
        raise InvalidDataError("nslices is greater than the X-dimension of the data. "
                               f"Give nslices <= {nx} (got {nslices}).")
    if nslices > 0.3 * nx:
        nslices = int(0.3 * nx)
        logger.warning("nslices is greater than 30%% of number of x pixels. Using %d slices "
                       "instead.", nslices)
    return int(nslices)


class TiltCOMAligner(TiltAligner):
    """Centre-of-mass traces ("CoM", ETSpy's method, Wolf et al. 2012): in each chosen column
    the centre of mass across the axis follows ``r + a cos θ + b sin θ``; a line through the
    ``r`` of all columns is the axis (one measurement, ``_tiltaxis.com_axis_once``, on the
    background-subtracted projections).

    Keywords: ``slices`` (columns; default the ``nslices`` best), ``nslices`` (ETSpy's
    rule: 10 % of the width in [3, 50]; at most 30 %).
    """

    method = "CoM"

    def measure(self) -> dict:
        data = self.data
        nx = data.shape[2]
        tilts = _check_tilts(self.tilts)
        if nx < 3:
            raise InvalidDataError(f"Dataset is only {nx} pixels in x dimension. This method "
                                   "cannot be used.")
        kwargs = dict(self.kwargs)
        slices = kwargs.pop("slices", None)
        nslices = _choose_nslices(kwargs.pop("nslices", None), nx)
        if slices is not None:
            slices = np.sort(np.asarray(slices, dtype=np.int64))
        if kwargs:
            raise ArgumentTypeError(
                f"CoM tilt alignment takes slices and nslices; got {sorted(kwargs)}")
        result = _tiltaxis.com_axis_once(data, tilts, slices=slices, nslices=nslices)
        result.setdefault("xshift", 0.0)
        logger.info("Calculated tilt-axis rotation %.2f, shift %.2f", result["rotation"],
                    result["yshift"])
        return result


class TiltMassProfileAligner(TiltCOMAligner):
    """Mass conservation ("MassProfile"): the rotation at which the mass profiles along the
    axis of all projections agree best (``_tiltaxis.refine_rotation``, scanned over
    ``±limit`` degrees, default 10), the offset from the centre-of-mass traces at it.

    Needs every slice's mass to be the same at every tilt: the object inside the field of
    view and an intensity proportional to the projected mass (on the experimental needle,
    whose projections' total varies by 7 % over tilt, it is 0.6° off: docs/alignment.md).
    """

    method = "MassProfile"

    def measure(self) -> dict:
        kwargs = dict(self.kwargs)
        limit = float(kwargs.pop("limit", 10.0))
        data = self.data
        tilts = _check_tilts(self.tilts)
        slices = kwargs.pop("slices", None)
        nslices = _choose_nslices(kwargs.pop("nslices", None), data.shape[2])
        return _tiltaxis.com_axis(data, tilts, slices=slices, nslices=nslices, refine=True,
                                  refine_limit=limit, **kwargs)


class TiltMaxImageAligner(TiltAligner):
    """The maximum image ("MaxImage", ETSpy's method): over tilt every feature moves across
    the axis only, so the maximum image is streaked perpendicular to it; Sobel + Canny
    edges and a Hough transform over ``±limit`` degrees (step ``delta``) give the rotation.

    Keywords: ``limit`` (10), ``delta`` (0.1), ``plot_results`` (draw the image and the
    lines found), ``also_shift`` with ``shift_limit`` (20): also the offset of the axis,
    by the reconstruction-sharpness search ``_tiltaxis.offset_search``.
    """

    method = "MaxImage"

    def measure(self) -> dict:
        kwargs = dict(self.kwargs)
        limit = kwargs.pop("limit", 10)
        delta = kwargs.pop("delta", 0.1)
        result = _tiltaxis.maximage_rotation(self.data, limit=limit, delta=delta,
                                             refine=False)
        if kwargs.pop("plot_results", False):
            result["figure"] = plot_maximage(result)
        result.setdefault("yshift", 0.0)
        result.setdefault("xshift", 0.0)
        return result


def plot_maximage(result: dict):
    """The maximum image with the Hough lines found (``plot_results=True``)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1)
    ax.imshow(result["maximage"], cmap="gray")
    for angle, dist in zip(result.get("hough_angles", ()), result.get("hough_dists", ()),
                           strict=True):
        x0, y0 = dist * np.array([np.cos(angle), np.sin(angle)])
        ax.axline((x0, y0), slope=np.tan(angle + np.pi / 2))
    ax.set_title(f"maximum image; rotation {result['rotation']:.2f}°")
    fig.tight_layout()
    return fig


TILT_ALIGNERS: dict[str, type[TiltAligner]] = {
    cls.method: cls for cls in (TiltCOMAligner, TiltMaxImageAligner, TiltMassProfileAligner)}

__all__ = ["ALIGNERS", "TILT_ALIGNERS", "CoMAligner", "CommonLineAligner",
           "PhaseCorrelationAligner", "ProjectionMatchingAligner", "StackAligner",
           "StackRegAligner", "TiltAligner", "TiltCOMAligner", "TiltMassProfileAligner",
           "TiltMaxImageAligner"]
