"""Numba kernels of the batched CPU backend: sparse matrix times a block of slices.

The block layout is *slices innermost*: a block of ``k`` images is a C-ordered
``(n_pixels, k)`` float32 array, so each nonzero of the system matrix multiplies
one contiguous row of ``k`` values (a SIMD loop). The kernels release the GIL
(``nogil=True``) and are single-threaded: parallelism comes from running chunks
of slices in several threads (Dask), which keeps them safe under any threading
layer and lets ``ncores`` mean what it says.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_matmat(indptr, indices, data, x, out):  # pragma: no cover - compiled
    """``out[i, :] = sum_j A[i, j] * x[j, :]`` for a CSR matrix ``A`` (rows in ``indptr``)."""
    k = x.shape[1]
    for i in range(indptr.shape[0] - 1):
        row = out[i]
        for s in range(k):
            row[s] = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            v = data[jj]
            xr = x[indices[jj]]
            for s in range(k):
                row[s] += v * xr[s]


@numba.njit(nogil=True, fastmath=True, cache=True)
def csr_matvec(indptr, indices, data, x, out):  # pragma: no cover - compiled
    """``out = A @ x`` for one vector (the ``k == 1`` case, without the inner loop)."""
    for i in range(indptr.shape[0] - 1):
        acc = np.float32(0.0)
        for jj in range(indptr[i], indptr[i + 1]):
            acc += data[jj] * x[indices[jj]]
        out[i] = acc


def matmat(csr, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Apply a float32 CSR matrix (``indptr, indices, data``) to a ``(n, k)`` block."""
    indptr, indices, data, n_rows = csr
    x = np.ascontiguousarray(x, dtype=np.float32)
    k = x.shape[1]
    if out is None:
        out = np.empty((n_rows, k), dtype=np.float32)
    if k == 1:
        csr_matvec(indptr, indices, data, x[:, 0], out[:, 0])
    else:
        csr_matmat(indptr, indices, data, x, out)
    return out
