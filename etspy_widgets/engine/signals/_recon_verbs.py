"""The reconstruction verbs of the signals (ETSpy's names and arguments).

``ReconMixin`` → ``TomoStack.reconstruct``, ``recon_error``, ``iter_recon_error``;
``RecStackMixin`` → ``RecStack.forward_project``. The numerics are in the array
modules of ``engine.recon``; these methods pass arrays down and put axes, tilts, metadata and
a history line back. ETSpy's ``cuda=`` is accepted here, at the ETSpy-signature boundary,
and translated to ``backend`` (below this layer only ``backend`` exists).
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InvalidDataError, UnknownMethodError, check_finite, check_method
from ..project import BACKENDS, KERNELS
from ..recon import DEFAULT_CHUNK, cuda_available, get_projector, reconstruct_stack
from ..recon.lazy import lazy_volume
from ..recon.slices import check_tilts, iter_slice_errors
from ..validate import (
    as_bool,
    as_float,
    as_int,
    as_tilt_array,
    check_finite_result,
    check_index,
    check_tilt_plausibility,
)
from ._guards import check_reconstruct_call
from ._history import records

ERROR_ALGORITHMS = ("SIRT", "SART", "CGLS", "TV")

logger = logging.getLogger(__name__)


def backend_for(cuda, backend: str = "auto") -> str:
    """Translate ETSpy's ``cuda`` flag into a projector ``backend`` (the only place it is).

    ``cuda=True`` asks for ASTRA's CUDA projector; ``cuda=False`` keeps the computation on
    the CPU; ``None`` leaves ``backend`` as given.
    """
    if cuda is True:
        return "cuda"
    if cuda is False and str(backend).lower() == "auto" and cuda_available():
        return "cpu"
    return backend


def _axis_dict(axis, **changes) -> dict:
    d = axis.get_axis_dictionary()
    d.pop("_type", None)
    d.update(changes)
    return d


_DART_ONLY = ("p", "dart_iterations", "gray_levels")


def _reconstruct_keywords(written: dict, arguments: dict) -> dict:
    """What a reconstruction's line says: ``iterations`` for an iterative method (always),
    never for BP/FBP; the FBP filter only for FBP; DART's options only for DART."""
    method = str(arguments.get("method", "FBP")).upper()
    out = {}
    for key, value in arguments.items():
        if key == "iterations":
            if method not in ("BP", "FBP"):
                out[key] = value
        elif (key == "sino_filter" and method != "FBP") or (key in _DART_ONLY and method != "DART"):
            continue
        elif key in written:
            out[key] = written[key]
    return out


