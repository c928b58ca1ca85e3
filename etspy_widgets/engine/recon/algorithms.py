"""Reconstruction algorithms on the projector interface (column blocks, slices innermost).

The CIL pattern: every iterative method is an [`Algorithm`][] with ``set_up`` /
``update`` / ``objective``; an algorithm is an *iterator* (``next(alg)`` runs one update,
checking its ``cancel`` event first, and stops at ``max_iteration``), and
``run(iterations, callbacks=..., cancel=...)`` is written once on top of that iteration.
Callbacks ([`Callback`][], [`ProgressCallback`][], or any callable) are called as
``callback(algorithm)`` after each iteration; one ends the run early by raising
``StopIteration``. A set ``cancel`` (``threading.Event``) raises
[`ReconstructionCancelled`][] and nothing is written.

The objective ``‖W x − y‖`` per slice is kept by the base (``objective()``,
``objectives``): SIRT records the residual its update computes anyway (of the iterate the
update starts from), TV the one its projection of ``x̄`` gives by linearity (of the same
iterate), unconstrained CGLS the one it carries; SART (whose sweep residual belongs to no
single iterate), constrained CGLS (its output is the clamped copy) and DART compute it when
asked (one forward projection).

Blocks (except ``fbp_slices``): ``y`` is a sinogram block ``(n_tilts * n_det, k)``,
solutions ``(thickness * n_det, k)``.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import ndimage

from ..errors import Cancelled, InvalidDataError
from ..project import safe_inverse
from ..project.fbp_filters import filter_sinograms

_EPS = 1e-6


class ReconstructionCancelled(Cancelled):
    """The reconstruction was cancelled (its ``cancel`` event was set); nothing was written."""


class Callback:
    """Called as ``callback(algorithm)`` after each iteration (CIL's callback objects).

    Subclass and override ``__call__``; raise ``StopIteration`` to end the run early.
    """

    def __call__(self, algorithm) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ProgressCallback(Callback):
    """Progress in slice-iterations: a tqdm bar, or ``function(done, total)``.

    Thread-safe (chunks of a volume report from worker threads). Each call adds the
    algorithm's number of slices ``k``; ``update(n)`` adds ``n`` directly (non-iterative
    methods). ``close()`` ends the bar.

    Parameters
    ----------
    total : int
        Slice-iterations expected.
    function : callable, optional
        ``function(done, total)`` instead of a tqdm bar (a widget's progress).
    desc : str
        The bar's label.
    enabled : bool
        ``False``: count only.
    """

    def __init__(self, total: int, function=None, *, desc: str = "reconstruction",
                 enabled: bool = True):
        self.total = int(total)
        self.done = 0
        self.function = function
        self.lock = threading.Lock()
        self.bar = None
        if enabled and function is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=desc, unit="slice-it")

    def __call__(self, algorithm) -> None:
        self.update(algorithm.k)

    def update(self, n: int) -> None:
        with self.lock:
            self.done += int(n)
            done = self.done
            if self.bar is not None:
                self.bar.update(int(n))
        if self.function is not None:
            self.function(done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Algorithm:
    """Base class: an iterative reconstruction of a block of slices.

    Parameters
    ----------
    projector : Projector
        The geometry and backend.
    y : numpy.ndarray
        Sinogram block ``(n_rays, k)``.
    constrain, thresh : bool, float
        Clamp the solution to ``≥ thresh`` after every update (ETSpy's ``MinConstraint``).
    x0 : numpy.ndarray, optional
        Starting solution ``(n_pix, k)``; zeros by default.
    cancel : threading.Event, optional
        Checked before every update.
    max_iteration : int, optional
        Where iteration stops (``run`` sets it); ``None``: never.
    """

    name = "base"
    #: True when ``update`` records the objective of the iterate it *starts* from (known
    #: one iteration late, for free), False when of its result or not at all.
    objective_lags = False

    def __init__(self, projector, y, constrain=False, thresh=0.0, x0=None, *,
                 cancel=None, max_iteration=None):
        self.proj = projector
        self.y = np.ascontiguousarray(y, dtype=np.float32)
        if self.y.ndim != 2 or self.y.shape[0] != projector.n_rays:
            raise InvalidDataError(
                f"Sinogram block of shape {self.y.shape} does not match the projector "
                f"({projector.n_rays} rays)."
            )
        self.k = self.y.shape[1]
        self.constrain = bool(constrain)
        self.thresh = float(thresh)
        self.x = (np.zeros((projector.n_pix, self.k), np.float32) if x0 is None
                  else np.array(x0, dtype=np.float32, order="C"))
        self.iteration = 0
        self.cancel = cancel
        self.max_iteration = max_iteration
        self.objectives: dict[int, np.ndarray] = {}
        projector.prepare(self.k)
        self.set_up()

    def set_up(self) -> None:
        """Precompute what the updates need."""

    def update(self) -> None:
        """One iteration."""
        raise NotImplementedError

    def clamp(self, x=None):
        x = self.x if x is None else x
        if self.constrain:
            np.maximum(x, self.thresh, out=x)
        return x

    # -- iteration -------------------------------------------------------------------
    def __iter__(self):
        return self

    def __next__(self):
        if self.max_iteration is not None and self.iteration >= self.max_iteration:
            raise StopIteration
        if self.cancel is not None and self.cancel.is_set():
            raise ReconstructionCancelled("Reconstruction cancelled.")
        self.update()
        self.iteration += 1
        return self

    @property
    def last_iteration(self) -> bool:
        """Whether the update running now is the last one of the run (DART's hook)."""
        return self.max_iteration is not None and self.iteration == self.max_iteration - 1

    def run(self, iterations: int, callbacks=(), cancel=None):
        """Run ``iterations`` updates; returns the solution block ``(n_pix, k)``."""
        if cancel is not None:
            self.cancel = cancel
        self.max_iteration = self.iteration + int(iterations)
        for _ in self:
            try:
                for cb in callbacks:
                    cb(self)
            except StopIteration:
                break
        return self.solution

    # -- objective ---------------------------------------------------------------------
    def _record_objective(self, iteration: int, residual_sq) -> None:
        """Keep ``‖W x_i − y‖`` of iterate ``iteration`` that an update computed anyway."""
        self.objectives[int(iteration)] = np.sqrt(np.asarray(residual_sq, np.float64))

    def objective(self) -> np.ndarray:
        """L2 norm of the residual ``‖W x − y‖`` of the current solution, per slice (``k``);
        free when the algorithm already computed it, else one forward projection."""
        hit = self.objectives.get(self.iteration)
        if hit is None:
            r = self.proj.fp_cols(self.solution) - self.y
            hit = np.sqrt(np.einsum("ij,ij->j", r, r, dtype=np.float64))
            self.objectives[self.iteration] = hit
        return hit

    @property
    def solution(self) -> np.ndarray:
        return self.x

    def iterate_objectives(self):
        """Yield ``(iteration, solution copy, objective)`` after each update, to
        ``max_iteration``, using the objectives the updates compute: for SIRT a run of
        ``n`` yields costs ``n`` updates and one forward projection (not ``n`` more).
        Items are yielded one update late when the objective arrives late."""
        pending = None
        for _ in self:
            if pending is not None:
                yield (*pending, self.objectives.get(pending[0])
                       if pending[0] in self.objectives else self._objective_of(pending[1]))
                pending = None
            if self.objective_lags:
                pending = (self.iteration, self.solution.copy())
            else:
                yield self.iteration, self.solution.copy(), self.objective()
        if pending is not None:
            yield (*pending, self.objective())

    def _objective_of(self, x):
        r = self.proj.fp_cols(x) - self.y
        return np.sqrt(np.einsum("ij,ij->j", r, r, dtype=np.float64))


class SIRT(Algorithm):
    """SIRT exactly as ASTRA's CPU ``SIRT``: ``x += λ C Wᵀ R (y − W x)``,
    ``R = 1/(W 1)``, ``C = 1/(Wᵀ 1)`` (zero where the sums vanish), then the min clamp."""

    name = "SIRT"
    objective_lags = True  # an update knows the residual of the iterate it starts from

    def __init__(self, *args, relaxation=1.0, **kw):
        self.relaxation = float(relaxation)
        super().__init__(*args, **kw)

    def set_up(self):
        rows, cols = self.proj.sums()
        self.r_inv = safe_inverse(rows)[:, None]
        self.c_inv = (self.relaxation * safe_inverse(cols))[:, None]

    def update(self):
        res = self.proj.sirt_update(self.x, self.y, self.r_inv, self.c_inv)
        self._record_objective(self.iteration, res)  # of the iterate this update starts from
        self.residual = self.objectives[self.iteration]
        self.clamp()


class SART(Algorithm):
    """SART as ASTRA's CPU ``SART`` with sequential projection order.

    One ``update`` is one *sweep* over all projections (ASTRA's SART counts one
    projection as one iteration: ASTRA ``n_tilts × sweeps`` iterations = our ``sweeps``).
    For projection ``a``: ``x_j += λ Σ_i w_ij (y_i − (W_a x)_i) / (C_j R_i)`` with the
    pixel weights of that projection ``C = W_aᵀ 1`` and ray lengths ``R = W 1``, skipping
    terms with ``|C_j R_i| ≤ 0.001`` (as ASTRA's ``SIRTBPPolicy``), clamped after each
    projection.

    ``mask`` (``(n_pix, k)`` bool, optional) restricts the unknowns to the free pixels:
    projections see only ``x·mask`` and ray lengths count only free pixels (DART).
    ``upper`` clamps from above too.
    """

    name = "SART"

    def __init__(self, *args, relaxation=1.0, order=None, mask=None, upper=None, **kw):
        self.relaxation = float(relaxation)
        self.order = order
        self.mask = mask
        self.upper = upper
        super().__init__(*args, **kw)

    def set_up(self):
        p = self.proj
        self.order = np.arange(p.n_angles) if self.order is None else np.asarray(self.order)
        if self.mask is None:
            self.ray_len = p.sums()[0][:, None]
        else:
            self.mask = np.ascontiguousarray(self.mask, dtype=np.float32)
            self.ray_len = p.fp_cols(self.mask)  # ray lengths through the free pixels
            self.x *= self.mask

    def clamp(self, x=None):
        x = super().clamp(x)
        if self.upper is not None:
            np.minimum(x, self.upper, out=x)
        return x

    def update(self):
        # one sweep: each projection's update, then the clamp (``Projector.sart_sweep``;
        # one fused kernel call for a few slices on the matrix-free strip pair)
        res = self.proj.sart_sweep(self.x, self.y, self.ray_len, self.order, mask=self.mask,
                                   relaxation=self.relaxation,
                                   lower=self.thresh if self.constrain else None,
                                   upper=self.upper)
        self.residual = np.sqrt(res)  # accumulated over the sweep, as the iterate changed


class CGLS(Algorithm):
    """Conjugate gradients on the normal equations ``WᵀW x = Wᵀ y`` (per slice).

    Unconstrained; with ``constrain`` the result is clamped once, at the end of each
    iteration's output copy (the iterate itself stays unconstrained, as CGLS requires).
    """

    name = "CGLS"

    def set_up(self):
        self.r = self.y - self.proj.fp_cols(self.x)
        self.s = self.proj.bp_cols(self.r)
        self.p = self.s.copy()
        self.gamma = np.einsum("ij,ij->j", self.s, self.s, dtype=np.float64)
        if not self.constrain:
            self._record_objective(0, np.einsum("ij,ij->j", self.r, self.r, dtype=np.float64))

    def update(self):
        q = self.proj.fp_cols(self.p)
        qq = np.einsum("ij,ij->j", q, q, dtype=np.float64)
        alpha = np.divide(self.gamma, qq, out=np.zeros_like(qq), where=qq > 0)
        self.x += (alpha.astype(np.float32)) * self.p
        self.r -= (alpha.astype(np.float32)) * q
        self.s = self.proj.bp_cols(self.r)
        gamma = np.einsum("ij,ij->j", self.s, self.s, dtype=np.float64)
        beta = np.divide(gamma, self.gamma, out=np.zeros_like(gamma), where=self.gamma > 0)
        self.p = self.s + beta.astype(np.float32) * self.p
        self.gamma = gamma
        if not self.constrain:  # r = y − W x of the new iterate, carried along
            self._record_objective(self.iteration + 1,
                                   np.einsum("ij,ij->j", self.r, self.r, dtype=np.float64))

    @property
    def solution(self):
        return self.clamp(self.x.copy()) if self.constrain else self.x


def _div(g, out=None):
    """Negative adjoint of the forward differences (``_add_grad``), into ``out`` when
    given."""
    if out is None:
        d = np.zeros(g.shape[1:], np.float32)
    else:
        d = out
        d[...] = 0.0
    d[:-1] += g[0, :-1]
    d[1:] -= g[0, :-1]
    d[:, :-1] += g[1, :, :-1]
    d[:, 1:] -= g[1, :, :-1]
    return d


def _add_grad(x, shape, out, scale, tmp):
    """``out += scale · ∇x`` in place: forward differences of images ``(T, D, k)``
    (Neumann boundary) into ``out`` ``(2, T, D, k)``, one image-sized temporary (``tmp``)."""
    img = x.reshape(shape)
    t = tmp.reshape(shape)
    np.subtract(img[1:], img[:-1], out=t[:-1])
    t[:-1] *= scale
    out[0, :-1] += t[:-1]
    np.subtract(img[:, 1:], img[:, :-1], out=t[:, :-1])
    t[:, :-1] *= scale
    out[1, :, :-1] += t[:, :-1]


class TV(Algorithm):
    """Total-variation regularised least squares by preconditioned Chambolle–Pock.

    Minimises ``½‖W x − y‖² + λ TV(x)`` (isotropic TV with forward differences),
    subject to ``x ≥ thresh`` when ``constrain``, by the primal–dual algorithm of
    Chambolle & Pock with the diagonal preconditioning of Pock & Chambolle (ICCV 2011):
    dual steps ``σ = 1/(W 1)`` on the rays and ``1/2`` on the gradients, primal steps
    ``τ = 1/(Wᵀ 1 + 4)`` — the SIRT weights, so early iterations behave like SIRT.

    The weight is relative: ``λ = tv_weight · mean(Wᵀ 1) · μ``, where ``mean(Wᵀ 1)`` is
    the mean pixel weight (≈ the number of projections) and ``μ = Σy / Σ(W 1)`` the
    mean pixel value along the rays. ``tv_weight`` thus acts like the weight of TV
    denoising of an image of unit mean, independent of the data's scale, size and
    number of projections. Default 0.03; raise it for noisy data.
    """

    name = "TV"
    #: The update projects ``x̄ = 2 x_n − x_{n−1}``; by linearity ``W x_n = (W x̄ +
    #: W x_{n−1}) / 2``, so the residual of the iterate it starts from comes for free.
    objective_lags = True

    def __init__(self, *args, tv_weight=0.03, **kw):
        self.tv_weight = float(tv_weight)
        super().__init__(*args, **kw)

    def set_up(self):
        p = self.proj
        rows, cols = p.sums()
        ysum = self.y.sum(axis=0, dtype=np.float64)
        mu = np.maximum(ysum / max(float(rows.sum()), _EPS), 0)
        self.lam = (self.tv_weight * float(cols.mean()) * mu).astype(np.float32)  # per slice
        self.sigma = safe_inverse(rows)[:, None]
        self.tau = (1.0 / (cols + 4.0)).astype(np.float32)[:, None]
        self.shape = (p.thickness, p.n_det, self.k)
        self.xbar = self.x.copy()
        self.pd = np.zeros_like(self.y)
        self.qd = np.zeros((2, *self.shape), np.float32)
        self.fx = None  # W x of the current iterate, once known

    def update(self):
        p = self.proj
        fxbar = p.fp_cols(self.xbar)
        # x̄ = x at the start, then 2 x_n − x_{n−1}: W x_n = (W x̄ + W x_{n−1}) / 2
        self.fx = fxbar.copy() if self.fx is None else 0.5 * (fxbar + self.fx)
        r = self.fx - self.y
        self._record_objective(self.iteration, np.einsum("ij,ij->j", r, r, dtype=np.float64))
        fxbar -= self.y
        fxbar *= self.sigma
        self.pd += fxbar
        self.pd /= 1.0 + self.sigma
        del fxbar, r
        # the gradient steps in place, two image-sized temporaries at most (the chunk's
        # memory: benchmarks/bench_chunk_memory.py)
        tmp = np.empty_like(self.x)
        _add_grad(self.xbar, self.shape, self.qd, np.float32(0.5), tmp)
        mag = np.hypot(self.qd[0], self.qd[1])
        bound = np.where(self.lam > 0, self.lam, 1.0).astype(np.float32)
        mag /= bound
        np.maximum(mag, 1.0, out=mag)
        self.qd /= mag
        del mag
        if not np.all(self.lam > 0):
            self.qd[..., self.lam <= 0] = 0
        x_old = self.x
        step = p.bp_cols(self.pd)
        step -= _div(self.qd, out=tmp.reshape(self.shape)).reshape(step.shape)
        step *= self.tau
        np.subtract(x_old, step, out=step)  # x_new
        x_new = self.clamp(step)
        np.multiply(x_new, 2, out=self.xbar)  # x̄ = 2 x_new − x_old, in its own array
        self.xbar -= x_old
        self.x = x_new


def dart_segment(rec, thresholds, gray_vals) -> np.ndarray:
    """DART's segmentation (ETSpy's name): ``gray_vals[k]`` where ``rec`` lies in bin ``k``.

    Bins are ``np.digitize(rec, thresholds)``: ``thresholds`` (ascending) split the values
    into ``len(thresholds) + 1`` bins, one per gray value.
    """
    return np.asarray(gray_vals)[np.digitize(rec, thresholds)]


def get_dart_boundaries(segmented) -> np.ndarray:
    """DART's free boundary pixels (ETSpy's name): a pixel with a differently labelled
    8-neighbour in the first two axes (further axes are stacked slices).

    Edges are padded with the nearest value, so the image border is not a boundary by
    itself (ETSpy's Laplacian padded with zeros and missed boundaries where neighbours'
    labels cancel out).
    """
    seg = np.asarray(segmented)
    size = (3, 3) + (1,) * (seg.ndim - 2)
    hi = ndimage.maximum_filter(seg, size=size, mode="nearest")
    lo = ndimage.minimum_filter(seg, size=size, mode="nearest")
    return hi != lo


class DART(Algorithm):
    """Discrete algebraic reconstruction (Batenburg & Sijbers, IEEE TIP 2011).

    1. ``iterations`` SART sweeps give a continuous start.
    2. Each of ``dart_iterations`` rounds: segment with thresholds midway between
       ``gray_levels``; *free* pixels are the segment boundaries (a pixel with a
       differently labelled 8-neighbour) plus random pixels kept free with probability
       ``1 − p``; the rest are *fixed* at their gray level. The fixed pixels' projection
       is subtracted from the data, and ``iterations`` SART sweeps update the free
       pixels only (the free-pixel mask applied in projection and back projection),
       clamped to the gray-level range. Between rounds the free pixels are smoothed
       (Gaussian, σ = 1 pixel).
    Returns the continuous image of the last round (as ETSpy does); ``segmented``
    holds its segmentation.
    """

    name = "DART"

    def __init__(self, *args, gray_levels=None, p=0.99, sart_iterations=5, seed=0,
                 relaxation=1.0, **kw):
        if gray_levels is None or len(np.atleast_1d(gray_levels)) < 2:
            raise InvalidDataError(
                "DART needs gray_levels: the expected gray values of the materials, "
                "at least two (e.g. gray_levels=[0, 0.5, 1] for background and two phases)."
            )
        self.gray = np.sort(np.asarray(gray_levels, dtype=np.float32).ravel())
        if not 0 <= float(p) <= 1:
            raise InvalidDataError(f"DART's p is a probability in [0, 1]; got {p}.")
        self.p_fixed = float(p)
        self.sart_iterations = int(sart_iterations)
        self.rng = np.random.default_rng(seed)
        self.relaxation = relaxation
        super().__init__(*args, **kw)

    @property
    def thresholds(self) -> np.ndarray:
        return (self.gray[:-1] + self.gray[1:]) / 2

    def _sart(self, y, x0, mask=None):
        alg = SART(self.proj, y, x0=x0, constrain=True, thresh=float(self.gray[0]),
                   upper=float(self.gray[-1]), mask=mask, relaxation=self.relaxation,
                   cancel=self.cancel)
        return alg.run(self.sart_iterations)

    def set_up(self):
        self.shape = (self.proj.thickness, self.proj.n_det, self.k)
        self.x = self._sart(self.y, self.x)
        self.segmented = self.segment(self.x)

    def segment(self, x):
        return dart_segment(x, self.thresholds, self.gray)

    def boundary(self, seg):
        return get_dart_boundaries(seg.reshape(self.shape)).reshape(seg.shape)

    def update(self):
        last = self.last_iteration  # the last round is not smoothed
        seg = self.segment(self.x)
        free = self.boundary(seg) | (self.rng.random(seg.shape) < 1 - self.p_fixed)
        fixed_img = np.where(free, 0, seg).astype(np.float32)
        y_free = self.y - self.proj.fp_cols(fixed_img)
        x_free = np.where(free, self.x, 0).astype(np.float32)
        x_free = self._sart(y_free, x_free, mask=free)
        x = np.where(free, x_free, seg).astype(np.float32)
        if not last:
            smooth = ndimage.gaussian_filter(x.reshape(self.shape), sigma=(1, 1, 0),
                                             mode="nearest").reshape(x.shape)
            x = np.where(free, smooth, x)
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.segmented = self.segment(self.x)


def backproject(projector, y) -> np.ndarray:
    """Plain back projection ``Wᵀ y`` (ASTRA's ``BP``)."""
    return projector.bp_cols(y)


def fbp(projector, y, sino_filter="shepp-logan") -> np.ndarray:
    """Filtered back projection as ASTRA's CPU ``FBP``: filter each projection along
    the detector, back project, scale by ``π / (2 n_tilts)``."""
    n_a, n_d = projector.n_angles, projector.n_det
    yf = filter_sinograms(y.reshape(n_a, n_d, -1), n_d, sino_filter, axis=1)
    out = projector.bp_cols(yf.reshape(n_a * n_d, -1))
    out *= np.float32(np.pi / 2 / n_a)
    return out


def fbp_slices(projector, sino3, sino_filter="shepp-logan") -> np.ndarray:
    """``fbp`` in the slice-first layout: ``(k, n_tilts, n_det)`` → ``(k, thickness, n_det)``
    (the detector axis contiguous for the FFT; for projectors whose kernels are
    slice-first, ``PixelProjector``, no transposes at all). ``sino_filter=None``: plain
    back projection."""
    sino3 = np.ascontiguousarray(sino3, dtype=np.float32)
    if sino_filter is None:
        return projector.back_slices(sino3)
    yf = filter_sinograms(sino3, projector.n_det, sino_filter, axis=-1)
    out = projector.back_slices(yf)
    out *= np.float32(np.pi / 2 / projector.n_angles)
    return out


ITERATIVE = {"SIRT": SIRT, "SART": SART, "CGLS": CGLS, "TV": TV, "DART": DART}
