"""Alignment benchmark: accuracy, time and peak memory per method, side by side with ETSpy.

Run from the repository root::

    python benchmarks/bench_align.py                      # everything, 600 px catalyst
    python benchmarks/bench_align.py --parts register --size 256 --no-etspy

Parts
-----
register  simulated catalyst (90 × size², 0..178°, ±5 px uniform jitter, seed 0), without
          and with the dataset's default noise; every method of ours and of ETSpy 1.3.0
          (``/opt/etspy-venv/bin/python``, run on the same .npy in a subprocess).
          Error: RMS (px) of the per-projection misalignment left in the OUTPUT stack,
          measured against the unmisaligned projections by sub-pixel cross-correlation of
          the central 70 %, after removing a common offset ("common"), and also after
          removing a rigid translation of the object ("rigid-free": c + a cos θ + b sin θ
          across the axis, a constant along it, which moves a reconstruction but does not
          blur it). Peak memory: the process's peak RSS (VmHWM, reset just before loading
          the data) minus its RSS then, in units of the stack size: input, output and
          every temporary of the step.
tilt      the same catalyst with a 2° rotation and a 3 px axis shift applied (no jitter):
          CoM and MaxImage (+ our offset search), errors against the applied values.
latency   test_align_slices: three 256-wide slices of a 77-projection stack, FBP.
pm        off-axis rod (simulate_rod, 256 px): pairwise methods vs projection matching.
pc        stack_register("PC") on ETSpy's real catalyst binned to 300², ours vs ETSpy's
          (median of --repeats alternating runs), shifts compared; and on a simulated
          300² catalyst against the known shifts.
pmcat     PC vs PM end to end on a 256² simulated catalyst (±5 px jitter; --scenarios
          noise0.5, gap (tilts 70..108 missing), noise1.0; --seeds): shift error against
          the truth (rigid-free) and
          the NRMSE of a SIRT-50 reconstruction of 12 slices against the truth volume, the
          gauge (a rigid translation) taken from the truth; time of each method.
gauge     the unmisaligned catalyst registered: the floor of the "common" error (the
          object's centre of mass is off the axis; our methods put it on the axis).

Every timing is wall-clock on this machine, whose 2 cores are shared with other jobs:
compare the ratios measured in the same invocation rather than absolute times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ETSPY_PY = "/opt/etspy-venv/bin/python"
ROOT = Path(__file__).resolve().parents[1]

RUNNER = r'''
import json, sys, time
import numpy as np
impl, method, folder = sys.argv[1], sys.argv[2], sys.argv[3]
kwargs = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
if impl == "ours":
    sys.path.insert(0, sys.argv[5])
    from etspy_widgets import TomoStack
else:
    from etspy.base import TomoStack
import logging; logging.disable(logging.CRITICAL)


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


# reset the peak-RSS mark (Linux: clear_refs 5), so VmHWM is the peak from here on
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
rss0 = status("VmRSS")
data = np.load(folder + "/data.npy")
tilts = np.load(folder + "/tilts.npy")
stack = TomoStack(data, tilts=tilts)
t0 = time.perf_counter()
if method.startswith("tilt:"):
    out = stack.tilt_align(method[5:], **kwargs)
else:
    out = stack.stack_register(method, **kwargs)
elapsed = time.perf_counter() - t0
peak = status("VmHWM")
md = out.metadata.Tomography
np.save(folder + "/out.npy", np.asarray(out.data, dtype=np.float32))
sh = out.shift_values if impl == "ours" else out.shifts.data
np.save(folder + "/shifts.npy", np.asarray(sh, dtype=np.float64).reshape(-1, 2))
print(json.dumps({"time": elapsed, "peak_bytes": peak - rss0, "nbytes": data.nbytes,
                  "tiltaxis": float(md.get_item("tiltaxis", 0) or 0),
                  "yshift": float(md.get_item("yshift", 0) or 0),
                  "shape": list(out.data.shape)}))
'''


def run(impl: str, method: str, folder: Path, **kwargs) -> dict:
    exe = sys.executable if impl == "ours" else ETSPY_PY
    cmd = [exe, str(folder / "runner.py"), impl, method, str(folder), json.dumps(kwargs),
           str(ROOT)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["out"] = np.load(folder / "out.npy")
    res["shifts"] = np.load(folder / "shifts.npy")
    return res


def residual(aligned, truth, tilts, margin=0.15):
    """(common, rigid-free) RMS in pixels of what misalignment remains in ``aligned``."""
    from skimage.registration import phase_cross_correlation

    if aligned.shape != truth.shape:
        return float("nan"), float("nan")
    n, ny, nx = truth.shape
    sl = np.s_[int(margin * ny):ny - int(margin * ny), int(margin * nx):nx - int(margin * nx)]
    d = np.array([phase_cross_correlation(truth[i][sl], aligned[i][sl], upsample_factor=100,
                                          normalization=None)[0] for i in range(n)])
    common = d - d.mean(0)
    th = np.deg2rad(tilts)
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    rigid = d.copy()
    rigid[:, 0] -= basis @ np.linalg.lstsq(basis, d[:, 0], rcond=None)[0]
    rigid[:, 1] -= d[:, 1].mean()
    rms = lambda e: float(np.sqrt(np.mean(np.sum(e**2, axis=1))))  # noqa: E731
    return rms(common), rms(rigid)


def _prepare(folder: Path, data, tilts):
    np.save(folder / "data.npy", np.asarray(data, dtype=np.float32))
    np.save(folder / "tilts.npy", np.asarray(tilts, dtype=np.float64))
    (folder / "runner.py").write_text(RUNNER)


def part_register(args, folder):
    from etspy_widgets.engine.simulation import simulate_catalyst

    print(f"\n== stack_register: simulated catalyst 90 x {args.size}^2, ±5 px jitter ==")
    print(f"{'noise':6} {'method':9} {'impl':6} {'common px':>9} {'rigid-free':>10} "
          f"{'time s':>7} {'peak/stack':>10}")
    for noise in (False, True):
        sim = simulate_catalyst(size=args.size, misalign=True, seed=0, noise=noise)
        _prepare(folder, sim.stack.data, sim.tilts)
        for method in args.methods:
            for impl in ("ours", "etspy") if args.etspy else ("ours",):
                if impl == "etspy" and method == "PM":
                    continue
                kw = {"levels": [8, 4], "iterations": 3} if method == "PM" else {}
                res = run(impl, method, folder, **kw)
                if "error" in res:
                    print(f"{noise!s:6} {method:9} {impl:6} ERROR {res['error']}")
                    continue
                common, rigid = residual(res["out"], sim.aligned, sim.tilts)
                ratio = res["peak_bytes"] / res["nbytes"]
                print(f"{noise!s:6} {method:9} {impl:6} {common:9.3f} {rigid:10.3f} "
                      f"{res['time']:7.1f} {ratio:10.2f}", flush=True)


def shift_error(found, truth, tilts):
    """(common, rigid-free) RMS in pixels of ``found - truth`` (both shifts to apply)."""
    d = np.asarray(found, np.float64) - np.asarray(truth, np.float64)
    th = np.deg2rad(tilts)
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    common = d - d.mean(0)
    rigid = d.copy()
    rigid[:, 0] -= basis @ np.linalg.lstsq(basis, d[:, 0], rcond=None)[0]
    rigid[:, 1] -= d[:, 1].mean()
    rms = lambda e: float(np.sqrt(np.mean(np.sum(e**2, axis=1))))  # noqa: E731
    return rms(common), rms(rigid)


def _timed_pair(folder, method, repeats, kw_ours=None):
    """Ours and ETSpy's ``stack_register(method)`` alternately, ``repeats`` times each."""
    runs = {"ours": [], "etspy": []}
    for _ in range(repeats):
        for impl in ("ours", "etspy"):
            res = run(impl, method, folder, **((kw_ours or {}) if impl == "ours" else {}))
            if "error" in res:
                raise RuntimeError(f"{impl} {method}: {res['error']}")
            runs[impl].append(res)
    return runs