class ReconMixin:
    """Reconstruction verbs of a TomoStack."""

    def _checked_tilts(self) -> np.ndarray:
        n = self.data.shape[0] if self.data.ndim == 3 else 1
        return check_tilts(self.tilt_values, n)

    @records(shape=_reconstruct_keywords)
    def reconstruct(  # noqa: PLR0917 - ETSpy's positional signature
            self, method="FBP", iterations=5, constrain=False, thresh=0, cuda=None,
                    thickness=None, show_progressbar=True, p=0.99, ncores=None,
                    sino_filter="shepp-logan", dart_iterations=5, gray_levels=None, *,
                    backend="auto", kernel="strip", tv_weight=0.03, chunk_size=None,
                    client="auto", cancel=None, callbacks=(), seed=0, builder="native"):
        """Reconstruct every column of the tilt series (ETSpy's ``reconstruct``).

        Parameters
        ----------
        method : {"FBP", "BP", "SIRT", "SART", "DART", "CGLS", "TV"}
            ``SART`` iterations are full sweeps over the projections (ETSpy/ASTRA count
            single projections: ETSpy's ``SART`` with ``iterations=77·n`` on 77 projections
            is ours with ``iterations=n``). ``TV`` is Chambolle–Pock with the relative
            weight ``tv_weight`` (see ``docs/reconstruction.md``).
        iterations : int
            Iterations (SIRT, CGLS, TV), sweeps (SART), or SART sweeps per DART round.
        constrain, thresh : bool, float
            Clamp values below ``thresh`` at every iteration.
        cuda : bool, optional
            ``None``: ASTRA's CUDA when a GPU is there, else the batched CPU projector.
        thickness : int, optional
            Slice height (default: the stack's ``ny``).
        show_progressbar : bool
            tqdm bar (a widget in notebooks).
        p : float
            DART: probability that a non-boundary pixel stays fixed in a round.
        ncores : int, optional
            Chunks reconstructed at once (threads); default all available cores.
        sino_filter : str
            FBP filter: ASTRA's names ("ram-lak", "shepp-logan", "cosine", "hamming",
            "hann", "tukey", "lanczos", "triangular", "gaussian", "barlett-hann",
            "blackman", "nuttall", "blackman-harris", "blackman-nuttall", "flat-top",
            "kaiser", "parzen", "none").
        dart_iterations : int
            DART rounds.
        gray_levels : list of float
            DART: the gray value of each material (required for DART).
        backend, kernel, tv_weight, chunk_size, client, cancel, callbacks, seed, builder
            Beyond ETSpy: see ``reconstruct_stack``.

        Returns
        -------
        RecStack
            ``(nx, thickness, ny)`` with the stack's x axis as navigation axis, and
            ``z``, ``y`` as signal axes (ETSpy's layout).
        """
        if self.data.ndim != 3:
            raise InvalidDataError(
                f"reconstruct needs a tilt series (n_tilts, ny, nx); this stack has shape "
                f"{self.data.shape}."
            )
        tilts = self._checked_tilts()
        check_tilt_plausibility(tilts)
        check_reconstruct_call(self, thresh, ncores, thickness, chunk_size)
        as_bool("constrain", constrain)
        as_int("seed", seed)
        for name, value in (("kernel", kernel), ("builder", builder), ("backend", backend)):
            if not isinstance(value, str):
                raise UnknownMethodError(f"projection {name}", value, {
                    "kernel": KERNELS, "builder": ("native", "astra"),
                    "backend": BACKENDS}[name])
        backend = backend_for(cuda, backend)
        if dart_iterations is None:  # ETSpy's default rounds, and its message
            dart_iterations = 5
            if isinstance(method, str) and method.upper() == "DART":
                logger.warning("Using default number of DART iterations (5) "
                               "(dart_iterations=None)")
        # every keyword that shapes the result (the history line is written by @records)
        options = {"constrain": constrain, "thresh": thresh, "p": p,
                   "sino_filter": sino_filter, "dart_iterations": dart_iterations,
                   "backend": backend, "kernel": kernel, "tv_weight": tv_weight,
                   "seed": seed, "builder": builder}
        uses_levels = not isinstance(method, str) or method.lower() == "dart"
        options["gray_levels"] = gray_levels if uses_levels else None
        if getattr(self, "_lazy", False):
            volume = lazy_volume(self.data, tilts, method, iterations, thickness=thickness,
                                 chunk_size=DEFAULT_CHUNK if chunk_size is None else chunk_size,
                                 **options)
        else:
            volume = reconstruct_stack(
                self.data, tilts, method, iterations, thickness=thickness, ncores=ncores,
                chunk_size=chunk_size, client=client, show_progressbar=show_progressbar,
                cancel=cancel, callbacks=callbacks, **options)
        check_finite_result(volume, f"{method} reconstruction")
        out = self._wrap_volume(volume)
        self._describe_source(out, tilts)
        return out

    def _wrap_volume(self, volume):
        """A ``(nx, thickness, ny)`` array (NumPy or Dask) as a RecStack (LazyRecStack)
        with this series' calibration: one wrapper for the eager and the lazy path."""
        am = self.axes_manager
        xax, yax = am.signal_axes[0], am.signal_axes[1]
        axes = [_axis_dict(xax, navigate=True),
                _axis_dict(yax, name="z", size=volume.shape[1], navigate=False, offset=0.0),
                _axis_dict(yax, navigate=False)]
        cls = self._lazy_volume_class if getattr(self, "_lazy", False) else self._volume_class
        out = cls(volume, axes=axes)
        title = self.metadata.get_item("General.title") or ""
        out.metadata.General.title = f"Reconstruction of {title}" if title else "Reconstruction"
        return out

    def _describe_source(self, rec, tilts) -> None:
        """Record in the volume's ``metadata.Tomography`` the tilts and the alignment
        (tilt-axis rotation, shifts, cropping) of the series it was reconstructed from."""
        rec.metadata.set_item("Tomography.source_tilts", np.asarray(tilts).tolist())
        for key in ("tiltaxis", "xshift", "yshift", "cropped"):
            value = self.metadata.get_item(f"Tomography.{key}")
            if value is not None:
                rec.metadata.set_item(f"Tomography.{key}", value)

    def iter_recon_error(  # noqa: PLR0917 - ETSpy's positional signature
            self, nslice=None, algorithm="SIRT", iterations=50, constrain=True,
                         cuda=None, thresh=0, *, backend="auto", kernel="strip",
                         tv_weight=0.03, cancel=None):
        """Yield ``(iteration, image, residual)`` for one slice, as each iteration ends.

        ``image`` is the ``(ny, ny)`` slice after that iteration (1-based count), and
        ``residual`` the L2 norm ``‖W x − y‖`` of its sinogram mismatch. For live plots.
        """
        algorithm = check_method("algorithm", algorithm, ERROR_ALGORITHMS)
        iterations = as_int("iterations", iterations, minimum=0)
        thresh = as_float("thresh", thresh)
        constrain = as_bool("constrain", constrain)
        if self.data.ndim != 3:
            raise InvalidDataError("recon_error needs a tilt series (n_tilts, ny, nx).")
        nx = self.data.shape[2]
        tilts = self._checked_tilts()
        nslice = nx // 2 if nslice is None else check_index("nslice", nslice, nx,
                                                             "columns (x) of the stack")
        sino = np.asarray(self.data[:, :, nslice], dtype=np.float32)
        check_finite(sino, "sinogram")
        yield from iter_slice_errors(sino, tilts, algorithm, iterations, constrain=constrain,
                                     thresh=thresh, backend=backend_for(cuda, backend),
                                     kernel=kernel, tv_weight=tv_weight, cancel=cancel)

    def recon_error(  # noqa: PLR0917 - ETSpy's positional signature
            self, nslice=None, algorithm="SIRT", iterations=50, constrain=True,
                    cuda=None, thresh=0, **kwargs):
        """Reconstruct one slice, keeping the image and the residual of every iteration.

        Parameters are ETSpy's (``nslice`` default: the middle column; ``algorithm``
        "SIRT" or "SART" — and here also "CGLS" and "TV"; SART iterations are sweeps).

        Returns
        -------
        images : hyperspy Signal2D
            ``(iterations, ny, ny)``: the slice after each iteration.
        error : hyperspy Signal1D
            The L2 norm of the sinogram residual after each iteration.
        """
        from hyperspy._signals.signal1d import Signal1D
        from hyperspy._signals.signal2d import Signal2D

        ny = self.data.shape[1]
        images, residuals = [], []
        for _, image, residual in self.iter_recon_error(nslice, algorithm, iterations,
                                                        constrain, cuda, thresh, **kwargs):
            images.append(image)
            residuals.append(residual)
        stack = np.array(images, dtype=np.float32).reshape(len(images), ny, ny)
        rec = Signal2D(stack)
        name = str(algorithm).upper()
        yax = self.axes_manager.signal_axes[1]
        rec.axes_manager[0].name = f"{name} iteration"
        rec.axes_manager[0].scale = 1
        for idx, axname in ((1, yax.name), (2, "z")):
            ax = rec.axes_manager[idx]
            ax.name, ax.scale, ax.units = axname, yax.scale, yax.units
        rec.metadata.General.title = f"{name} reconstruction of one slice per iteration"
        error = Signal1D(np.asarray(residuals, dtype=np.float64))
        error.axes_manager[0].name = f"{name} Iteration"
        error.metadata.General.title = "Residual (L2 norm of W x − y)"
        error.metadata.set_item("Signal.quantity", "L2 norm of the sinogram residual")
        return rec, error


