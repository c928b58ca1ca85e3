"""Threads for the matrix-free kernels: serial, GIL-free Numba kernels split over a pool.

A ``prange`` kernel is unsafe when called from several threads at once under Numba's
``workqueue`` layer (Dask's threaded scheduler does exactly that); splitting a serial
``nogil`` kernel's job range over Python threads is safe under any layer and lets
``ncores`` mean what it says.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_POOL = None
_POOL_LOCK = threading.Lock()
#: Work (pixel-angle pairs × slices) below which one thread is faster than several.
SERIAL_WORK = 200_000


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor:
    global _POOL  # noqa: PLW0603 - one pool for the process, made when first needed
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max(2, available_cores()),
                                       thread_name_prefix="etw-project")
        return _POOL


def split(n_jobs: int, threads: int, work: int) -> np.ndarray:
    """Edges of the job ranges, one per thread (``[0, n_jobs]`` when serial is faster)."""
    threads = max(1, min(int(threads), int(n_jobs)))
    if threads == 1 or work < SERIAL_WORK:
        return np.array([0, n_jobs], np.int64)
    return np.linspace(0, n_jobs, threads + 1).astype(np.int64)


def run_ranges(call, edges) -> list:
    """``call(i, j0, j1)`` for each range of ``edges``, in the pool when there are several;
    returns the results in order."""
    if len(edges) == 2:
        return [call(0, int(edges[0]), int(edges[1]))]
    futures = [_pool().submit(call, i, int(edges[i]), int(edges[i + 1]))
               for i in range(len(edges) - 1)]
    return [f.result() for f in futures]
