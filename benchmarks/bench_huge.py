"""A 151 × 4096² series out of core: written lazily, reconstructed block by block.

Run: ``python benchmarks/bench_huge.py`` (``--size 4096 --tilts 151 --blocks 2 --chunk 8
--sirt-slices 4 --sirt-iterations 2 --sirt-block 64``; ``--parts fbp,sirt,sirt-memory``).

The series is simulated analytically (a cylinder along the tilt axis and an off-axis rod:
their projections are chord lengths at the detector coordinate ``u`` of
``engine.geometry.detector_u``), generated as a dask array and written to a zarr store block
by block (never whole in memory). It is then read lazily and ``--blocks`` blocks of
``--chunk`` slices are reconstructed with ``recon.lazy.lazy_volume`` (FBP; ``backend="auto"``:
the sparse matrix would need ~46 GiB here, so the matrix-free strip projector is chosen and
a ``ResourceWarning`` says so), with the time per slice and the process's peak memory
(``VmHWM``), against ASTRA's CPU FBP of one slice (what ETSpy runs) in the same run. The
whole volume (4096 slices of 4096², 256 GiB) is extrapolated per slice, and said so.

SIRT (``--parts sirt``): ``--sirt-iterations`` iterations of ``--sirt-slices`` slices through
the same lazy path, timed per iteration and slice against ASTRA's CPU SIRT (one iteration of
one slice), and extrapolated to SIRT-100 of a ``--sirt-block`` block (said so). The memory
of that whole block (``--parts sirt-memory``) is measured by running the block itself with
``iterations=0`` (the set-up, every chunk's iterate and its copy into the output, no
update): its peak plus the iteration's working memory measured in the ``sirt`` part bounds
the real run. Each part runs in its own process (its own ``VmHWM``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def vm(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def projections(tilts, n, x0, x1):
    """Analytic projections ``(n_tilts, n, x1 − x0)`` of the phantom (float32)."""
    from etspy_widgets.engine.geometry import detector_u

    c = (n - 1) / 2
    u = np.arange(n, dtype=np.float64)[None, :]
    th = np.deg2rad(np.asarray(tilts, np.float64))[:, None]
    big = 2 * np.sqrt(np.clip((n / 3) ** 2 - (u - c) ** 2, 0, None))
    u0 = detector_u(c + n / 5, c - n / 8, np.cos(th), np.sin(th), c, c)
    rod = 3 * 2 * np.sqrt(np.clip((n / 40) ** 2 - (u - u0) ** 2, 0, None))
    img = (big + rod).astype(np.float32)  # (n_tilts, n)
    return np.repeat(img[:, :, None], x1 - x0, axis=2)


def _astra(method, sino, tilts, n, iterations=1):
    import astra

    pg = astra.create_proj_geom("parallel", 1.0, n, np.deg2rad(tilts))
    vg = astra.create_vol_geom((n, n))
    pid = astra.create_projector("strip", pg, vg)
    sid = astra.data2d.create("-sino", pg, sino)
    rid = astra.data2d.create("-vol", vg)
    cfg = astra.astra_dict(method)
    cfg.update(ProjectorId=pid, ProjectionDataId=sid, ReconstructionDataId=rid)
    if method == "FBP":
        cfg["option"] = {"FilterType": "shepp-logan"}
    aid = astra.algorithm.create(cfg)
    t0 = time.perf_counter()
    astra.algorithm.run(aid, iterations)
    t = time.perf_counter() - t0
    ref = astra.data2d.get(rid)
    astra.algorithm.delete(aid)
    astra.data2d.delete([sid, rid])
    astra.projector.delete(pid)
    return t, ref


class Stages:
    """Peak RSS per stage: a thread samples ``VmRSS`` every 20 ms and keeps the maximum of
    the stage that is running (``with stages("name"):``)."""

    def __init__(self):
        import threading

        self.peaks: dict[str, int] = {}
        self.current = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.02):
            rss = vm("VmRSS")
            self.peaks[self.current] = max(self.peaks.get(self.current, 0), rss)

    def __call__(self, name):
        import contextlib

        @contextlib.contextmanager
        def stage():
            previous, self.current = self.current, name
            try:
                yield
            finally:
                rss = vm("VmRSS")
                self.peaks[name] = max(self.peaks.get(name, 0), rss)
                self.current = previous

        return stage()

    def report(self):
        self._stop.set()
        return ", ".join(f"{k} {v / 2**30:.2f}" for k, v in self.peaks.items())


def _traced(stages):
    """Wrap the lazy path's steps so that each is its own stage of ``stages``."""
    from etspy_widgets.engine.recon import lazy as lazy_mod
    from etspy_widgets.engine.recon import slices as slices_mod
    from etspy_widgets.engine.recon import stack as stack_mod

    def wrap(mod, name, label):
        fn = getattr(mod, name)

        def inner(*a, **kw):
            with stages(label):
                return fn(*a, **kw)

        setattr(mod, name, inner)

    wrap(lazy_mod, "reconstruct_stack", "reconstruct_stack (block)")
    wrap(lazy_mod, "check_finite_result", "finite check")
    wrap(stack_mod, "reconstruct_slices", "one chunk")
    wrap(slices_mod, "get_projector", "get_projector")