class RecStackMixin:
    """Verbs of a reconstructed volume."""

    @records()
    def forward_project(self, tilts=None, cuda=None, *, backend="auto", kernel="linear",
                        chunk_size=64):
        """Project the volume at ``tilts`` (degrees) → a TomoStack ``(n_tilts, ny, nx)``.

        ``tilts=None`` uses the tilts of the series this volume was reconstructed from.
        ``kernel`` is ASTRA's "linear" by default, as in ETSpy; the volume geometry is
        ``(thickness, ny)`` (ETSpy assumes thickness = ny).
        """
        if tilts is None:
            tilts = self.metadata.get_item("Tomography.source_tilts")
            if tilts is None:
                raise InvalidDataError(
                    "No tilts given and none recorded with this volume: pass the angles, "
                    "e.g. rec.forward_project(np.arange(-70, 71, 2))."
                )
        if hasattr(tilts, "data") and not isinstance(tilts, np.ndarray):
            tilts = tilts.data
        tilts = as_tilt_array(tilts)
        tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
        if tilts.size == 0 or not np.isfinite(tilts).all():
            raise InvalidDataError("tilts must be a non-empty array of finite angles (degrees).")
        vol = np.asarray(self.data, dtype=np.float32)
        single = vol.ndim == 2
        if single:
            vol = vol[None]
        if vol.ndim != 3:
            raise InvalidDataError(f"A volume (nx, thickness, ny) is needed; got {vol.shape}.")
        check_finite(vol, "volume")
        nx, nz, ny = vol.shape
        chunk_size = as_int("chunk_size", chunk_size, minimum=1)
        proj = get_projector(tilts, ny, nz, backend_for(cuda, backend), kernel=kernel)
        out = np.empty((tilts.size, ny, nx), np.float32)
        for x0 in range(0, nx, chunk_size):
            x1 = min(nx, x0 + chunk_size)
            cols = np.ascontiguousarray(vol[x0:x1].reshape(x1 - x0, -1).T)
            out[:, :, x0:x1] = proj.fp_cols(cols).reshape(tilts.size, ny, x1 - x0)
        stack = self._series_class(out, tilts=tilts)
        am = stack.axes_manager
        src = self.axes_manager
        if src.navigation_dimension == 1 and not single:
            am.signal_axes[0].update_from(src.navigation_axes[0], ("scale", "offset", "units"))
        if src.signal_dimension == 2:
            am.signal_axes[1].update_from(src.signal_axes[0], ("scale", "offset", "units"))
        stack.metadata.General.title = "Forward projection"
        return stack


__all__ = ["ERROR_ALGORITHMS", "RecStackMixin", "ReconMixin", "backend_for"]
