"""Incremental alignment and reconstruction of a growing tilt series.

Every projection is registered to its neighbour in tilt with the engine's own pairwise
phase correlation (``etspy_widgets.engine.align.compute_shifts`` on the pair), and the pair
shifts are composed outward from the projection nearest 0°, exactly as
``stack.stack_register("PC", start=i0, drift=None, shift_type="interp")`` composes them on the
whole series (on images binned by ``register_binning``, 2 for 1024² images, as
``stack.rebin(scale=(1, b, b)).stack_register(...)``): the live shifts *are* the offline
ones (same arrays), whatever the order in which the files came. A pair is computed once
and kept while both its projections are unchanged; a new projection between two others, a
rewritten file or a new start invalidates only the pairs it touches.

The live slices and the volume's orthoslices are filtered back projections of the tilts so
far, kept as running sums: FBP is linear in the projections, so adding one projection costs
one single-angle back projection (``reconstruct_slices(..., "FBP", kernel="pixel")``), and a
projection whose shift or data changed is taken out (its old contribution subtracted) and
put back. Each projection is shifted as ``apply_shifts(shifts, "interp")`` shifts it, but
only at the pixels the slices need; the binned volume is a preview (binned, then shifted
bilinearly). ``finish`` recomputes the slices in one call from the whole series aligned by
``apply_shifts(shifts, "interp")``, which is the offline result, same arrays (see tests).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..engine.align import compute_shifts, default_slices
from ..engine.errors import InvalidDataError, InvalidIndexError, UnknownMethodError
from ..engine.recon import SIRT, get_projector, reconstruct_slices
from ..engine.signals import TomoStack
from ._quality import LiveQuality

METHODS = ("FBP", "SIRT")

_NPAD = 12  # what scipy.ndimage pads a "nearest" image with before its spline filter


@dataclass
class LiveFrame:
    """What the live panes show after one update."""

    n: int                      # projections in
    tilts: np.ndarray           # their tilts, ascending
    shifts: np.ndarray          # (n, 2) (y, x) shifts applied (the registration)
    start: int                  # index of the reference projection (nearest 0°)
    slices: np.ndarray          # columns reconstructed
    slice_images: np.ndarray    # (3, thickness, ny) float32
    orthoslices: tuple          # three central planes of the binned volume
    binning: int                # binning of the volume
    seconds: float              # time the update took
    registered: int             # pairs registered in this update
    reprojected: int            # projections whose contribution was (re)computed
    timings: dict = field(default_factory=dict)
    keys: tuple = ()            # the projection versions it holds, in tilt order
    quality: object = None      # QualityReport of the series so far (the live strip)
    method: str = "FBP"         # how the slices were computed
    iterations: int = 0         # SIRT: iterations run on the current estimate so far

    @property
    def flags(self) -> dict:
        """``{projection name: reason}`` of the projections the live strip marks."""
        if self.quality is None:
            return {}
        names = [k[0] if isinstance(k, tuple) else k for k in self.keys]
        return {names[i]: self.quality.table["flag"].iloc[i] for i in self.quality.flagged}


def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _bin(image: np.ndarray, b: int) -> np.ndarray:
    if b == 1:
        return image
    ny, nx = (image.shape[0] // b) * b, (image.shape[1] // b) * b
    return image[:ny, :nx].reshape(ny // b, b, nx // b, b).mean(axis=(1, 3), dtype=np.float32)


class LiveReconstructor:
    """Align each new projection to its neighbour and update the live slices and volume.

    Parameters
    ----------
    slices : sequence of int, optional
        Columns (x) to reconstruct at full resolution; default ¼, ½, ¾ of the width.
    thickness : int, optional
        Rows of each slice (default the image height, ``ny``).
    volume_size : int
        The live volume is the series binned to at most this many pixels a side
        (0: no volume).
    register : bool
        Register the pairs (``False``: the projections are used as they come).
    upsample_factor : int
        Sub-pixel precision of the phase correlation, in pixels of the full images
        (``stack_register``'s ``upsample_factor`` at the registration binning: ×binning).
    register_binning : int, optional
        Register the pairs on images binned by this factor (``stack.rebin``); default a
        power of two that brings the smaller side to 512–1023 pixels (1 below 1024). The
        phase correlation's low-pass weight (0.15 cycles/pixel) keeps little above the
        binned Nyquist frequency; the shifts are in full pixels.
    sino_filter : str
        FBP filter.
    ncores : int
        Threads of the back projector.
    method : {"FBP", "SIRT"}
        ``"FBP"``: running sums of single-angle filtered back projections (the default,
        ~0.05 s a projection). ``"SIRT"``: each update runs ``iterations`` SIRT
        iterations on the tilts so far, starting from the previous estimate (warm start;
        the cost of an update grows with the projections in).
    iterations : int
        SIRT iterations per update.
    quality : bool or dict
        Keep the live quality strip (``LiveQuality``; a dict: its keywords).
    """

    def __init__(self, slices=None, thickness=None, volume_size: int = 128, *,
                 register: bool = True, upsample_factor: int = 20,
                 register_binning: int | None = None,
                 sino_filter: str = "shepp-logan", ncores: int = 2,
                 method: str = "FBP", iterations: int = 5, quality: bool | dict = True):
        upper = str(method).upper()
        if upper not in METHODS:
            raise UnknownMethodError("live reconstruction method", method, METHODS)
        if int(iterations) < 1:
            raise InvalidDataError(f"iterations must be ≥ 1 (SIRT iterations per update); "
                                   f"got {iterations}.")
        self.method, self.iterations = upper, int(iterations)
        self.quality = (LiveQuality(**quality) if isinstance(quality, dict)
                        else LiveQuality() if quality else None)
        self._x_slices = None   # SIRT: the current estimates
        self._x_volume = None
        self._sirt_done = 0     # iterations run since the series last changed
        self.slices = None if slices is None else np.asarray(slices, dtype=np.int64)
        self.thickness = thickness
        self.volume_size = int(volume_size)
        self.register = bool(register)
        self.upsample_factor = int(upsample_factor)
        self.register_binning = None if register_binning is None else int(register_binning)
        if self.register_binning is not None and self.register_binning < 1:
            raise InvalidDataError(f"register_binning must be ≥ 1; got {register_binning}.")
        self._binned: OrderedDict = OrderedDict()   # a few binned images, for the pairs
        self.sino_filter = sino_filter
        self.ncores = int(ncores)
        self._shape = None
        self._pairs: dict[tuple, np.ndarray] = {}
        self._applied: dict = {}        # key -> (tilt, shift, columns, small) in use
        self._sum_slices = None
        self._sum_volume = None
        self.binning = 1
        self.frame: LiveFrame | None = None
        self._lock = threading.RLock()  # the watcher's thread and result() both update

    # -- set-up ----------------------------------------------------------------------
    def _setup(self, shape):
        ny, nx = shape
        self._shape = shape
        if self.slices is None:
            self.slices = default_slices(nx)
        if (self.slices < 0).any() or (self.slices >= nx).any():
            raise InvalidIndexError(f"slices must be columns in [0, {nx}); got "
                                    f"{self.slices.tolist()}.")
        self.thickness = ny if self.thickness is None else int(self.thickness)
        if self.register_binning is None:
            self.register_binning = 2 ** int(np.log2(max(1, min(ny, nx) // 512)))
        self._sum_slices = np.zeros((len(self.slices), self.thickness, ny), np.float32)
        if self.volume_size > 0:
            self.binning = max(1, int(np.ceil(max(ny, nx) / self.volume_size)))
            by, bx = ny // self.binning, nx // self.binning
            self._sum_volume = np.zeros((bx, by, by), np.float32)

    def warm_up(self) -> None:
        """Compile the back projector (a few seconds, once) before the first file comes."""
        reconstruct_slices(np.ones((1, 8, 1), np.float32), np.zeros(1), "FBP",
                           kernel="pixel", check=False)
        pair = np.random.default_rng(0).random((2, 16, 16))
        with _one_blas_thread():
            compute_shifts(pair, np.zeros(2), "PC", start=0, drift=None)

    # -- registration ------------------------------------------------------------------
    @staticmethod
    def start_index(tilts) -> int:
        """The reference projection: the one nearest 0° (the first of equals)."""
        return int(np.argmin(np.abs(np.asarray(tilts, dtype=np.float64))))

    @property
    def register_upsample(self) -> int:
        """``upsample_factor`` of the phase correlation on the binned images."""
        return self.upsample_factor * (self.register_binning or 1)

    def _for_registration(self, key, image) -> np.ndarray:
        """``image`` binned as ``stack.rebin(scale=(1, b, b))`` bins it (kept for a while)."""
        b = self.register_binning or 1
        if b == 1:
            return image
        if key in self._binned:
            self._binned.move_to_end(key)
            return self._binned[key]
        binned = TomoStack(np.asarray(image)[None], tilts=[0.0]).rebin(scale=(1, b, b)).data[0]
        self._binned[key] = binned
        while len(self._binned) > 12:  # the pairs' and the quality's neighbours
            self._binned.popitem(last=False)
        return binned

    def _pair(self, ref: tuple, mov: tuple) -> np.ndarray:
        """The shift (binned pixels) aligning ``mov`` to ``ref``; each is
        ``(key, image, tilt)``."""
        pair = (ref[0], mov[0])
        if pair not in self._pairs:
            images = np.stack([self._for_registration(ref[0], ref[1]),
                               self._for_registration(mov[0], mov[1])])
            with _one_blas_thread():  # small matrix products: threads only contend
                shifts = compute_shifts(images, np.array([ref[2], mov[2]]), "PC", start=0,
                                        drift=None, upsample_factor=self.register_upsample)
            self._pairs[pair] = shifts[1]
        return self._pairs[pair]

    def shifts_of(self, keys, tilts, images) -> tuple[np.ndarray, int, int]:
        """``(shifts, start, n_new_pairs)``: the composed pairwise shifts of the series."""
        n = len(keys)
        start = self.start_index(tilts)
        out = np.zeros((n, 2))
        if not self.register or n < 2:
            self._pairs.clear()
            return out, start, 0
        before = len(self._pairs)
        wanted = set()
        for i in [*range(start + 1, n), *range(start - 1, -1, -1)]:
            ref = i - 1 if i > start else i + 1
            wanted.add((keys[ref], keys[i]))
            rel = self._pair((keys[ref], images[ref], tilts[ref]), (keys[i], images[i], tilts[i]))
            out[i] = out[ref] + rel
        new = len(self._pairs) - before
        for stale in set(self._pairs) - wanted:  # keep memory flat: only the chain's pairs
            del self._pairs[stale]
        # composed in binned pixels, then scaled: what the offline script computes
        return out * (self.register_binning or 1), start, new

    # -- reconstruction -------------------------------------------------------------------
    def _shifted_columns(self, image, shift) -> np.ndarray:
        """Columns ``slices`` of ``image`` shifted by ``shift``, ``(ny, k)``.

        The same numbers as ``shift_stack(..., "interp")`` (``scipy.ndimage.shift``, cubic
        spline, mode "nearest"): the image is padded and spline-filtered as ``shift`` does,
        and the spline is evaluated at the ``ny × k`` points the slices need only.
        """
        image = np.asarray(image)
        if image.dtype.kind != "f":
            image = image.astype(np.float32)
        if not np.any(shift):
            return np.ascontiguousarray(image[:, self.slices])
        padded = np.pad(image, _NPAD, mode="edge")
        coeffs = ndimage.spline_filter(padded, order=3, output=np.float64, mode="nearest")
        rows = np.arange(image.shape[0], dtype=np.float64)[:, None] - shift[0] + _NPAD
        cols = self.slices[None, :].astype(np.float64) - shift[1] + _NPAD
        rows, cols = np.broadcast_arrays(rows, cols)
        return ndimage.map_coordinates(coeffs, [rows, cols], order=3, mode="nearest",
                                       prefilter=False, output=image.dtype)

    def _prepared(self, image, shift):
        """What one shifted projection gives the reconstructions: its slice columns
        ``(ny, k)`` and its binned, shifted image for the volume (or None)."""
        cols = np.ascontiguousarray(self._shifted_columns(image, shift))
        small = None
        if self.volume_size > 0:
            small = _bin(np.asarray(image, dtype=np.float32), self.binning)
            if np.any(shift):
                small = ndimage.shift(small, np.asarray(shift) / self.binning, order=1,
                                      mode="nearest")
        return cols, small

    def _contribution(self, cols, small, tilt):
        """Single-angle FBP terms of one prepared projection (slices, volume)."""
        tilt = np.array([tilt], dtype=np.float64)
        sl = reconstruct_slices(cols[None], tilt, "FBP", thickness=self.thickness,
                                sino_filter=self.sino_filter, kernel="pixel",
                                ncores=self.ncores, check=False)
        vol = None
        if small is not None:
            vol = reconstruct_slices(small[None], tilt, "FBP", thickness=small.shape[0],
                                     sino_filter=self.sino_filter, kernel="pixel",
                                     ncores=self.ncores, check=False)
        return sl, vol

    def _add(self, cols, small, tilt, sign):
        sl, vol = self._contribution(cols, small, tilt)
        if sign > 0:
            self._sum_slices += sl
            if vol is not None:
                self._sum_volume += vol
        else:
            self._sum_slices -= sl
            if vol is not None:
                self._sum_volume -= vol

    def update(self, keys, tilts, images) -> LiveFrame:
        """Bring the live state to the series ``keys`` (one hashable per projection version,
        in tilt order) with their ``tilts`` and ``images``; return the new frame."""
        with self._lock:
            return self._update(keys, tilts, images)

    def _update(self, keys, tilts, images) -> LiveFrame:
        t0 = time.perf_counter()
        tilts = np.asarray(tilts, dtype=np.float64)
        if len(keys) == 0:
            raise InvalidDataError("No projections to reconstruct yet.")
        shape = tuple(np.shape(images[0]))
        if self._shape is None:
            self._setup(shape)
        for k, img in zip(keys, images, strict=True):
            if np.shape(img) != self._shape:
                raise InvalidDataError(
                    f"Projection {k[0] if isinstance(k, tuple) else k} is {np.shape(img)}; "
                    f"the series is {self._shape}: every file must have the same size.")
        shifts, start, new_pairs = self.shifts_of(keys, tilts, images)
        t1 = time.perf_counter()
        report = None
        if self.quality is not None:
            by_key = dict(zip(keys, images, strict=True))
            report = self.quality.update(keys, tilts, shifts,
                                         lambda key: self._for_registration(key, by_key[key]))
        tq = time.perf_counter()
        wanted = {k: (float(t), s, img) for k, t, s, img in zip(keys, tilts, shifts, images,
                                                                  strict=True)}
        fbp = self.method == "FBP"
        redo = 0
        for k in list(self._applied):
            old = self._applied[k]
            new = wanted.get(k)
            if new is None or new[0] != old[0] or not np.array_equal(new[1], old[1]):
                if fbp:  # take its term out of the running sums
                    self._add(*self._prepared(old[2], old[1]), old[0], -1)
                del self._applied[k]
                redo += 1
        for k, (t, s, img) in wanted.items():
            if k not in self._applied:
                cols, small = self._prepared(img, s)
                if fbp:
                    self._add(cols, small, t, +1)
                    cols = small = None  # FBP keeps sums, not the prepared projections
                self._applied[k] = (t, s.copy(), img, cols, small)
                redo += 1
        if fbp:
            n = np.float32(len(keys))
            slices = self._sum_slices / n
            volume = None if self._sum_volume is None else self._sum_volume / n
        else:
            if redo:
                self._sirt_done = 0
            slices, volume = self._sirt(keys, tilts, self.iterations)
        t2 = time.perf_counter()
        frame = self._frame(keys, tilts, shifts=shifts, start=start, slices=slices,
                            volume=volume, new_pairs=new_pairs, redo=redo)
        frame.quality = report
        t3 = time.perf_counter()
        frame.seconds = t3 - t0
        frame.timings = {"register": t1 - t0, "quality": tq - t1, "backproject": t2 - tq,
                         "show": t3 - t2}
        self.frame = frame
        return frame

    def _frame(self, keys, tilts, *, shifts, start, slices, volume, new_pairs=0, redo=0):
        ortho = ()
        if volume is not None:
            nxb, tb, nyb = volume.shape
            ortho = (volume[:, tb // 2, :].copy(), volume[nxb // 2].copy(),
                     volume[:, :, nyb // 2].copy())
        return LiveFrame(len(keys), np.array(tilts, dtype=np.float64), shifts, start,
                         self.slices.copy(), slices, ortho, self.binning, 0.0, new_pairs,
                         redo, {}, tuple(keys), None, self.method,
                         self._sirt_done if self.method == "SIRT" else 0)

    # -- warm-started SIRT ---------------------------------------------------------------
    def _sirt_run(self, sino, tilts, thickness, previous, iterations):
        """``iterations`` SIRT iterations of ``sino`` ``(n, n_det, k)`` from ``previous``
        ``(k, thickness, n_det)`` (zeros when None): ``reconstruct_slices(..., "SIRT",
        kernel="pixel")``'s algorithm and projector, started from the last estimate."""
        n, n_det, k = sino.shape
        proj = get_projector(tilts, n_det, thickness, kernel="pixel").with_threads(self.ncores)
        y = np.ascontiguousarray(sino, dtype=np.float32).reshape(n * n_det, k)
        x0 = None if previous is None else previous.reshape(k, -1).T
        x = SIRT(proj, y, x0=x0).run(iterations)
        return np.ascontiguousarray(x.T).reshape(k, thickness, n_det)

    def _sirt(self, keys, tilts, iterations):
        used = [self._applied[k] for k in keys]
        self._x_slices = self._sirt_run(np.stack([u[3] for u in used]), tilts,
                                        self.thickness, self._x_slices, iterations)
        if self.volume_size > 0:
            small = np.stack([u[4] for u in used])  # (n, by, bx)
            self._x_volume = self._sirt_run(small, tilts, small.shape[1], self._x_volume,
                                            iterations)
        self._sirt_done += iterations
        return self._x_slices.copy(), (None if self._x_volume is None
                                       else self._x_volume.copy())

    def refine(self, iterations: int = 10) -> LiveFrame:
        """Run ``iterations`` more SIRT iterations on the series of the last update (after
        the last file: toward the offline SIRT of the same files); returns the new frame."""
        if self.method != "SIRT":
            raise InvalidDataError(f"refine() continues a warm-started SIRT; this live "
                                   f"reconstruction is {self.method} (method='SIRT').")
        with self._lock:
            last = self.frame
            if last is None:
                raise InvalidDataError("No projections to reconstruct yet.")
            t0 = time.perf_counter()
            slices, volume = self._sirt(last.keys, last.tilts, int(iterations))
            frame = self._frame(last.keys, last.tilts, shifts=last.shifts, start=last.start,
                                slices=slices, volume=volume)
            frame.quality = last.quality
            frame.seconds = time.perf_counter() - t0
            frame.timings = {"backproject": frame.seconds}
            self.frame = frame
            return frame

    def finish(self, aligned_data, tilts, iterations: int | None = None) -> np.ndarray:
        """The slices of the whole aligned series in one call (what offline gives): FBP,
        or SIRT from zero with ``iterations`` (default: as many as the live estimate has
        had since the series last changed, at least ``self.iterations``)."""
        sino = np.asarray(aligned_data)[:, :, self.slices]
        if self.method == "SIRT":
            its = int(iterations or max(self._sirt_done, self.iterations))
            return reconstruct_slices(sino, tilts, "SIRT", iterations=its,
                                      thickness=self.thickness, kernel="pixel",
                                      ncores=self.ncores)
        return reconstruct_slices(sino, tilts, "FBP", thickness=self.thickness,
                                  sino_filter=self.sino_filter, kernel="pixel",
                                  ncores=self.ncores)