def part_pc(args, folder):
    """``stack_register("PC")``: ETSpy's real catalyst binned to 300², ours vs ETSpy's.

    Time: median of ``--repeats`` alternating runs of each (each in its own process, the
    load excluded, the shifting of the stack included). Shifts: ours against ETSpy's on the
    real data (no truth there), and both against the truth on a simulated catalyst of the
    same size with known ±5 px jitter.
    """
    import hyperspy.api as hs

    from etspy_widgets.engine.simulation import simulate_catalyst
    from etspy_widgets.engine.transform import bin_stack

    path = ROOT.parent / "shared/data/etspy-testdata/Catalyst3DModel_TiltSeries180.hspy"
    if not path.exists():
        path = Path("/work/shared/data/etspy-testdata/Catalyst3DModel_TiltSeries180.hspy")
    sig = hs.load(path)
    raw = np.asarray(sig.data, dtype=np.float32)
    tilts = np.arange(raw.shape[0]) * 2.0  # the dataset's 0..178° in steps of 2
    data = bin_stack(raw, 2)
    print(f"\n== stack_register('PC'): real catalyst {raw.shape} binned to {data.shape} ==")
    _prepare(folder, data, tilts)
    runs = _timed_pair(folder, "PC", args.repeats)
    t_ours = float(np.median([r["time"] for r in runs["ours"]]))
    t_et = float(np.median([r["time"] for r in runs["etspy"]]))
    print(f"time (median of {args.repeats}): ours {t_ours:.3f} s, ETSpy {t_et:.3f} s, "
          f"ratio ours/ETSpy {t_ours / t_et:.2f}  (all: ours "
          f"{[round(r['time'], 3) for r in runs['ours']]}, ETSpy "
          f"{[round(r['time'], 3) for r in runs['etspy']]})")
    ours, et = runs["ours"][0]["shifts"], runs["etspy"][0]["shifts"]
    c, r = shift_error(ours, et, tilts)
    print(f"ours vs ETSpy's shifts: common {c:.3f} px, rigid-free {r:.3f} px "
          f"(largest ETSpy shift {np.abs(et).max():.2f} px)")
    sim = simulate_catalyst(size=data.shape[1], misalign=True, seed=0)
    truth = -sim.shifts  # the correction to apply
    print(f"simulated catalyst 90 x {data.shape[1]}^2, ±5 px jitter: shifts against the truth")
    print(f"{'noise':6} {'impl':6} {'common px':>9} {'rigid-free':>10} {'time s':>7}")
    for noise in (False, True):
        sim = simulate_catalyst(size=data.shape[1], misalign=True, seed=0, noise=noise)
        _prepare(folder, sim.stack.data, sim.tilts)
        for impl in ("ours", "etspy"):
            res = run(impl, "PC", folder)
            c, r = shift_error(res["shifts"], truth, sim.tilts)
            print(f"{noise!s:6} {impl:6} {c:9.3f} {r:10.3f} {res['time']:7.2f}", flush=True)


