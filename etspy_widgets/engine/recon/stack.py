"""Scale-out: a tilt series reconstructed in chunks of slices with Dask.

[`reconstruct_stack`][] splits the columns of a tilt series ``(n_tilts, ny, nx)``
into chunks, reconstructs each chunk with ``reconstruct_slices`` (one
batched projector call per chunk and iteration) and writes each result into the
output ``(nx, thickness, ny)`` as soon as it finishes:

- threads (default): Dask's threaded scheduler with ``ncores`` workers; the kernels
  release the GIL, so chunks run truly in parallel and share one cached projector;
- a ``dask.distributed`` ``Client`` (passed as ``client=``, or the active one: the
  default ``client="auto"``): chunks are submitted to the cluster and gathered as completed.

Peak memory is the input, the output and, per running chunk, a few blocks of that
chunk (plus the projector matrix once per process) — it follows the chunk size, not the
volume. A ``cancel`` event (or Ctrl-C) stops every chunk between iterations; the output
array is then discarded, so no half-written volume ever reaches a RecStack.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidDataError, check_finite
from ..project import fit_sparse, get_projector, is_cached, resolve_backend
from ..project._threads import available_cores
from .algorithms import ProgressCallback, ReconstructionCancelled
from .slices import (
    DEFAULT_FILTER,
    DEFAULT_KERNEL,
    check_options,
    check_tilts,
    n_iterations,
    reconstruct_slices,
)

#: Slices per chunk (eager threads, distributed tasks and the lazy path's blocks).
DEFAULT_CHUNK = 32
#: Slices per chunk of the iterative methods: the batched kernels run the slices of a row
#: 64 wide (``_csr._gather_segs``); SIRT-100 of the needle (256 slices, 2 cores) took 30.4 s
#: in chunks of 32 and 19.9 s in chunks of 128 with the unrolled kernels (same run).
ITERATIVE_CHUNK = 128
#: The default chunk holds at most this many bytes of working memory per running chunk
#: (``CHUNK_WORK_BYTES`` per pixel and slice), so that the running chunks of a block of big
#: slices add about ``ncores × CHUNK_BYTES`` (1 GB on 2 cores) to the output they fill.
CHUNK_BYTES = 512 * 2**20
#: Working memory of a running chunk per pixel and slice, beyond the output it writes into,
#: by method: measured (``benchmarks/bench_chunk_memory.py``: 61 × 512², one chunk of 16
#: slices, matrix-free, 2026-12-02) FBP 5.1, SIRT 9.8, SART 14.3, CGLS 18.4, TV 27.9 (46.8
#: before its gradient steps went in place), DART 38.7 bytes, rounded up; SIRT is kept at 8
#: (12 % under its measure): at 10, chunks of 1024² slices halved to 32, under the width
#: of the batched kernels (64), and SIRT-5 of 151 × 1024² × 128 slices took 23.6-25.3 s
#: against 18.8-21.7 s in chunks of 64 (same run). (It was 8 bytes for every method: a TV
#: chunk of 4096² slices took 6× what it was sized for.)
CHUNK_WORK_BYTES = {"BP": 8, "FBP": 8, "SIRT": 8, "SART": 16, "CGLS": 20, "TV": 32,
                    "DART": 40}


def chunk_bytes_per_pixel(method: str) -> int:
    """Working bytes per pixel and slice a running chunk of ``method`` holds
    (``CHUNK_WORK_BYTES``)."""
    return CHUNK_WORK_BYTES.get(str(method).upper(), max(CHUNK_WORK_BYTES.values()))


def running_chunks(ncores: int, n_pix: int, method: str) -> int:
    """How many chunks run at once: ``ncores``, fewer when even a one-slice chunk of
    ``method`` needs more than ``CHUNK_BYTES`` (DART of 4096² slices: 0.63 GiB a slice),
    so that the running chunks hold at most ``ncores × CHUNK_BYTES``."""
    per_slice = chunk_bytes_per_pixel(method) * max(1, n_pix)
    return max(1, min(int(ncores), (int(ncores) * CHUNK_BYTES) // per_slice))


def _chunks(nx: int, chunk_size: int | None, ncores: int,
            n_pix: int = 0, cap: int = DEFAULT_CHUNK, *,
            bytes_per_pixel: int = 8) -> list[tuple[int, int]]:
    """Column ranges: ``chunk_size`` each, or by default at most ``cap`` (and
    ``CHUNK_BYTES`` at ``bytes_per_pixel``) in a number of equal chunks that is a
    multiple of ``ncores``."""
    if chunk_size is None:
        cap = max(1, min(int(cap), CHUNK_BYTES // max(1, bytes_per_pixel * n_pix)))
        n = -(-nx // cap)
        n = -(-n // max(1, ncores)) * max(1, ncores)
        chunk_size = -(-nx // max(1, min(n, nx)))
    chunk_size = max(1, int(chunk_size))
    return [(x0, min(nx, x0 + chunk_size)) for x0 in range(0, nx, chunk_size)]


def _resolve_client(client):
    if client is None or client is False:
        return None
    if client == "auto":
        try:
            from distributed import default_client

            return default_client()
        except (ImportError, ValueError):
            return None
    return client


def _chunk_task(sino, tilts, options):
    """Reconstruct one chunk (runs in a worker thread or process)."""
    sino = np.asarray(sino)
    check_finite(sino, "tilt-series data")
    return reconstruct_slices(sino, tilts, check=False, **options)


def reconstruct_stack(data, tilts, method="FBP", iterations=5, *, thickness=None,
                      constrain=False, thresh=0.0, sino_filter=DEFAULT_FILTER,
                      backend="auto", kernel=DEFAULT_KERNEL, ncores=None, chunk_size=None,
                      client="auto", show_progressbar=True, cancel=None, callbacks=(),
                      p=0.99, dart_iterations=5, gray_levels=None, tv_weight=0.03,
                      relaxation=1.0, seed=0, builder="native"):
    """Reconstruct every column of a tilt series ``(n_tilts, ny, nx)`` → ``(nx, thickness, ny)``.

    Parameters are those of ``reconstruct_slices`` plus:

    ncores : int, optional
        Chunks run at once in threads (default: every available core).
    chunk_size : int, optional
        Slices per chunk (default 32, fewer so that every core gets a chunk, and fewer for
        big slices: ``CHUNK_BYTES``).
    client : distributed.Client, "auto" or None
        Run chunks on a Dask cluster. ``"auto"`` (default) uses the active client when
        there is one (``distributed.default_client()``), else threads; ``None``: threads.
    show_progressbar : bool
        A tqdm bar (a widget in notebooks) counting slice-iterations.
    cancel : threading.Event, optional
        Set it (from another thread: a widget's button) to stop; raises
        [`ReconstructionCancelled`][etspy_widgets.engine.recon.algorithms.ReconstructionCancelled].
    callbacks : sequence of callables
        Called as ``cb(algorithm)`` after every iteration of every chunk (from worker
        threads; not with a distributed client).

    Returns
    -------
    numpy.ndarray
        float32 ``(nx, thickness, ny)``.
    """
    if getattr(data, "ndim", 0) != 3:
        raise InvalidDataError(
            f"A tilt series of shape (n_tilts, ny, nx) is needed; got {np.shape(data)}."
        )
    n_tilts, ny, nx = data.shape
    method = check_options(method, iterations, sino_filter, gray_levels=gray_levels,
                           dart_iterations=dart_iterations, p=p)
    tilts = check_tilts(tilts, n_tilts)
    if isinstance(data, np.ndarray):
        check_finite(data, "tilt-series data")
    thickness = ny if thickness is None else int(thickness)
    ncores = available_cores() if ncores is None else max(1, int(ncores))
    asked = backend
    backend = backend if kernel == "pixel" else resolve_backend(backend)
    if backend == "sparse" and kernel != "pixel" and not is_cached(
            tilts, ny, thickness, "sparse", kernel=kernel, builder=builder):
        backend = fit_sparse(asked, (n_tilts, ny, thickness), kernel)
    client = _resolve_client(client)
    iterative = method not in ("BP", "FBP")
    chunks = _chunks(nx, chunk_size, ncores, thickness * ny,
                     ITERATIVE_CHUNK if iterative else DEFAULT_CHUNK,
                     bytes_per_pixel=chunk_bytes_per_pixel(method))
    threads_per_chunk = 1
    if chunk_size is None:  # fewer chunks at once, each on more threads, when they are big
        running = running_chunks(ncores, thickness * ny, method)
        threads_per_chunk, ncores = max(1, ncores // running), running
    out = np.empty((nx, thickness, ny), np.float32)
    n_it = max(1, n_iterations(method, iterations, dart_iterations))
    progress = ProgressCallback(nx * n_it, desc=f"{method} reconstruction",
                                enabled=show_progressbar)
    cancel = cancel if cancel is not None else threading.Event()
    options = {"method": method, "iterations": iterations, "thickness": thickness,
               "constrain": constrain, "thresh": thresh, "sino_filter": sino_filter,
               "backend": backend, "kernel": kernel, "p": p,
               "dart_iterations": dart_iterations, "gray_levels": gray_levels,
               "tv_weight": tv_weight, "relaxation": relaxation, "builder": builder,
               "ncores": threads_per_chunk}
    if client is None:
        # build the projector once, before the worker threads would race to build it
        get_projector(tilts, ny, thickness, "auto" if kernel == "pixel" else backend,
                      kernel=kernel, builder=builder)
    job = _Job(data=data, tilts=tilts, options=options, chunks=chunks, out=out,
               progress=progress, cancel=cancel, callbacks=tuple(callbacks), seed=int(seed))
    try:
        if client is None:
            _run_threads(job, ncores)
        else:
            _run_distributed(job, client)
    except BaseException:
        cancel.set()  # stop the chunks still running
        raise
    finally:
        progress.close()
    return out


@dataclass
class _Job:
    """Everything the chunk runners share."""

    data: object
    tilts: np.ndarray
    options: dict
    chunks: list
    out: np.ndarray
    progress: ProgressCallback
    cancel: threading.Event
    callbacks: tuple
    seed: int


def _run_threads(job: _Job, ncores: int) -> None:
    import dask

    data, tilts, options, out = job.data, job.tilts, job.options, job.out
    progress, cancel, callbacks, seed = job.progress, job.cancel, job.callbacks, job.seed

    chunk_callbacks = [progress, *callbacks]

    iterative = options["method"] not in ("BP", "FBP")

    def task(x0, x1):
        if cancel.is_set():
            return
        # the chunk's slices are written into the output straight from the iterate
        _chunk_task(data[:, :, x0:x1], tilts, {
            **options, "callbacks": chunk_callbacks, "cancel": cancel, "seed": seed + x0,
            "out": out[x0:x1]})
        if not iterative:
            progress.update(x1 - x0)

    tasks = [dask.delayed(task, pure=False)(x0, x1) for x0, x1 in job.chunks]
    dask.compute(*tasks, scheduler="threads", num_workers=ncores)
    if cancel.is_set():
        raise ReconstructionCancelled("Reconstruction cancelled.")


def _run_distributed(job: _Job, client) -> None:
    from distributed import as_completed

    data, tilts, options, out, progress = job.data, job.tilts, job.options, job.out, job.progress
    futures = {}
    for x0, x1 in job.chunks:
        sino = np.ascontiguousarray(data[:, :, x0:x1])
        fut = client.submit(_chunk_task, sino, tilts, {**options, "seed": job.seed + x0},
                            pure=False)
        futures[fut] = (x0, x1)
    try:
        for fut in as_completed(futures):
            x0, x1 = futures.pop(fut)
            out[x0:x1] = fut.result()
            fut.release()
            progress.update((x1 - x0) * max(1, n_iterations(
                options["method"], options["iterations"], options["dart_iterations"])))
    except BaseException:
        client.cancel(list(futures))
        raise