def _lazy(sub, tilts, method, chunk, iterations=0, *, store=None, stages=None,
          backend="auto"):
    """Reconstruct ``sub`` lazily; into memory (``compute``) or, with ``store``, streamed
    into a zarr store block by block (what ``LazyRecStack.save`` to ``.zspy`` does)."""
    import contextlib

    from etspy_widgets.engine.recon.lazy import lazy_volume

    stage = stages or (lambda _: contextlib.nullcontext())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vol = lazy_volume(sub, tilts, method, iterations, chunk_size=chunk, backend=backend)
        t0 = time.perf_counter()
        with stage("dask compute" if store is None else "dask store"):
            if store is None:
                out = vol.compute(scheduler="threads", num_workers=1)
            else:
                # one slice per zarr chunk (a block-sized chunk would be compressed whole)
                vol.rechunk((1, *vol.shape[1:])).to_zarr(str(store), overwrite=True)
                out = None
        t = time.perf_counter() - t0
    for w in caught:
        print(f"  ({w.category.__name__}: {str(w.message)[:160]}...)")
    return t, out


def part(args, store):
    """One part in this process: ``fbp``, ``sirt`` or ``sirt-memory``."""
    import dask.array as da

    n, nt = args.size, args.tilts
    tilts = np.linspace(-75, 75, nt)
    data = da.from_zarr(str(store))
    base = vm("VmRSS")
    gib = 2**30
    if args.part == "fbp":
        x0 = n // 2 - args.blocks * args.chunk // 2
        sub = data[:, :, x0:x0 + args.blocks * args.chunk]
        t_ours, out = _lazy(sub, tilts, "FBP", args.chunk)
        n_sl = out.shape[0]
        print(f"FBP, {n_sl} slices in {args.blocks} blocks of {args.chunk}: {t_ours:.1f} s → "
              f"{t_ours / n_sl:.2f} s/slice; peak RSS {vm('VmHWM') / gib:.2f} GiB "
              f"(block in {nt * n * args.chunk * 4 / 2**20:.0f} MiB, block out "
              f"{args.chunk * n * n * 4 / 2**20:.0f} MiB)", flush=True)
        sino = np.ascontiguousarray(np.asarray(sub[:, :, 0]), dtype=np.float32)
        t_astra, ref = _astra("FBP", sino, tilts, n)
        yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
        disc = np.hypot(yy, xx) < n / 2 - 2
        err = np.linalg.norm((out[0] - ref)[disc]) / np.linalg.norm(ref[disc])
        print(f"ASTRA CPU FBP (strip, 1 core), one slice: {t_astra:.1f} s "
              f"(ASTRA/ours per slice {t_astra / (t_ours / n_sl):.1f}x); ours vs ASTRA "
              f"{err:.1e} inside the disc")
        print(f"whole volume ({n} slices), extrapolated: ours {t_ours / n_sl * n / 3600:.1f} h, "
              f"ASTRA {t_astra * n / 3600:.1f} h, on this machine")
    elif args.part == "sirt":
        k, its = args.sirt_slices, args.sirt_iterations
        sub = data[:, :, n // 2:n // 2 + k]
        t0, _ = _lazy(sub, tilts, "SIRT", k, 0)  # the set-up alone (row and column sums)
        t1, out = _lazy(sub, tilts, "SIRT", k, its)
        per = t1 / its / k  # the projector (and its sums) is cached from the first call
        print(f"SIRT, {k} slices: set-up {t0:.1f} s, {its} iterations {t1:.1f} s → "
              f"{per:.2f} s per iteration and slice; peak RSS {vm('VmHWM') / gib:.2f} GiB "
              f"(at start {base / gib:.2f} GiB; iterate {k * n * n * 4 / gib:.2f} GiB)",
              flush=True)
        sino = np.ascontiguousarray(np.asarray(sub[:, :, 0]), dtype=np.float32)
        t_astra, _ = _astra("SIRT", sino, tilts, n, 1)
        b = args.sirt_block
        print(f"ASTRA CPU SIRT (strip, 1 core), one iteration of one slice: {t_astra:.1f} s "
              f"(ASTRA/ours {t_astra / per:.1f}x)")
        print(f"EXTRAPOLATED SIRT-100 of a {b}-slice block on this machine: ours "
              f"{(t0 + per * 100 * b) / 3600:.1f} h, ASTRA {t_astra * 100 * b / 3600:.1f} h")
    else:  # sirt-memory (streamed into zarr) or sirt-memory-compute (into memory)
        b = args.sirt_block
        sub = data[:, :, n // 2 - b // 2:n // 2 + b // 2]
        stages = Stages()
        _traced(stages)
        streamed = args.part == "sirt-memory"
        out_store = Path(store).parent / "volume.zarr" if streamed else None
        t, _ = _lazy(sub, tilts, "SIRT", b, 0, store=out_store, stages=stages,
                     backend=args.backend)
        block, vol = nt * n * b * 4 / gib, b * n * n * 4 / gib
        print(f"SIRT of a {b}-slice block, iterations=0 (set-up, chunks, output), "
              f"{'streamed into a zarr store' if streamed else 'compute() into memory'}: "
              f"{t:.1f} s, peak RSS {vm('VmHWM') / gib:.2f} GiB against data {block:.2f} + "
              f"volume block {vol:.2f} + 1 = {block + vol + 1:.2f} GiB (at start "
              f"{base / gib:.2f} GiB)", flush=True)
        print(f"  peak RSS per stage (GiB): {stages.report()}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--tilts", type=int, default=151)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--sirt-slices", type=int, default=4)
    ap.add_argument("--sirt-iterations", type=int, default=2)
    ap.add_argument("--sirt-block", type=int, default=64)
    ap.add_argument("--parts", default="fbp,sirt,sirt-memory")  # also sirt-memory-compute
    ap.add_argument("--backend", default="auto", help="of the sirt-memory parts")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.part:
        part(args, args.store)
        return
    import dask
    import dask.array as da

    from etspy_widgets.engine.project import sparse_matrix_bytes

    n, nt = args.size, args.tilts
    tilts = np.linspace(-75, 75, nt)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    print(f"series {nt} × {n}² = {nt * n * n * 4 / 2**30:.1f} GiB; the sparse matrix would take "
          f"{sparse_matrix_bytes(nt, n, n) / 2**30:.1f} GiB")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        store = Path(tmp) / "series.zarr"
        blocks = [da.from_delayed(dask.delayed(projections)(tilts, n, x0, min(n, x0 + 64)),
                                  shape=(nt, n, min(n, x0 + 64) - x0), dtype=np.float32)
                  for x0 in range(0, n, 64)]
        t0 = time.perf_counter()
        da.concatenate(blocks, axis=2).rechunk((nt, n, 64)).to_zarr(str(store))
        print(f"written lazily to zarr in {time.perf_counter() - t0:.1f} s "
              f"(peak RSS so far {vm('VmHWM') / 2**30:.2f} GiB)", flush=True)
        for name in args.parts.split(","):
            print(f"--- {name} (own process)", flush=True)
            subprocess.run([sys.executable, __file__, *(argv or sys.argv[1:]), "--part",
                            name.strip(), "--store", str(store)], check=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
