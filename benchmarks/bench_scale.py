"""Scale-out: a 151 × 1024² series reconstructed in one process and on a two-worker
``LocalCluster``, with time and peak memory, and a projection to 4096².

Run: ``python benchmarks/bench_scale.py`` (about 10-15 minutes on 2 cores), or
``--size 512`` for a quick look. Sections:

1. *eager, threads*: ``load(zspy)`` into memory, ``stack.reconstruct("FBP")`` (all columns,
   Dask threads), the whole volume in memory, then saved.
2. *lazy, threads*: ``load(zspy, lazy=True)``, ``stack.reconstruct("FBP")`` gives a
   ``LazyRecStack``; ``rec.save("vol.zspy")`` computes and writes block by block.
3. *lazy, LocalCluster(2 workers × 1 thread, processes)*: the same, the blocks running on
   the workers; with two block sizes, to show the peak memory of a worker follows the
   block, not the volume.
4. *per-slice cost* of FBP and SIRT for the batched sparse projector and for ASTRA's
   matrix-free CPU projector (what ETSpy runs), and the projected time for a 4096² series
   on N workers from those figures (cost per slice ∝ n_tilts·ny², slices ∝ nx).

Every configuration runs in a fresh subprocess, so "peak RSS" is that process's own high
water mark (``VmHWM``); a worker's is read from the worker process the same way. Results
of the lazy and cluster runs are checked against the eager volume (max abs difference).
The load average is printed: the machine is shared, and all figures move together.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GIB = 1024**3


def vm(key: str) -> int:
    """A /proc/self/status field (VmHWM, VmRSS) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux clear_refs 5), so the peak is from now on."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def header(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


# -- the configurations, each run in its own process (python bench_scale.py --run ...) ------
def run_eager(src: str, out: str, method: str, iterations: int) -> dict:
    import etspy_widgets as etw

    reset_peak()
    t0 = time.perf_counter()
    stack = etw.load(src)
    t1 = time.perf_counter()
    rec = stack.reconstruct(method, iterations=iterations, show_progressbar=False, client=None)
    t2 = time.perf_counter()
    rec.save(out)
    t3 = time.perf_counter()
    return {"load_s": t1 - t0, "recon_s": t2 - t1, "save_s": t3 - t2, "total_s": t3 - t0,
            "peak": vm("VmHWM"), "volume_bytes": rec.data.nbytes,
            "stack_bytes": stack.data.nbytes}


def run_lazy(src: str, out: str, method: str, iterations: int, chunk: int,  # noqa: PLR0917
             workers: int) -> dict:
    import dask

    import etspy_widgets as etw

    client = cluster = None
    if workers:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
        client.run(reset_peak)
    else:
        dask.config.set(scheduler="threads")
    reset_peak()
    t0 = time.perf_counter()
    stack = etw.load(src, lazy=True)
    rec = stack.reconstruct(method, iterations=iterations, show_progressbar=False,
                            chunk_size=chunk)
    rec.save(out, chunks=(chunk, *rec.data.shape[1:]))
    total = time.perf_counter() - t0
    result = {"total_s": total, "peak": vm("VmHWM"), "chunk": chunk,
              "block_bytes": chunk * int(np.prod(rec.data.shape[1:])) * 4,
              "volume_bytes": int(np.prod(rec.data.shape)) * 4}
    if client is not None:
        peaks = client.run(lambda: vm("VmHWM"))
        result["worker_peaks"] = sorted(peaks.values())
        client.close()
        cluster.close()
    return result


