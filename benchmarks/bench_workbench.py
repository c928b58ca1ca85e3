"""Workbench responsiveness: a slider value arriving in Python → three slice images sent.

For each size, the value is set exactly as a comm message from the browser sets it
(``widget.set_state``) and the clock stops when the new ``slices_frame`` (three
display-sized uint8 images + metadata) has been assigned to the trait, i.e. handed
to the kernel's comm for sending. Measured while dragging (``dragging=True``: large
stacks are previewed on a binned copy) and settled (full resolution), and compared
with the ETSpy way of doing the same in this process (transform the whole stack,
then reconstruct the three slices), run in the same invocation.

Usage::

    python benchmarks/bench_workbench.py            # 77 × 256² and 151 × 1024²
    python benchmarks/bench_workbench.py --quick    # 77 × 256² only
    python benchmarks/bench_workbench.py --browser  # also the browser p50/p95 (Chromium)
    python benchmarks/bench_workbench.py --quality  # also: a step → the quality strip updated

``--quality`` times, after a step (remove one projection), the automatic quality report
from the step's end to the strip updated (``wb.timings``' "quality"), and the slider while
it runs (the frames still come: the report is on its own thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import etspy_widgets as etw
from etspy_widgets.engine.align import default_slices, reconstruct_sinograms
from etspy_widgets.engine.simulation import simulate_needle
from etspy_widgets.engine.transform import rotate_shift_stack

ROOT = Path(__file__).resolve().parents[1]


def make_stack(n_tilts: int, size: int):
    tilts = np.linspace(-76, 76, n_tilts)
    return simulate_needle(size=size, tilts=tilts, misalign=True, seed=0, tiltshift=2.0,
                           tiltrotate=1.0).stack


def time_slider(wb, values, dragging: bool, settle: bool = True) -> list[float]:
    """Seconds from set_state(tilt_shift=v) to the frame for v being assigned (``settle``:
    and all pending work done before the next value)."""
    got = threading.Event()
    target = {"v": None}

    def on_frame(change):
        if change["new"].get("tilt_shift") == target["v"]:
            got.set()

    wb.observe(on_frame, "slices_frame")
    wb.set_state({"dragging": dragging})
    if settle:
        wb.wait()
    else:
        wb._live.wait()
    out = []
    for v in values:
        target["v"] = float(v)
        got.clear()
        start = time.perf_counter()
        wb.set_state({"tilt_shift": float(v)})
        if not got.wait(60):
            raise TimeoutError(f"no frame within 60 s: {wb.error} {wb.last_traceback}")
        out.append(time.perf_counter() - start)
        if settle:
            wb.wait()
        else:
            wb._live.wait()
    wb.unobserve(on_frame, "slices_frame")
    return out


def baseline(stack, shift, rot, slices, repeats: int) -> list[float]:
    """ETSpy's test_align structure: transform the whole stack, reconstruct 3 columns."""
    data, tilts = np.asarray(stack.data), stack.tilt_values
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        moved = rotate_shift_stack(data, rot, shift, 0.0, order=1)
        sino = np.ascontiguousarray(moved[:, :, slices].transpose(2, 0, 1))
        reconstruct_sinograms(sino, tilts, thickness=None, method="FBP")
        out.append(time.perf_counter() - start)
    return out


def fmt(samples) -> str:
    ms = [1000 * s for s in samples]
    return (f"median {statistics.median(ms):7.1f} ms  p90 {np.percentile(ms, 90):7.1f} ms  "
            f"(n={len(ms)})")


