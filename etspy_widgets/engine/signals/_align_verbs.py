"""The alignment verbs of a TomoStack (ETSpy's names and arguments).

``AlignMixin`` passes arrays down to ``engine.align`` (registration, tilt axis, slices),
``engine.filters`` and ``engine.transform``, and puts shifts, tilt-axis values, crop bounds
and one history line back. Signs and meanings: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np

from ..align import (
    REGISTER_METHODS,
    TILT_ALIGNERS,
    TILT_METHODS,
    compute_shifts,
    default_slices,
    offset_search,
    test_align_slices,
)
from ..errors import InvalidArgumentError, InvalidDataError, check_finite, check_method
from ..filters import filter_stack
from ..transform import align_stack, compose_rigid, crop_bounds, shift_stack
from ..validate import as_tilt_array, check_indices, check_signal, show_value
from ._common import _INTERP, CommonStackMixin
from ._guards import (
    check_manual_align_call,
    check_rebin_call,
    check_register_call,
    check_slices_memory,
    check_test_align_call,
    check_tilt_align_call,
)
from ._history import history_of, records, set_history
from ._rigid import get_rigid, set_crop, set_rigid


class AlignMixin(CommonStackMixin):
    """Alignment verbs of a TomoStack. Every verb returns a new stack; the input is unchanged.

    ``trans_stack`` and the other verbs ETSpy's ``CommonStack`` gives both stacks come from
    [`CommonStackMixin`][etspy_widgets.engine.signals.CommonStackMixin].
    """

    # -- pre-processing ----------------------------------------------------------
    @records()
    def filter(self, method: str = "median", size: int = 5, taper: float = 0.1):
        """Filter every projection: ``"median"``, ``"sobel"``, ``"bpf"`` or ``"both"``.

        ``taper`` pads each side by that fraction of the image size (zeros), as ETSpy does;
        the axes' offsets follow so positions stay calibrated. Returns a filtered copy.
        """
        data = filter_stack(np.asarray(self.data), method, size, taper)
        out = self._with_data(data)
        if taper:
            py, px = ((data.shape[1] - self.data.shape[1]) // 2,
                      (data.shape[2] - self.data.shape[2]) // 2)
            ax_x, ax_y = out.axes_manager.signal_axes
            ax_x.offset = self.axes_manager.signal_axes[0].offset - px * ax_x.scale
            ax_y.offset = self.axes_manager.signal_axes[1].offset - py * ax_y.scale
        return out

    @records()
    def rebin(self, new_shape=None, scale=None, crop=True, dtype=None, out=None):
        """HyperSpy's ``rebin`` (sums blocks) that keeps tilts and converts shifts.

        The projection axis cannot be rebinned (a tilt series is not a sum of projections);
        the shifts, tilt-axis shift and crop bounds are divided by the binning factor so they
        stay in pixels of the new stack (ETSpy left them in the old pixel size). The
        pixel size (axis scale) grows by the factor, as HyperSpy does.
        """
        if out is not None:
            raise InvalidArgumentError(f"rebin(out={show_value(out)}) is not supported for a "
                                       "TomoStack: assign the result, stack = stack.rebin(...).")
        check_rebin_call(self, new_shape, scale, dtype)
        old = np.asarray(self.data.shape)
        result = super().rebin(new_shape=new_shape, scale=scale, crop=crop, dtype=dtype)
        new = np.asarray(result.data.shape)
        if new[0] != old[0]:
            raise InvalidArgumentError(
                "rebin would merge projections; bin only the image axes, e.g. "
                "stack.rebin(scale=(1, 2, 2))."
            )
        fy, fx = old[1] / new[1], old[2] / new[2]
        tilts, shifts = self.tilt_values, self.shift_values
        result.tilts = tilts
        result.shifts = shifts / np.array([fy, fx])
        angle, y, x = get_rigid(self.metadata)
        set_rigid(result.metadata, (angle, y / fy, x / fx))
        bounds = self.metadata.get_item("Tomography.crop_bounds")
        if bounds is not None:
            b = np.asarray(bounds, float) / np.array([fy, fy, fx, fx])
            result.metadata.set_item("Tomography.crop_bounds", b.tolist())
        return result

    @records()
    def shift_crop(self):
        """Crop to the region that holds real data in every projection after the shifts.

        Works whatever the signs of the shifts (ETSpy's returned an empty stack when all
        shifts had one sign). Sets ``metadata.Tomography.cropped`` and ``crop_bounds``.
        """
        rows, cols = crop_bounds(self.shift_values, self.data.shape)
        out = self.isig[cols.start:cols.stop, rows.start:rows.stop]
        set_crop(out.metadata, rows, cols)
        return out

    @records()
    def apply_shifts(self, shifts, shift_type: str = "fourier"):
        """Apply ``(n, 2)`` (y, x) shifts to a copy; they are added to ``shifts``."""
        shifts = as_tilt_array(getattr(shifts, "data", shifts), "shifts")
        n = self.data.shape[0]
        if shifts.shape not in ((n, 2), (2 * n,)):
            raise InvalidDataError(  # ETSpy's sentence first
                f"Number of shifts ({shifts.shape[0] if shifts.ndim else shifts.size}) is not "
                f"consistent with number of images in the stack ({n}): got "
                f"{shifts.shape[0] if shifts.ndim else shifts.size} shifts of shape "
                f"{shifts.shape}; give an ({n}, 2) array of (y, x) shifts in pixels.")
        shifts = shifts.reshape(-1, 2)
        check_finite(shifts, "shifts")
        data = shift_stack(self._float_data(), shifts, shift_type)
        out = self._with_data(data)
        out.shifts = self.shift_values + shifts
        return out

    # -- registration ----------------------------------------------------------
    @records()
    def stack_register(  # noqa: PLR0917 - ETSpy's positional signature
            self, method: str = "PC", start=None, show_progressbar: bool = False,
                       cuda=None, crop: bool = False, shift_type: str = "fourier", **kwargs):
        """Register the projections; return an aligned copy (the input is unchanged).

        Parameters
        ----------
        method : {"PC", "StackReg", "COM", "COM-CL", "PM"}
            ``"PC"``: pairwise sub-pixel (phase) correlation (kwargs ``upsample_factor``,
            ``lowpass``, ``highpass``, ``normalization``); ``"StackReg"``: pairwise
            pystackreg translation. Both compose pairwise shifts outward from ``start``
            and then remove their accumulated slow drift with the mass invariants
            (``drift="com"``: the part of the difference to ``com_shifts`` that is a
            polynomial of degree ``drift_degree`` (6) in the projection index;
            ``drift=None`` for the raw pairwise result, as ETSpy).
            ``"COM"``: centre-of-mass tracking with the conservation of mass along the
            axis (kwargs ``slices``, ``nslices``, ``fit``); ``"COM-CL"``: centre of mass
            across, common line along the axis (kwargs ``com_ref_index``,
            ``cl_ref_index``, ``fit``). ``"PM"``: projection matching: alternate
            reconstruction and re-projection, coarse to fine (kwargs ``initial`` — a
            method name or an ``(n, 2)`` array to refine —, ``levels``, ``iterations``,
            ``sirt_iterations``, ``thickness``, ``upsample``, ``tol``, ``callback``,
            ``warm``, ``max_size``, ``band``, ``lowpass``; see ``projection_matching``).
        start : int, optional
            Reference projection (zero shift); default the middle one.
        show_progressbar : bool
            Show a tqdm bar for the pairwise methods.
        cuda : bool, optional
            Accepted for ETSpy compatibility; registration runs on the CPU.
        crop : bool
            Crop to the area common to every shifted projection ([`shift_crop`][]).
        shift_type : {"fourier", "interp"}
            How the shifts are applied.

        Returns
        -------
        TomoStack
            Aligned copy; ``shifts`` = previous shifts + the new ones.
        """
        method = check_method("registration method", method, REGISTER_METHODS)
        check_register_call(self, method, kwargs)
        progress = None
        bar = None
        if show_progressbar and method in ("PC", "StackReg"):
            from tqdm.auto import tqdm

            bar = tqdm(total=self.data.shape[0] - 1, desc=f"stack_register {method}")
            progress = bar.update
        try:
            shifts = compute_shifts(np.asarray(self.data), self.tilt_values, method, start,
                                    progress=progress, **kwargs)
        finally:
            if bar is not None:
                bar.close()
        out = self.apply_shifts(shifts, shift_type)
        if crop:
            out = out.shift_crop()
        return out

    # -- tilt axis ---------------------------------------------------------------
    @records()
    def tilt_align(self, method: str = "CoM", **kwargs):
        """Find the tilt-axis rotation and offset and return a corrected copy.

        Each method is its class in ``engine.align`` (``TILT_ALIGNERS``):
        ``"CoM"`` (``TiltCOMAligner``; kwargs ``slices``, ``nslices``): centre-of-mass traces
        at several columns fitted to the ideal cylinder path (Wolf et al. 2012) give the
        axis line. ``"MaxImage"`` (``TiltMaxImageAligner``; kwargs ``limit``, ``delta``,
        ``plot_results``, ``also_shift``, ``shift_limit``): edges of the maximum image +
        Hough transform give the rotation (ETSpy's method); with ``also_shift`` the offset
        is found by a fast reconstruction-sharpness search on a few slices
        (``offset_search``). ``"MassProfile"`` (``TiltMassProfileAligner``; kwargs
        ``limit``, ``slices``, ``nslices``): the rotation at which the mass profiles along
        the axis agree (mass conservation), the offset from the CoM traces.

        The correction (rotation about the centre in degrees, then a y shift in pixels) is
        applied to a copy and composed into ``metadata.Tomography`` (tiltaxis, yshift).
        """
        method = check_method("alignment method", method, TILT_METHODS)
        check_tilt_align_call(self, method, kwargs)
        res = TILT_ALIGNERS[method](self, **kwargs).measure()  # the named method itself
        angle, yshift, xshift = res["rotation"], res.get("yshift", 0.0), res.get("xshift", 0.0)
        if method == "MaxImage" and kwargs.get("also_shift"):
            yshift = offset_search(self._float_data(), self.tilt_values,
                                   shift_limit=kwargs.get("shift_limit", 20),
                                   rotation=angle)["yshift"]
        out = self.trans_stack(xshift=xshift, yshift=yshift, angle=angle)
        out.metadata.set_item("Tomography.tilt_align_result",
                              {"method": method, "rotation": angle, "yshift": yshift})
        return out

    # -- replay ------------------------------------------------------------------
    def align_other(self, other, shift_type: str = "fourier", cuda=None, *,
                    interpolation=None):
        """Apply this stack's alignment to ``other`` (same tilts), exactly as it was applied here.

        Replays the canonical pipeline of ``docs/conventions.md``: this stack's ``shifts``,
        its crop (``crop_bounds``) if it was cropped, then its tilt-axis rotation and shift.
        ``other``'s own shifts and tilt-axis values are composed with them once (ETSpy
        copied the values and then added them again).

        ``interpolation`` (``"fourier"``, ``"cubic"``, ``"linear"`` or ``"nearest"``; not
        an ETSpy keyword): instead of replaying the steps with ETSpy's interpolation (a
        Fourier shift, then ``trans_stack``'s linear rotation), resample ``other`` with
        ``engine.transform.align_stack``: once with that spline, or with band-limited
        (Fourier) shifts and rotation throughout. From a raw ``other`` this is the
        best-resampled copy of this alignment (``"fourier"`` was the most accurate,
        ``docs/quality.md``, the end-to-end figure); the metadata are the replay's.
        """
        check_signal("other", other)
        n = self.data.shape[0]
        if other.data.shape[0] != n:
            raise InvalidDataError(
                f"align_other needs a stack with the same {n} projections; got "
                f"{other.data.shape[0]}."
            )
        oshape = np.asarray(other.data).shape[1:]
        bounds = self.metadata.get_item("Tomography.crop_bounds")
        cropped = bool(self.metadata.get_item("Tomography.cropped", False))
        if cropped and bounds is not None:
            ok = oshape[0] >= bounds[1] and oshape[1] >= bounds[3]
        else:
            ok = oshape == np.asarray(self.data).shape[1:]
        if not ok:
            raise InvalidDataError(
                f"align_other needs images of the size this stack had before its alignment "
                f"({np.asarray(self.data).shape[1:]} unless cropped); got {oshape}."
            )
        mine, theirs = self.tilt_values, other.tilt_values
        if np.any(theirs != 0) and not np.allclose(mine, theirs, atol=1e-3):
            raise InvalidDataError("align_other needs a stack with the same tilts.")
        shifts = self.shift_values
        rigid = get_rigid(self.metadata)
        if not np.any(shifts) and not any(rigid):
            raise InvalidArgumentError("No transformations have been applied to this stack.")
        if interpolation is not None:
            out = _align_once(self, other, shifts, rigid, interpolation)
            kw = f", interpolation={str(interpolation)!r}"
            set_history(out, [*history_of(other),
                              f"stack = reference.align_other(stack{kw})  # reference: the "
                              "stack whose alignment was replayed"])
            return out
        out = other.apply_shifts(shifts, shift_type) if np.any(shifts) else other.deepcopy()
        if self.metadata.get_item("Tomography.cropped", False):
            b = self.metadata.get_item("Tomography.crop_bounds")
            rows, cols = (slice(int(b[0]), int(b[1])), slice(int(b[2]), int(b[3]))) \
                if b is not None else crop_bounds(shifts, out.data.shape)
            out = out.isig[cols.start:cols.stop, rows.start:rows.stop]
            set_crop(out.metadata, rows, cols)
        if any(rigid):
            out = out.trans_stack(xshift=rigid[2], yshift=rigid[1], angle=rigid[0])
        set_history(out, [*history_of(other),
                          "stack = reference.align_other(stack)  # reference: the stack "
                          "whose alignment was replayed"])
        return out

    # -- trial reconstructions -------------------------------------------------
    def test_align(  # noqa: PLR0917 - ETSpy's positional signature
            self, tilt_shift: float = 0.0, tilt_rotation: float = 0.0, slices=None,
                   thickness=None, method: str = "FBP", iterations: int = 50,
                   constrain: bool = True, cuda=None, thresh: float = 0, vmin_std: float = 0.1,
                   vmax_std: float = 10):
        """Reconstruct three slices after a trial tilt-axis shift/rotation; return the figure.

        Uses ``test_align_slices`` (only the pixels those slices need are sampled).
        ``tilt_shift`` has the sign of ``shifts`` (content moves by ``+tilt_shift`` rows).
        """
        import matplotlib.pyplot as plt

        check_test_align_call(self, locals())
        if slices is None:
            slices = default_slices(self.data.shape[2])
        slices = np.asarray(check_indices("slices", slices, self.data.shape[2],
                                          "columns (x) in each projection"), dtype=np.int64)
        check_slices_memory(self, slices, thickness)
        rec = test_align_slices(np.asarray(self.data), self.tilt_values, tilt_shift,
                                tilt_rotation, slices, thickness, method, iterations,
                                constrain, thresh)
        import matplotlib as mpl

        backend = mpl.get_backend().lower()  # ETSpy's sizes for the notebook backends
        height = 3 if "ipympl" in backend else 4
        width = {"ipympl": 7 / 3, "nbagg": 8 / 3}.get(
            next((b for b in ("ipympl", "nbagg") if b in backend), ""), 4)
        fig, axes = plt.subplots(1, len(slices), figsize=(width * len(slices), height),
                                 squeeze=False)
        for ax, img, sl in zip(axes[0], rec, slices, strict=True):
            mean, std = float(img.mean()), float(img.std())
            ax.imshow(img, cmap="afmhot", vmin=max(mean - vmin_std * std, 0),
                      vmax=mean + vmax_std * std)
            ax.set_title(f"Slice {sl}")
            ax.set_axis_off()
        fig.tight_layout()
        return fig

    @records()
    def manual_align(self, nslice: int, xshift: int = 0, yshift: int = 0,
                     display: bool = False):
        """Shift projections ``nslice:`` relative to ``:nslice`` by whole pixels; crop the rest.

        ETSpy's verb, with our sign (``shifts``'): the second part's content moves by
        ``(+yshift, +xshift)`` relative to the first. The image shrinks by ``|yshift|`` rows and
        ``|xshift|`` columns; both parts' shifts are recorded in ``shifts``.
        """
        nslice, xshift, yshift = check_manual_align_call(self, nslice, xshift, yshift)
        data = np.asarray(self.data)
        _, ny, nx = data.shape

        def window(s, size):  # slice of the first part and of the second part
            if s >= 0:
                return slice(s, size), slice(0, size - s)
            return slice(0, size + s), slice(-s, size)

        r1, r2 = window(yshift, ny)
        c1, c2 = window(xshift, nx)
        new = np.concatenate([data[:nslice, r1, c1], data[nslice:, r2, c2]])
        out = self._with_data(new)
        sh = self.shift_values
        sh[:nslice] -= [r1.start, c1.start]
        sh[nslice:] -= [r2.start, c2.start]
        out.shifts = sh
        if display:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(1, 2)
            ax[0].imshow(data[nslice - 1] - data[nslice])
            ax[1].imshow(new[nslice - 1] - new[nslice])
        return out



def _align_once(reference, other, shifts, rigid, interpolation):
    """``reference``'s alignment applied to ``other`` in one resampling (``align_other``
    with ``interpolation``): the same data as the replay up to interpolation, the same
    metadata."""
    name = check_method("interpolation method", interpolation, (*_INTERP, "fourier"))
    oshape = np.asarray(other.data).shape
    crop = None
    if reference.metadata.get_item("Tomography.cropped", False):
        b = reference.metadata.get_item("Tomography.crop_bounds")
        crop = ((slice(int(b[0]), int(b[1])), slice(int(b[2]), int(b[3]))) if b is not None
                else crop_bounds(shifts, oshape))
    data = align_stack(other._float_data(), shifts, rigid[0], rigid[1], rigid[2],
                       crop=crop, order=_INTERP.get(name, name))
    if crop is not None:
        rows, cols = crop
        out = other.isig[cols.start:cols.stop, rows.start:rows.stop]
        set_crop(out.metadata, rows, cols)
        out.data = data
    else:
        out = other._with_data(data)
    out.shifts = other.shift_values + shifts
    if any(rigid):
        set_rigid(out.metadata, compose_rigid(get_rigid(other.metadata), rigid))
    return out


__all__ = ["AlignMixin"]