def run_slice_cost(src: str, n_slices: int, iterations: int) -> dict:
    """Seconds per slice for FBP and per slice·iteration for SIRT, sparse vs ASTRA CPU."""
    import etspy_widgets as etw
    from etspy_widgets.engine.project import get_projector

    stack = etw.load(src, lazy=True)
    nx = stack.data.shape[2]
    cols = slice(nx // 2 - n_slices // 2, nx // 2 - n_slices // 2 + n_slices)
    sub = etw.TomoStack(np.asarray(stack.data[:, :, cols]), tilts=stack.tilt_values)
    out = {}
    reset_peak()
    rss0 = vm("VmRSS")
    t0 = time.perf_counter()
    proj = get_projector(sub.tilt_values, sub.data.shape[1], sub.data.shape[1], "sparse")
    out["matrix_build_s"] = time.perf_counter() - t0
    out["matrix_bytes"] = int(proj.nbytes)
    out["matrix_rss"] = vm("VmHWM") - rss0
    for backend in ("sparse", "astra"):
        n = n_slices if backend == "sparse" else max(2, n_slices // 8)
        s = sub.isig[:n, :] if backend == "astra" else sub
        t0 = time.perf_counter()
        s.reconstruct("FBP", show_progressbar=False, client=None, backend=backend, ncores=1)
        out[f"fbp_{backend}_s_per_slice"] = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        s.reconstruct("SIRT", iterations=iterations, show_progressbar=False, client=None,
                      backend=backend, ncores=1)
        out[f"sirt_{backend}_s_per_slice_iter"] = (time.perf_counter() - t0) / n / iterations
    return out


def child(argv: list[str]) -> None:
    kind, *args = argv
    if kind == "eager":
        res = run_eager(args[0], args[1], args[2], int(args[3]))
    elif kind == "lazy":
        res = run_lazy(args[0], args[1], args[2], int(args[3]), int(args[4]), int(args[5]))
    else:
        res = run_slice_cost(args[0], int(args[1]), int(args[2]))
    print("RESULT " + json.dumps(res), flush=True)


def spawn(*args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--run", *map(str, args)],
                          capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def make_series(folder: Path, size: int, n_tilts: int, columns: int | None) -> Path:
    import etspy_widgets as etw

    tilts = np.linspace(-75, 75, n_tilts)
    t0 = time.perf_counter()
    stack = etw.simulation.simulate_catalyst(size=size, n_particles=60, tilts=tilts).stack
    if columns:
        c0 = size // 2 - columns // 2
        stack = stack.isig[c0:c0 + columns, :]
    stack = etw.TomoStack(stack.data.astype(np.float32), tilts=tilts)
    path = stack.save(folder / f"series_{size}.zspy", chunks=(n_tilts, size, 32))
    print(f"simulated {stack.data.shape} float32 ({gib(stack.data.nbytes)}) in "
          f"{time.perf_counter() - t0:.1f} s -> {path.name}", flush=True)
    return path


def max_diff(a: Path, b: Path) -> float:
    import hyperspy.api as hs

    x, y = hs.load(a, lazy=True).data, hs.load(b, lazy=True).data
    return float(abs(x - y).max().compute())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tilts", type=int, default=151)
    parser.add_argument("--big", type=int, default=2048,
                        help="also a column subset of a size×size series of this size (0: no)")
    parser.add_argument("--big-columns", type=int, default=128)
    parser.add_argument("--big-workers", type=int, default=1,
                        help="workers for the big run (its sparse projector is ∝ n_tilts·ny² "
                             "per worker: ~10 GiB at 2048² × 151)")
    parser.add_argument("--run", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.run:
        child(args.run)
        return
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="etw-scale-"))
    try:
        scale(folder, args)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def scale(folder: Path, args) -> None:
    size, n_tilts = args.size, args.tilts
    header(f"{n_tilts} × {size}² series, FBP of every column")
    src = make_series(folder, size, n_tilts, None)
    eager = spawn("eager", src, folder / "eager.zspy", "FBP", 1)
    print(f"eager, threads:  recon {eager['recon_s']:.1f} s, total {eager['total_s']:.1f} s "
          f"(load {eager['load_s']:.1f}, save {eager['save_s']:.1f}); peak RSS "
          f"{gib(eager['peak'])} (stack {gib(eager['stack_bytes'])}, volume "
          f"{gib(eager['volume_bytes'])})", flush=True)
    rows = []
    for workers, chunk in ((0, 32), (2, 16), (2, 64)):
        out = folder / f"lazy_{workers}_{chunk}.zspy"
        res = spawn("lazy", src, out, "FBP", 1, chunk, workers)
        diff = max_diff(out, folder / "eager.zspy")
        where = "threads" if not workers else f"LocalCluster {workers}×1"
        per_worker = (", worker peaks " + ", ".join(gib(p) for p in res["worker_peaks"])
                      if workers else "")
        print(f"lazy → zspy, {where}, blocks of {chunk} ({gib(res['block_bytes'])} out): "
              f"total {res['total_s']:.1f} s; client peak RSS {gib(res['peak'])}{per_worker}; "
              f"max |Δ| vs eager {diff:.2g}", flush=True)
        rows.append((workers, chunk, res))
        _rm(out)
    _rm(folder / "eager.zspy")

    header(f"per-slice cost at {size}² ({n_tilts} tilts), one core")
    cost = spawn("cost", src, 32, 10)
    print(json.dumps(cost, indent=1), flush=True)
    _rm(src)

    big_cost = None
    if args.big:
        nw = args.big_workers
        header(f"{n_tilts} × {args.big}², {args.big_columns} central columns "
               f"(lazy, {nw} worker{'s' if nw > 1 else ''})")
        big = make_series(folder, args.big, n_tilts, args.big_columns)
        res = spawn("lazy", big, folder / "big.zspy", "FBP", 1, 16, nw)
        print(f"total {res['total_s']:.1f} s for {args.big_columns} slices "
              f"({res['total_s'] / args.big_columns * nw:.2f} worker·s per slice incl. matrix "
              f"build); worker peaks " + ", ".join(gib(p) for p in res["worker_peaks"]),
              flush=True)
        big_cost = spawn("cost", big, 16, 5)
        print(json.dumps(big_cost, indent=1), flush=True)

    # project from the largest size measured (per-slice costs grow faster than ny² once the
    # matrix leaves the caches: 1024² → 2048² cost 7.5-9× rather than 4×)
    ref_size, ref = (args.big, big_cost) if args.big else (size, cost)
    header(f"projection: 4096² × 151 tilts, 4096 slices (from the {ref_size}² figures)")
    factor = (4096 / ref_size) ** 2 * 151 / n_tilts
    for name, key in (("FBP (sparse)", "fbp_sparse_s_per_slice"),
                      ("FBP (ASTRA CPU)", "fbp_astra_s_per_slice"),
                      ("SIRT-100 (sparse)", "sirt_sparse_s_per_slice_iter"),
                      ("SIRT-100 (ASTRA CPU)", "sirt_astra_s_per_slice_iter")):
        per = ref[key] * factor * (100 if "SIRT" in name else 1)
        cells = ", ".join(f"{n} workers {per * 4096 / n / 3600:.2f} h" for n in (1, 2, 16, 64))
        print(f"{name}: {per:.2f} s/slice → {cells}", flush=True)
    matrix = ref["matrix_bytes"] * factor
    print(f"sparse projector at 4096²: ≈ {gib(matrix)} per worker (∝ n_tilts·ny²): beyond a "
          "typical worker, so 4096² runs matrix-free (ASTRA CPU/CUDA) or binned ×2 first",
          flush=True)


def _rm(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


if __name__ == "__main__":
    main()