def run_size(n_tilts: int, size: int, target_ms: float, repeats: int) -> dict:
    t0 = time.perf_counter()
    stack = make_stack(n_tilts, size)
    print(f"\n== {n_tilts} × {size}² (simulated needle, {time.perf_counter() - t0:.1f} s to "
          f"build) — target ≤ {target_ms:.0f} ms median while dragging")
    t0 = time.perf_counter()
    wb = etw.AlignmentWorkbench(stack)
    wb.wait()
    first = time.perf_counter() - t0  # includes the slice projector's one-time set-up
    values = np.round(np.linspace(-3.0, 3.0, repeats), 3)
    drag = time_slider(wb, values, dragging=True)
    level = wb.slices_frame.get("level")
    settled = time_slider(wb, values[: max(3, repeats // 3)] + 0.05, dragging=False)
    slices = default_slices(size)
    base = baseline(stack, 1.5, 0.5, slices, 3 if size <= 512 else 2)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  (1-minute load average {load:.1f} on {os.cpu_count()} cores)")
    print(f"  workbench, first frame (built, first slices sent): {1000 * first:7.1f} ms")
    print(f"  workbench, dragging ({level} level):  {fmt(drag)}")
    print(f"  workbench, settled (full resolution): {fmt(settled)}")
    print(f"  baseline (ETSpy way, whole-stack transform + 3-slice FBP): {fmt(base)}")
    ratio = statistics.median(base) / statistics.median(drag)
    verdict = "meets" if 1000 * statistics.median(drag) <= target_ms else "MISSES"
    print(f"  → dragging is {ratio:.1f}× faster than the baseline; {verdict} the target")
    wb.shutdown()
    return {"drag": drag, "settled": settled, "baseline": base, "first": first}


def quality_refresh(n_tilts: int, size: int, target_s: float, steps: int = 5) -> list[float]:
    """Seconds from a step's end to the quality strip updated (``steps`` steps, each
    removing one projection), with the slider dragged meanwhile (its frame times printed);
    the baseline is the engine's ``stack.quality(resolution=False, record=False)`` alone on
    the same stack, in the same process, with nothing else running."""
    stack = make_stack(n_tilts, size)
    wb = etw.AlignmentWorkbench(stack)
    wb.wait()
    wb.judge()  # the first report (a new workbench judges on Judge only)
    wb.wait()
    seconds, observed, during, judging = [], [], [], 0
    stamps = {}
    # an independent clock: the stack shown changes (``stack_shape``, the first trait a
    # step sets) → the strip's trait is assigned (handed to the comm)
    wb.observe(lambda _: stamps.setdefault("step", time.perf_counter()), "stack_shape")
    wb.observe(lambda ch: ch["new"] and stamps.setdefault("strip", time.perf_counter()),
               "quality")  # (a step first empties it: the report no longer fits)
    for k in range(steps):
        values = np.round(np.linspace(-2.0, 2.0, 10) + 0.01 * k, 3)
        wb.timings.clear()  # (a list capped at 200 entries)
        stamps.clear()
        wb.remove_projection(0)  # returns when the step is done; the report starts then
        during += time_slider(wb, values, dragging=True, settle=False)
        judging += wb.quality_note.startswith("Judging")
        wb.wait()
        new = [s for what, s in list(wb.timings) if what == "quality"]
        seconds.append(new[-1] if new else float("nan"))
        observed.append(stamps.get("strip", np.nan) - stamps.get("step", np.nan))
    alone = []
    for _ in range(max(2, steps // 2)):
        t0 = time.perf_counter()
        wb.stack.quality(resolution=False, record=False)
        alone.append(time.perf_counter() - t0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    p50, p95 = statistics.median(seconds), float(np.percentile(seconds, 95))
    verdict = "meets" if p95 <= target_s else "MISSES"
    print(f"\n== quality strip after a step, {n_tilts} × {size}² (load {load:.1f}): from the "
          f"step's end to the strip updated p50 {p50:.2f} s, p95 {p95:.2f} s (n={steps}) — "
          f"{verdict} ≤ {target_s:.0f} s")
    print(f"  the same by the traits' clock (stack shown changed → strip assigned): p50 "
          f"{statistics.median(observed):.2f} s, p95 {float(np.percentile(observed, 95)):.2f} s")
    print(f"  baseline, stack.quality(resolution=False) alone: median "
          f"{statistics.median(alone):.2f} s (n={len(alone)})")
    print(f"  slider while the report ran (still judging after the drags in {judging} of "
          f"{steps} steps): {fmt(during)}")
    print(f"  strip: {len(wb.quality.get('residual', []))} projections, "
          f"{len(wb.quality.get('flagged', []))} flagged; {wb.quality_note}")
    wb.shutdown()
    return seconds


def browser_latency(size: int, moves: int = 30) -> dict | None:
    """Browser p50/p95: slider drag → redrawn slices, tilt change → redrawn projection
    (the browser test's measurements, ``moves`` events each)."""
    out = Path(tempfile.mkdtemp()) / "latency.json"
    env = dict(os.environ, ETW_BROWSER_LATENCY_OUT=str(out), ETW_BROWSER_SIZE=str(size),
               ETW_BROWSER_MOVES=str(moves))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           str(ROOT / "tests/browser/test_workbench_browser.py"), "-k", "latency", "-s"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False,
                          cwd=ROOT)
    for ln in proc.stdout.splitlines():
        if ln.strip().startswith("browser "):
            print("  " + ln.strip())
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        return None
    return json.loads(out.read_text()) if out.exists() else None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="77 × 256² only")
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    parser.add_argument("--quality", action="store_true",
                        help="also time the quality strip's refresh after a step")
    parser.add_argument("--no-slider", action="store_true",
                        help="skip the Python slider figures (with --browser or --quality)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quality-steps", type=int, default=5,
                        help="steps timed for --quality (p50/p95 over them)")
    args = parser.parse_args(argv)
    print(f"etspy-widgets workbench benchmark, {os.cpu_count()} CPU cores")
    if not args.no_slider:
        run_size(77, 256, 60.0, args.repeats)
        if not args.quick:
            run_size(151, 1024, 250.0, max(10, args.repeats // 2))
    if args.quality:
        quality_refresh(77, 256, 2.0, args.quality_steps)
        if not args.quick:
            quality_refresh(151, 1024, 30.0, args.quality_steps)
    if args.browser:
        print("\n== browser (JupyterLab + Chromium): slider drag → redrawn slices (targets p95 "
              "≤ 100 ms at 256², ≤ 250 ms at 1024²), tilt change → redrawn projection (p95 ≤ "
              "50 ms at 1024²)")
        targets = {256: {"drag": 100.0}, 1024: {"drag": 250.0, "tilt": 50.0}}
        for size in (256,) if args.quick else (256, 1024):
            figures = browser_latency(size)
            if not figures:
                print(f"  {size}²: failed")
                continue
            for key, fig in figures.items():
                target = targets[size].get(key)
                verdict = "" if target is None else (
                    f" — {'meets' if fig['p95'] <= target else 'MISSES'} p95 ≤ {target:.0f} ms")
                print(f"  {size}² {key}: p50 {fig['p50']:.1f} ms, p95 {fig['p95']:.1f} ms "
                      f"(n={fig['n']}){verdict}")


if __name__ == "__main__":
    main()