def gauge_fixed(found, truth, tilts):
    """``found`` with the rigid-translation part of ``found - truth`` removed (that part only
    moves the reconstruction; taking it from the truth puts it where the truth volume is)."""
    d = np.asarray(found, np.float64) - np.asarray(truth, np.float64)
    th = np.deg2rad(tilts)
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    fixed = np.asarray(found, np.float64).copy()
    fixed[:, 0] -= basis @ np.linalg.lstsq(basis, d[:, 0], rcond=None)[0]
    fixed[:, 1] -= d[:, 1].mean()
    return fixed


def part_pmcat(args, folder):
    """PC against PM end to end: 90 × size² simulated catalysts, ±5 px jitter.

    Scenarios: ``noise0.5`` (gaussian noise factor 0.5), ``gap`` (no noise, the tilts
    70..108° missing: the pairwise chain has to jump 40°), ``noise1.0``. For each seed:
    our ``PC``, our ``PM`` (from COM-CL, the defaults) and ETSpy's ``PC`` on the same
    series; the shift error against the truth (rigid-free), then SIRT-50 of 12 slices with
    the shifts found (gauge taken from the truth) against the truth volume (NRMSE); the
    same with the true shifts (the floor).
    """
    from etspy_widgets.engine.align import compute_shifts
    from etspy_widgets.engine.recon import reconstruct_slices
    from etspy_widgets.engine.simulation import simulate_catalyst
    from etspy_widgets.engine.transform import fourier_shift_stack

    size = args.pm_size
    gap = np.r_[np.arange(0, 70, 2.0), np.arange(110, 180, 2.0)]
    scenarios = {"noise0.5": {"noise": True, "noise_factor": 0.5},
                 "gap": {"tilts": gap},
                 "noise1.0": {"noise": True, "noise_factor": 1.0}}
    names = args.scenarios.split(",")
    print(f"\n== PC vs PM end to end: catalyst {size}^2, ±5 px jitter, scenarios {names}, "
          f"seeds 0..{args.seeds - 1} ==")
    print(f"{'scenario':9} {'seed':4} {'method':9} {'shift err px':>12} {'SIRT NRMSE':>10} "
          f"{'time s':>7}")
    xs = np.linspace(size * 0.3, size * 0.7, 12).astype(int)
    vol_truth = None
    summary: dict = {}
    for name in names:
        for seed in range(args.seeds):
            sim = simulate_catalyst(size=size, misalign=True, seed=seed, **scenarios[name])
            data, tilts = np.asarray(sim.stack.data, np.float32), sim.tilts
            truth = -sim.shifts
            if vol_truth is None:
                vol_truth = sim.volume_slices(xs)  # the same phantom in every scenario

            def score(shifts, data=data, tilts=tilts, truth=truth, vol_truth=vol_truth):
                fixed = gauge_fixed(shifts, truth, tilts)
                moved = fourier_shift_stack(data, fixed)
                rec = reconstruct_slices(np.ascontiguousarray(moved[:, :, xs]), tilts, "SIRT",
                                         iterations=50, constrain=True)
                err = float(np.linalg.norm(rec - vol_truth) / np.linalg.norm(vol_truth))
                return shift_error(shifts, truth, tilts)[1], err

            rows = [("truth", truth, float("nan"))]
            for method in ("PC", "PM"):
                t0 = time.perf_counter()
                shifts = compute_shifts(data, tilts, method)
                rows.append((method, shifts, time.perf_counter() - t0))
            if args.etspy:
                _prepare(folder, data, tilts)
                res = run("etspy", "PC", folder)
                rows.append(("ETSpy PC", res["shifts"], res["time"]))
            for label, shifts, elapsed in rows:
                se, err = score(shifts)
                summary.setdefault((name, label), []).append((se, err, elapsed))
                print(f"{name:9} {seed:4d} {label:9} {se:12.3f} {err:10.4f} {elapsed:7.1f}",
                      flush=True)
    print("\nmean over seeds:")
    for (name, label), rows in summary.items():
        arr = np.array(rows)
        t = "" if label == "truth" else f", time {np.mean(arr[:, 2]):.1f} s"
        print(f"{name:9} {label:9} shift err {arr[:, 0].mean():.3f} px, SIRT NRMSE "
              f"{arr[:, 1].mean():.4f}{t}")


