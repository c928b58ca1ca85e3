"""Trial reconstructions of a few slices for trial tilt-axis values (``test_align``).

Only the pixels the slices need are touched: for each requested column ``x`` of the
*transformed* stack, the source coordinates of its ``ny`` pixels are computed once
(``rotation_source_coords``) and every projection is
sampled there by linear interpolation (values outside the image are 0), exactly what
``rotate_shift_stack`` with ``order=1`` followed by
``data[:, :, slices]`` gives, without transforming the whole stack.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDataError, InvalidIndexError, check_method
from ..project._threads import available_cores
from ..recon.slices import DEFAULT_FILTER, DEFAULT_KERNEL, reconstruct_slices
from ..transform import rotation_source_coords

SLICE_METHODS = ("FBP", "SIRT", "SART")


def default_slices(nx: int) -> np.ndarray:
    """ETSpy's choice: ¼, ½ and ¾ of the width."""
    mid = int(nx / 2)
    return np.array([mid // 2, mid, mid + mid // 2], dtype=np.int64)


class SliceSampler:
    """Sample the sinograms of a few columns of a transformed tilt series, fast.

    Built once per (stack, slices): keeps a flat float32 view of the data; each call
    computes the source coordinates of ``len(slices) × ny`` pixels and gathers them from
    every projection (``4 × n_tilts × ny × len(slices)`` reads).

    Parameters
    ----------
    data : numpy.ndarray
        ``(n_tilts, ny, nx)`` projections.
    slices : array-like of int, optional
        Columns (x) of the transformed stack; default ¼, ½, ¾ of the width.
    shifts : array-like, optional
        ``(n_tilts, 2)`` extra per-projection (y, x) shifts applied *before* the rotation.
    """

    def __init__(self, data, slices=None, shifts=None):
        data = np.asarray(data)
        if data.ndim != 3:
            raise InvalidDataError(f"Need (n_tilts, ny, nx) data; got shape {data.shape}.")
        self.n, self.ny, self.nx = data.shape
        self.flat = np.ascontiguousarray(data, dtype=np.float32).reshape(self.n, -1)
        slices = default_slices(self.nx) if slices is None else np.atleast_1d(slices)
        slices = np.asarray(slices)
        if slices.dtype.kind not in "iu" or (slices < 0).any() or (slices >= self.nx).any():
            raise InvalidIndexError(f"slices must be integer columns in [0, {self.nx}); got "
                             f"{slices.tolist()}.")
        self.slices = slices.astype(np.int64)
        self.shifts = None if shifts is None else np.asarray(shifts, float).reshape(self.n, 2)

    def sinograms(self, tilt_shift: float = 0.0, tilt_rotation: float = 0.0,
                  xshift: float = 0.0) -> np.ndarray:
        """``(n_slices, n_tilts, ny)`` sinograms of the chosen columns after rotating by
        ``tilt_rotation`` degrees and shifting by ``(tilt_shift, xshift)`` pixels."""
        rows = np.arange(self.ny, dtype=np.float64)[None, :]
        cols = self.slices.astype(np.float64)[:, None]
        ri, ci = rotation_source_coords((self.ny, self.nx), tilt_rotation, tilt_shift,
                                        xshift, rows, cols)  # (k, ny)
        if self.shifts is not None:  # per projection: (n, k, ny)
            ri = ri[None] - self.shifts[:, 0, None, None]
            ci = ci[None] - self.shifts[:, 1, None, None]
            return self._gather_each(ri, ci)
        return self._gather_same(ri, ci)

    def _weights(self, ri, ci):
        r0 = np.floor(ri).astype(np.int64)
        c0 = np.floor(ci).astype(np.int64)
        wr, wc = (ri - r0).astype(np.float32), (ci - c0).astype(np.float32)
        parts = []
        for dr, dc, w in ((0, 0, (1 - wr) * (1 - wc)), (0, 1, (1 - wr) * wc),
                          (1, 0, wr * (1 - wc)), (1, 1, wr * wc)):
            r, c = r0 + dr, c0 + dc
            ok = (r >= 0) & (r < self.ny) & (c >= 0) & (c < self.nx)
            idx = np.where(ok, r * self.nx + c, 0)
            parts.append((idx, np.where(ok, w, 0).astype(np.float32)))
        return parts

    def _gather_same(self, ri, ci):
        k, ny = ri.shape
        out = np.zeros((self.n, k * ny), np.float32)
        for idx, w in self._weights(ri.ravel(), ci.ravel()):
            out += self.flat[:, idx] * w
        return np.ascontiguousarray(out.reshape(self.n, k, ny).transpose(1, 0, 2))

    def _gather_each(self, ri, ci):
        n, k, ny = ri.shape
        out = np.zeros((n, k * ny), np.float32)
        rows = np.arange(n)[:, None]
        for idx, w in self._weights(ri.reshape(n, -1), ci.reshape(n, -1)):
            out += self.flat[rows, idx] * w
        return np.ascontiguousarray(out.reshape(n, k, ny).transpose(1, 0, 2))


#: The projector kernel of the live slices and ``test_align``: ``reconstruct``'s default
#: (``recon.DEFAULT_KERNEL``, "strip"), so ``stack.reconstruct(method)`` with its defaults
#: gives the same slices of the same columns
#: (``tests/engine/align/test_preview_equals_final.py``). The strip matrix of a geometry is
#: built once (0.3-2 s at 77 × 256², with the load) and cached; after that three FBP slices
#: take ~20 ms, and ``reconstruct`` of the same stack reuses the matrix.
SLICE_KERNEL = DEFAULT_KERNEL


def reconstruct_sinograms(sino, tilts, thickness=None, method: str = "FBP", *,
                          iterations: int = 50, constrain: bool = True,
                          thresh: float = 0.0, sino_filter: str = DEFAULT_FILTER,
                          kernel: str = SLICE_KERNEL, backend: str = "auto") -> np.ndarray:
    """Reconstruct ``(n_slices, n_tilts, n_det)`` sinograms to ``(n_slices, thickness, n_det)``.

    The same ``reconstruct_slices`` as ``TomoStack.reconstruct``, with ``reconstruct``'s
    default projector kernel (``kernel``, "strip") and FBP filter (``sino_filter``); SART
    ``iterations`` are sweeps, as there.
    """
    method = check_method("reconstruction method", method, SLICE_METHODS)
    sino = np.asarray(sino, dtype=np.float32)
    if sino.ndim != 3:
        raise InvalidDataError(
            f"sinograms must be (n_slices, n_tilts, n_det); got shape {sino.shape}.")
    columns = np.ascontiguousarray(sino.transpose(1, 2, 0))  # (n_tilts, n_det, n_slices)
    return reconstruct_slices(columns, tilts, method, iterations, thickness, constrain,
                              thresh, sino_filter, backend, kernel=kernel,
                              ncores=available_cores())


def test_align_slices(  # noqa: PLR0917 - mirrors TomoStack.test_align's positional order
        data, tilts, tilt_shift: float = 0.0, tilt_rotation: float = 0.0,
                      slices=None, thickness=None, method: str = "FBP", iterations: int = 50,
                      constrain: bool = True, thresh: float = 0.0, shifts=None,
                      sampler: SliceSampler | None = None,
                      sino_filter: str = DEFAULT_FILTER) -> np.ndarray:
    """Reconstruct a few slices as they would look after a trial tilt-axis correction.

    Equals ``rotate_shift_stack(data, tilt_rotation, tilt_shift, order=1)[:, :, slices]``
    reconstructed, but samples only the pixels those slices need.

    Parameters
    ----------
    data : numpy.ndarray
        ``(n_tilts, ny, nx)`` projections.
    tilts : array-like
        Tilt angles in degrees.
    tilt_shift : float
        Shift across the tilt axis (y) applied after the rotation, pixels (the shift
        applied to the data, ``docs/conventions.md``).
    tilt_rotation : float
        Rotation about the image centre in degrees.
    slices : array-like of int, optional
        Columns to reconstruct; default ¼, ½, ¾ of the width.
    thickness : int, optional
        Height of each slice; default ``ny``.
    method : {"FBP", "SIRT", "SART"}
    iterations : int
        For SIRT (iterations) and SART (sweeps over the projections).
    constrain : bool
        Clip values below ``thresh``.
    thresh : float
    shifts : array-like, optional
        Extra per-projection (y, x) shifts applied before the rotation.
    sampler : SliceSampler, optional
        Reuse one built for this data and these slices (the workbench does).
    sino_filter : str
        FBP filter; default ``reconstruct``'s (``"shepp-logan"``).

    Returns
    -------
    numpy.ndarray
        ``(n_slices, thickness, ny)`` float32.
    """
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    if sampler is None:
        data = np.asarray(data)
        if data.ndim != 3 or data.shape[0] != tilts.size:
            raise InvalidDataError(
                f"Need (n_tilts, ny, nx) data with one tilt per projection; got data "
                f"{np.shape(data)} and {tilts.size} tilts."
            )
        sampler = SliceSampler(data, slices, shifts)
    sino = sampler.sinograms(float(tilt_shift), float(tilt_rotation))
    return reconstruct_sinograms(sino, tilts, thickness, method, iterations=iterations,
                                 constrain=constrain, thresh=thresh, sino_filter=sino_filter)


test_align_slices.__test__ = False  # not a pytest test
