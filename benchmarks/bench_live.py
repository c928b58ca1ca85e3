"""Live tomography: per-projection latency, offline equality, memory over a long run.

1. Latency: a simulated acquisition writes ``--n`` projections of ``--size``² (default 151 ×
   1024², ±75°, dose-symmetric, one every ``--interval`` s, SerialEM-style temporary name +
   rename + growing ``.mdoc``) while ``etw.watch`` follows the folder. For each file: the time
   from its rename (complete) to the callback that has it registered to its neighbour and
   the three live slices and the volume's orthoslices updated. Baseline measured in the same
   run: recomputing the three slices from scratch from the whole aligned series (what each
   update would cost without the running sums).
2. Equality: after the last file, ``watch.result()`` against ``etw.replay(watch.code)``
   (offline ``load`` + the same steps on the same files).
3. Memory: ``--memory-n`` projections (default 600 of 128², a 2-hour series at 12 s each)
   written one every ``--memory-interval`` s (0.05); the process RSS (psutil) against the
   projections' own bytes.

    python benchmarks/bench_live.py                 # the figures of docs/live.md
    python benchmarks/bench_live.py --quick         # 41 × 256², 200 × 64² (a smoke run)
    python benchmarks/bench_live.py --only memory   # part 3 alone, in a clean process
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import etspy_widgets as etw
from etspy_widgets import live
from etspy_widgets.engine import simulation
from etspy_widgets.engine.recon import reconstruct_slices

WATCH_KW: dict = {}  # --no-freeze-gc sets freeze_gc=False


def pct(values, q):
    return float(np.percentile(np.asarray(values), q))


def simulate(size, n):
    tilts = np.linspace(-75, 75, n)
    t0 = time.perf_counter()
    stack = simulation.simulate_catalyst(size=size, n_particles=30, tilts=tilts,
                                         misalign=True, minshift=-3, maxshift=3,
                                         noise=True, noise_factor=0.05, seed=1).stack
    return stack, time.perf_counter() - t0


def latency(folder: Path, size: int, n: int, interval: float):
    stack, t_sim = simulate(size, n)
    print(f"simulated {n} × {size}² in {t_sim:.1f} s")
    done = {}

    def on_event(event):
        done[event.name] = (time.time(), event.live)

    acq = live.Acquisition(folder, stack, "dose-symmetric", interval)
    folder.mkdir(parents=True, exist_ok=True)
    watcher = live.watch(folder, pattern="*.mrc", tilts="mdoc", settle=0, poll=0.05,
                         expected=n, callback=on_event, **WATCH_KW)
    watcher.ready.wait(120)  # the back projector is compiled before the first file
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    try:
        acq.start()
        acq.join(n * interval + 600)
        ok = watcher.wait(600)
    finally:
        acq.stop()
        watcher.stop()
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    assert ok, watcher.status()
    lat = [done[w.path.name][0] - w.complete for w in acq.written]
    frames = [done[w.path.name][1] for w in acq.written]
    update = [f.seconds for f in frames]
    reg = [f.timings["register"] for f in frames]
    qual = [f.timings.get("quality", 0.0) for f in frames]
    bp = [f.timings["backproject"] for f in frames]
    late = sum(v > 1.0 for v in lat)
    print("latency of each file, in arrival order (s):", " ".join(f"{v:.2f}" for v in lat))
    print(f"\n== 1. latency: {n} projections of {size}², one every {interval:g} s "
          f"({wall:.0f} s), {psutil.cpu_count()} cores, load average "
          f"{load0[0]:.1f} before / {load1[0]:.1f} after ==")
    print(f"file complete -> registered + 3 slices + orthoslices shown: p50 "
          f"{pct(lat, 50):.3f} s, p95 {pct(lat, 95):.3f} s, max {max(lat):.3f} s; "
          f"{late} of {n} over 1 s")
    print(f"  of which the update itself: p50 {pct(update, 50):.3f} s, p95 {pct(update, 95):.3f}"
          f" s, max {max(update):.3f} s (registration p50 {pct(reg, 50):.3f} s, quality strip "
          f"p50 {pct(qual, 50):.3f} s, back projection p50 {pct(bp, 50):.3f} s)")
    print(f"  gc.freeze in the watcher: {watcher.freeze_gc}; projections the live strip "
          f"flags at the end: {watcher.live.flags or 'none'}")
    aligned, exact = watcher.result()
    t1 = time.perf_counter()
    reconstruct_slices(aligned.data[:, :, watcher.live.slices], aligned.tilt_values, "FBP",
                       kernel="pixel", ncores=2)
    full = time.perf_counter() - t1
    print(f"baseline: the 3 slices recomputed from all {n} projections: {full:.3f} s "
          f"(running sums: {pct(bp, 50):.3f} s per projection, {full / pct(bp, 50):.0f}× less)")
    return watcher, aligned, exact


def equality(watcher, aligned, exact):
    t0 = time.perf_counter()
    ref = etw.replay(watcher.code).namespace["stack"]
    t_off = time.perf_counter() - t0
    same_raw = np.array_equal(watcher.stack.data, etw.load(
        [str(p) for p in watcher.files], tilts=watcher.tilts).data)
    same_shifts = np.array_equal(watcher.live.shifts, ref.shift_values)
    same_aligned = np.array_equal(aligned.data, ref.data)
    off = reconstruct_slices(ref.data[:, :, watcher.live.slices], ref.tilt_values, "FBP",
                             kernel="pixel")
    same_slices = np.array_equal(exact, off)
    preview = np.abs(watcher.live.slice_images - off).max() / np.abs(off).max()
    print("\n== 2. after the last file: live vs offline (etw.replay(watch.code), "
          f"{t_off:.1f} s) ==")
    print(f"raw stack equal: {same_raw}; shifts equal: {same_shifts}; aligned stack equal: "
          f"{same_aligned}; slices equal: {same_slices}")
    print(f"running-sum preview vs exact slices: max |diff| / max = {preview:.2e}")


def memory(folder: Path, size: int, n: int, interval: float):
    stack, _ = simulate(size, n)
    proc = psutil.Process()
    samples = []
    every = max(1, n // 12)

    def on_event(event):
        last = samples[-1][0] if samples else -every
        if event.count >= last + every or (event.count == n and last != n):
            samples.append((event.count, proc.memory_info().rss))

    acq = live.Acquisition(folder, stack, "dose-symmetric", interval)
    folder.mkdir(parents=True, exist_ok=True)
    rss0 = proc.memory_info().rss
    watcher = live.watch(folder, tilts="mdoc", settle=0, poll=0.01, expected=n,
                         callback=on_event, **WATCH_KW)
    t0 = time.perf_counter()
    try:
        acq.start()
        acq.join(1200)
        assert watcher.wait(1200), watcher.status()
    finally:
        acq.stop()
        watcher.stop()
    wall = time.perf_counter() - t0
    per = stack.data[0].nbytes
    print(f"\n== 3. memory: {n} projections of {size}², one every {interval:g} s ({wall:.0f} s) "
          "==")
    print(f"RSS before the watcher: {rss0 / 2**20:.0f} MiB (holds the simulated series, "
          f"{stack.data.nbytes / 2**20:.0f} MiB)")
    print("  n    RSS MiB   projections MiB   RSS - projections MiB")
    for count, rss in samples:
        print(f"{count:4d}  {rss / 2**20:8.0f}  {count * per / 2**20:16.1f}  "
              f"{(rss - count * per) / 2**20:22.0f}")
    extra = [(rss - c * per) / 2**20 for c, rss in samples]
    half = len(extra) // 2
    print(f"growth beyond the projections from n={samples[half][0]} to n={samples[-1][0]}: "
          f"{extra[-1] - extra[half]:+.0f} MiB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--n", type=int, default=151)
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--memory-n", type=int, default=600)
    parser.add_argument("--memory-size", type=int, default=128)
    parser.add_argument("--memory-interval", type=float, default=0.05)
    parser.add_argument("--only", choices=("latency", "memory"), help="run one part only "
                        "(memory alone starts from a clean process)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-freeze-gc", action="store_true",
                        help="the watcher leaves the garbage collector as it is")
    args = parser.parse_args(argv)
    if args.no_freeze_gc:
        WATCH_KW["freeze_gc"] = False
    if args.quick:
        args.size, args.n, args.interval, args.memory_n, args.memory_size = 256, 41, 0.3, 200, 64
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "memory":
            watcher, aligned, exact = latency(Path(tmp) / "latency", args.size, args.n,
                                              args.interval)
            equality(watcher, aligned, exact)
            del watcher, aligned, exact
        if args.only != "latency":
            memory(Path(tmp) / "memory", args.memory_size, args.memory_n,
                   args.memory_interval)


if __name__ == "__main__":
    main()