def part_tilt(args, folder):
    from etspy_widgets.engine.simulation import simulate_catalyst

    print(f"\n== tilt_align: catalyst {args.size}^2, 2 deg rotation + 3 px axis shift ==")
    sim = simulate_catalyst(size=args.size, misalign=True, minshift=0, maxshift=0,
                            tiltrotate=2.0, tiltshift=3.0, seed=0)
    _prepare(folder, sim.stack.data, sim.tilts)
    print(f"{'method':22} {'impl':6} {'rot err deg':>11} {'offset err px':>13} {'time s':>7}")
    cases = [("CoM", {}), ("MaxImage", {}), ("MaxImage", {"also_shift": True})]
    for method, kw in cases:
        for impl in ("ours", "etspy") if args.etspy else ("ours",):
            if impl == "etspy" and kw.get("also_shift") and not args.etspy_also_shift:
                continue
            res = run(impl, "tilt:" + method, folder, **kw)
            if "error" in res:
                print(f"{method:22} {impl:6} ERROR {res['error']}")
                continue
            # correction wanted: rotate by -2 deg, shift by -3 px (our sign); ETSpy's
            # trans_stack moves content by -yshift, so its value maps to ours negated
            offset = res["yshift"] if impl == "ours" else -res["yshift"]
            label = method + (" +also_shift" if kw else "")
            off_err = offset + 3.0 if (method == "CoM" or kw) else float("nan")
            print(f"{label:22} {impl:6} {res['tiltaxis'] + 2.0:11.3f} {off_err:13.3f} "
                  f"{res['time']:7.1f}", flush=True)


def part_latency(args, folder):
    from etspy_widgets.engine.align import SliceSampler, reconstruct_sinograms, test_align_slices
    from etspy_widgets.engine.align._slices import SLICE_KERNEL
    from etspy_widgets.engine.project import clear_cache

    print(f"\n== test_align_slices latency: 77 x 256^2, three slices, FBP "
          f"(kernel {SLICE_KERNEL!r}, reconstruct's default) ==")
    rng = np.random.default_rng(0)
    data = rng.random((77, 256, 256)).astype(np.float32)
    tilts = np.linspace(-76, 76, 77)
    test_align_slices(data, tilts, 0.5, 0.5)  # compile / warm up
    sampler = SliceSampler(data)
    for label, kw in (("fresh each call", {}), ("SliceSampler reused", {"sampler": sampler})):
        times = []
        for i in range(40):
            t0 = time.perf_counter()
            test_align_slices(data, tilts, 0.1 * (i % 7), 0.2 * (i % 5), **kw)
            times.append(time.perf_counter() - t0)
        print(f"{label:22} median {1e3 * np.median(times):6.1f} ms   "
              f"min {1e3 * np.min(times):6.1f} ms")
    print("-- the reconstruction alone (sinograms sampled once), by kernel and slice count;"
          " 'first' includes the projector's set-up (the strip matrix, once per geometry)")
    for kernel in ("strip", "pixel"):
        for k in (1, 3):
            sino = SliceSampler(data, np.arange(64, 64 + 64 * k, 64)).sinograms(0.3, 0.2)
            for method, its in (("FBP", 1), ("SIRT", 20), ("SART", 3)):
                clear_cache()
                t0 = time.perf_counter()
                reconstruct_sinograms(sino, tilts, method=method, iterations=its, kernel=kernel)
                first = time.perf_counter() - t0
                times = []
                for _ in range(15 if method == "FBP" else 5):
                    t0 = time.perf_counter()
                    reconstruct_sinograms(sino, tilts, method=method, iterations=its,
                                          kernel=kernel)
                    times.append(time.perf_counter() - t0)
                print(f"{kernel:6} {k} slice{'s' if k > 1 else ' '} {method:4}-{its:<2} median "
                      f"{1e3 * np.median(times):7.1f} ms   first {1e3 * first:7.1f} ms")
    if args.etspy:
        np.save(folder / "lat.npy", data)
        code = ("import time, numpy as np, logging; logging.disable(logging.CRITICAL)\n"
                "from etspy.base import TomoStack\n"
                f"d = np.load('{folder}/lat.npy')\n"
                "s = TomoStack(d, tilts=np.linspace(-76, 76, 77))\n"
                "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt\n"
                "ts = []\n"
                "for i in range(5):\n"
                "    t = time.perf_counter(); f = s.test_align(tilt_shift=1.0, tilt_rotation=0.5)\n"
                "    ts.append(time.perf_counter() - t); plt.close(f)\n"
                "print(np.median(ts) * 1e3)\n")
        out = subprocess.run([ETSPY_PY, "-c", code], capture_output=True, text=True, check=False)
        val = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-200:]
        print(f"{'ETSpy test_align':22} median {val} ms (whole-stack transform + ASTRA FBP "
              "+ figure)")


def part_pm(args, folder):
    from etspy_widgets.engine.align import compute_shifts
    from etspy_widgets.engine.simulation import simulate_rod
    from etspy_widgets.engine.transform import fourier_shift_stack

    size = 256
    print(f"\n== off-axis rod {size}^2 (simulate_rod), ±5 px jitter: pairwise vs PM ==")
    sim = simulate_rod(size=size, misalign=True, seed=0)
    data, tilts = np.asarray(sim.stack.data), sim.tilts
    print(f"{'method':28} {'common px':>9} {'rigid-free':>10} {'time s':>7}")
    cases = [("PC raw pairwise (drift=None)", "PC", {"drift": None}),
             ("PC", "PC", {}), ("COM-CL", "COM-CL", {}),
             ("PM from COM-CL", "PM", {"initial": "COM-CL", "levels": (4, 2)}),
             ("PM from raw PC", "PM", {"initial": "rawpc", "levels": (4, 2)})]
    raw = None
    for label, method, options in cases:
        t0 = time.perf_counter()
        kw = dict(options, initial=raw) if options.get("initial") == "rawpc" else options
        shifts = compute_shifts(data, tilts, method, **kw)
        elapsed = time.perf_counter() - t0
        if label.startswith("PC raw"):
            raw = shifts
        common, rigid = residual(fourier_shift_stack(data, shifts), sim.aligned, tilts)
        print(f"{label:28} {common:9.3f} {rigid:10.3f} {elapsed:7.1f}", flush=True)
    # the floor of "common" for the centre-of-mass gauge (see part_gauge): the truth itself
    truth = np.asarray(sim.aligned, dtype=np.float32)
    shifts = compute_shifts(truth, tilts, "COM-CL")
    common, rigid = residual(fourier_shift_stack(truth, shifts), sim.aligned, tilts)
    print(f"{'(floor: COM-CL of the truth)':28} {common:9.3f} {rigid:10.3f}", flush=True)
    if args.etspy:
        _prepare(folder, data, tilts)
        for method in ("PC", "StackReg", "COM-CL"):
            res = run("etspy", method, folder)
            if "error" in res:
                print(f"ETSpy {method:22} ERROR {res['error']}")
                continue
            common, rigid = residual(res["out"], sim.aligned, tilts)
            print(f"{'ETSpy ' + method:28} {common:9.3f} {rigid:10.3f} {res['time']:7.1f}")


def part_gauge(args, folder):
    """The floor of the "common" error: registering the UNMISALIGNED series itself.

    Projections fix a tilt series only up to a 3D translation of the object (shifts
    ``a cos θ + b sin θ`` across the axis): every method has to pick one. Ours put the
    object's centre of mass on the tilt axis; the simulated catalyst's centre of mass is
    off it, so even the truth, registered, moves by that path. That motion is the least
    "common" error any method with this choice can show on this phantom.
    """
    from etspy_widgets.engine.signals import TomoStack
    from etspy_widgets.engine.simulation import simulate_catalyst

    sim = simulate_catalyst(size=args.size, misalign=True, seed=0)
    truth = np.asarray(sim.aligned, dtype=np.float64)
    th = np.deg2rad(sim.tilts)
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    rows = np.arange(truth.shape[1])
    com = (truth.sum(axis=2) * rows).sum(axis=1) / truth.sum(axis=(1, 2))
    c, a, b = np.linalg.lstsq(basis, com, rcond=None)[0]
    print(f"\n== gauge: catalyst 90 x {args.size}^2, unmisaligned ==")
    print(f"centre-of-mass path of the truth across the axis: {c:.2f} + {a:.3f} cos θ "
          f"+ {b:.3f} sin θ px (centre row {(truth.shape[1] - 1) / 2:.1f})")
    stack = TomoStack(truth.astype(np.float32), tilts=sim.tilts)
    for method in ("PC", "COM-CL"):
        out = stack.stack_register(method)
        common, rigid = residual(np.asarray(out.data), sim.aligned, sim.tilts)
        print(f"{method} on the truth: common {common:.3f} px, rigid-free {rigid:.3f} px")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--parts", default="register,gauge,tilt,latency,pm")
    ap.add_argument("--methods", default="PC,StackReg,COM,COM-CL,PM")
    ap.add_argument("--no-etspy", dest="etspy", action="store_false")
    ap.add_argument("--pm-size", type=int, default=256, help="catalyst size (pmcat)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds (pmcat)")
    ap.add_argument("--scenarios", default="noise0.5,gap,noise1.0", help="(pmcat)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per side (pc)")
    ap.add_argument("--etspy-also-shift", action="store_true",
                    help="also time ETSpy's MaxImage also_shift (40 SIRT-100 slices: slow)")
    args = ap.parse_args()
    args.methods = args.methods.split(",")
    import os

    print(f"cores: {os.cpu_count()} (shared with other jobs), load average: "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for part in args.parts.split(","):
            {"register": part_register, "tilt": part_tilt, "latency": part_latency,
             "pm": part_pm, "gauge": part_gauge,
             "pc": part_pc, "pmcat": part_pmcat}[part](args, folder)


if __name__ == "__main__":
    main()
