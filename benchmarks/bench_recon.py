"""Reconstruction throughput and quality: our engine side by side with ASTRA/ETSpy.

Run: ``python benchmarks/bench_recon.py`` (all sections, ~15-25 min on 2 cores) or
``--quick`` (a few minutes), or pick sections: ``--sections needle,catalyst,quality,scaling``.

Every ratio is measured in the same run: ours against ASTRA's CPU algorithms called slice by
slice exactly as ETSpy calls them (``strip`` projector, one slice per call), and against
ETSpy 1.3 itself (``/opt/etspy-venv/bin/python``, subprocess) when it is installed. The
baselines run on a *subset* of slices and are extrapolated per slice to the volume (said so
in the output). The load average is printed: on a shared machine all figures move together.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ETSPY_PYTHON = Path("/opt/etspy-venv/bin/python")


def _now():
    return time.perf_counter()


def header(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# -- ASTRA, slice by slice, as ETSpy's recon.run_alg does it ------------------------------
def astra_slice(sino, tilts, method, iterations=1, *, sino_filter="shepp-logan",
                thickness=None):
    import astra

    n = sino.shape[1]
    pg = astra.create_proj_geom("parallel", 1.0, n, np.deg2rad(tilts))
    vg = astra.create_vol_geom((thickness or n, n))
    pid = astra.create_projector("strip", pg, vg)
    rid = astra.data2d.create("-vol", vg)
    sid = astra.data2d.create("-sino", pg, sino)
    cfg = astra.astra_dict(method)
    cfg.update(ProjectorId=pid, ProjectionDataId=sid, ReconstructionDataId=rid)
    if method == "FBP":
        cfg["option"] = {"FilterType": sino_filter}
    aid = astra.algorithm.create(cfg)
    astra.algorithm.run(aid, iterations)
    rec = astra.data2d.get(rid)
    astra.algorithm.delete(aid)
    astra.data2d.delete([rid, sid])
    astra.projector.delete(pid)
    return rec


def astra_per_slice(data, tilts, cols, method, iterations=1):
    """Seconds per slice of ASTRA CPU on ``cols`` (single thread), and the slices."""
    recs = []
    t0 = _now()
    for c in cols:
        recs.append(astra_slice(np.ascontiguousarray(data[:, :, c]), tilts, method, iterations))
    return (_now() - t0) / len(cols), np.array(recs)


_ETSPY_SCRIPT = r"""
import json, sys, time, numpy as np
import etspy
from etspy.base import TomoStack
d = np.load(sys.argv[1]); tilts = np.load(sys.argv[2])
method, iterations, ncores = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = TomoStack(d, tilts=tilts)
t0 = time.perf_counter()
rec = s.reconstruct(method, iterations=iterations, ncores=ncores, show_progressbar=False,
                    cuda=False)
dt = time.perf_counter() - t0
np.save(sys.argv[6], np.asarray(rec.data, np.float32))
print(json.dumps({"seconds": dt, "slices": d.shape[2]}))
"""


def etspy_run(data_subset, tilts, method, iterations, ncores=2):
    """Run ETSpy 1.3 on a column subset in its own venv; (seconds per slice, volume) or None."""
    if not ETSPY_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d, t, o = (os.path.join(tmp, f) for f in ("d.npy", "t.npy", "o.npy"))
        np.save(d, np.ascontiguousarray(data_subset, np.float32))
        np.save(t, np.asarray(tilts, np.float64))
        proc = subprocess.run(
            [str(ETSPY_PYTHON), "-c", _ETSPY_SCRIPT, d, t, method, str(iterations),
             str(ncores), o], capture_output=True, text=True, timeout=3600, check=False)
        if proc.returncode != 0:
            print("  ETSpy failed:", proc.stderr.strip().splitlines()[-1:], flush=True)
            return None
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        return info["seconds"] / info["slices"], np.load(o)


def ours(data, tilts, method, iterations=5, ncores=2, **kw):
    from etspy_widgets.engine.recon import reconstruct_stack

    t0 = _now()
    rec = reconstruct_stack(data, tilts, method, iterations, ncores=ncores,
                            show_progressbar=False, **kw)
    return _now() - t0, rec


def load_needle():
    from etspy_widgets.engine.datapath import data_file
    from etspy_widgets.engine.io import load

    stack = load(str(data_file("HAADF.mrc")))
    return np.ascontiguousarray(stack.data, np.float32), stack.tilt_values


# -- sections ------------------------------------------------------------------------------
def bench_needle(args):
    from etspy_widgets.engine.recon import clear_cache, get_projector

    header(f"Needle series (HAADF.mrc, 77 x 256^2), ncores={args.ncores}")
    data, tilts = load_needle()
    nt, ny, nx = data.shape
    clear_cache()
    t0 = _now()
    get_projector(tilts, ny, ny, "sparse")
    build = _now() - t0
    print(f"projector (strip system matrix) build: {build:.2f} s (once per geometry)")
    sub = [96, 128, 160, 200][: (2 if args.quick else 4)]
    rows = []

    # FBP
    t_ours, rec = ours(data, tilts, "FBP", ncores=args.ncores)
    t_pix, _ = ours(data, tilts, "FBP", ncores=args.ncores, kernel="pixel")
    a_slice, a_rec = astra_per_slice(data, tilts, range(100, 116), "FBP")
    err = rel_l2(rec[100:116], a_rec)
    ets = etspy_run(data[:, :, 100:132], tilts, "FBP", 1, args.ncores) if args.etspy else None
    rows.append(("FBP (volume)", t_ours, a_slice * nx, ets[0] * nx if ets else None, err))
    print(f"FBP volume: ours {t_ours:.2f} s (strip, = ASTRA to {err:.1e}); "
          f"pixel kernel {t_pix:.2f} s; ASTRA CPU slice by slice {a_slice * 1e3:.1f} ms/slice "
          f"→ {a_slice * nx:.1f} s/volume on 1 core")
    if ets:
        print(f"  ETSpy 1.3 (ncores={args.ncores}) on 32 slices: {ets[0] * 1e3:.1f} ms/slice "
              f"→ {ets[0] * nx:.1f} s/volume; ratio ETSpy/ours = {ets[0] * nx / t_ours:.1f}x")

    # SIRT-100
    n_sirt = 64 if args.quick else nx
    cols = slice(128 - n_sirt // 2, 128 + n_sirt // 2)
    t_ours, rec = ours(data[:, :, cols], tilts, "SIRT", 100, ncores=args.ncores)
    per_ours = t_ours / n_sirt
    a_slice, a_rec = astra_per_slice(data, tilts, sub, "SIRT", 100)
    idx = [c - cols.start for c in sub]
    err = rel_l2(rec[idx], a_rec)
    ets = (etspy_run(data[:, :, 120:124], tilts, "SIRT", 100, args.ncores)
           if args.etspy and not args.quick else None)
    rows.append(("SIRT-100 (volume)", per_ours * nx, a_slice * nx,
                 ets[0] * nx if ets else None, err))
    print(f"SIRT-100: ours {per_ours:.3f} s/slice over {n_sirt} slices → {per_ours * nx:.1f} s/"
          f"volume; ASTRA CPU {a_slice:.2f} s/slice (on {len(sub)} slices) → "
          f"{a_slice * nx:.0f} s/volume on 1 core; ours = ASTRA to {err:.1e}")
    if ets:
        print(f"  ETSpy 1.3 (ncores={args.ncores}) on 4 slices: {ets[0]:.2f} s/slice → "
              f"{ets[0] * nx:.0f} s/volume; ratio ETSpy/ours = {ets[0] / per_ours:.1f}x")
    print(f"  ratio ASTRA-1-core/ours = {a_slice / per_ours:.1f}x; "
          f"vs ETSpy's best (ASTRA on {args.ncores} cores, ideal) = "
          f"{a_slice / args.ncores / per_ours:.1f}x")

    # SART: one sweep (ours) vs 77 ASTRA SART iterations (= one sweep)
    n_sart = 64
    cols = slice(96, 96 + n_sart)
    t_ours, rec = ours(data[:, :, cols], tilts, "SART", 5, ncores=args.ncores)
    per_sweep = t_ours / n_sart / 5
    a_slice, a_rec = astra_per_slice(data, tilts, [100, 120], "SART", 5 * nt)
    err = rel_l2(rec[[4, 24]], a_rec)
    _, exact = ours(np.ascontiguousarray(data[:, :, [100, 120]]), tilts, "SART", 5,
                    ncores=args.ncores, builder="astra")
    err_exact = rel_l2(exact, a_rec)
    rows.append(("SART sweep (slice)", per_sweep, a_slice / 5, None, err))
    print(f"SART: ours {per_sweep * 1e3:.2f} ms per slice-sweep ({args.ncores} cores); "
          f"ASTRA {a_slice / 5 * 1e3:.1f} ms per slice-sweep (77 SART iterations, 1 core); "
          f"ratio {a_slice / 5 / per_sweep:.1f}x; 5 sweeps = ASTRA's SART-385 to {err:.1e} "
          f"(our exact-area matrix), {err_exact:.1e} (builder='astra': ASTRA's float32 matrix)")
    print("\n| needle | ours (s) | ASTRA 1 core, extrapolated (s) | ETSpy measured subset, "
          "extrapolated (s) | ours vs ASTRA (rel. L2) |")
    print("|---|---|---|---|---|")
    for name, a, b, c, e in rows:
        cc = f"{c:.1f}" if c else "n/a"
        print(f"| {name} | {a:.3f} | {b:.1f} | {cc} | {e:.1e} |")


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_catalyst(args):
    header("Simulated catalyst (90 x 600^2)")
    code = r"""
import sys, time, json, resource, numpy as np
sys.path.insert(0, BENCH_DIR)
from bench_recon import ours, _peak_rss_mb
from etspy_widgets.engine import simulation as sim
from etspy_widgets.engine.recon import get_projector
method = sys.argv[1]
n_slices, iterations, ncores = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
res = sim.simulate_catalyst(size=600)
data = np.ascontiguousarray(res.stack.data, np.float32)
tilts = res.tilts
del res
if n_slices < data.shape[2]:
    data = np.ascontiguousarray(data[:, :, 300 - n_slices // 2: 300 + n_slices // 2])
base = _peak_rss_mb()
t0 = time.perf_counter(); get_projector(tilts, 600, 600, "sparse"); build = time.perf_counter() - t0
t, rec = ours(data, tilts, method, iterations, ncores=ncores)
print(json.dumps({"seconds": t, "build": build, "slices": data.shape[2],
                  "peak_mb": _peak_rss_mb(), "base_mb": base,
                  "in_mb": data.nbytes / 2**20, "out_mb": rec.nbytes / 2**20}))
""".replace("BENCH_DIR", repr(str(Path(__file__).resolve().parent)))
    runs = (("FBP", 600, 1), ("SIRT", 600, 2), ("SIRT", 16 if args.quick else 48, 100))
    for method, n_slices, its in runs:
        proc = subprocess.run([sys.executable, "-c", code, method, str(n_slices), str(its),
                               str(args.ncores)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        per = r["seconds"] / r["slices"]
        extra = r["peak_mb"] - r["base_mb"]
        name = method if method == "FBP" else f"SIRT-{its}"
        print(f"{name}: {r['seconds']:.1f} s for {r['slices']} slices ({per:.3f} s/slice"
              + (f" → {per * 600 / 60:.1f} min for the 600-slice volume, extrapolated"
                 if r["slices"] < 600 else "") + f"); matrix build {r['build']:.1f} s")
        print(f"  process peak RSS {r['peak_mb']:.0f} MiB (with the simulated input held: "
              f"{r['base_mb']:.0f} MiB before); input {r['in_mb']:.0f} MiB, output "
              f"{r['out_mb']:.0f} MiB; peak/(input+output) = "
              f"{r['peak_mb'] / (r['in_mb'] + r['out_mb']):.2f}")
        if r["slices"] < 600:
            print(f"  (extra memory for the run: {extra:.0f} MiB, mostly the system matrix)")


def bench_quality(args):
    from skimage.metrics import structural_similarity

    from etspy_widgets.engine import simulation as sim
    from etspy_widgets.engine.recon import reconstruct_slices

    size = 128 if args.quick else 256
    header(f"Quality: simulated catalyst {size}^3, 90 tilts 0..178, 12 central slices")
    res = sim.simulate_catalyst(size=size)
    xs = np.linspace(size * 0.3, size * 0.7, 12).astype(int)
    truth = res.volume_slices(xs)
    sino = np.ascontiguousarray(res.stack.data[:, :, xs])
    rng = float(truth.max() - truth.min())
    runs = [("FBP", {}), ("SIRT", {"iterations": 100, "constrain": True}),
            ("SART", {"iterations": 10, "constrain": True}),
            ("CGLS", {"iterations": 20}),
            ("TV", {"iterations": 150, "constrain": True, "tv_weight": 0.1}),
            ("DART", {"iterations": 5, "dart_iterations": 10,
                      "gray_levels": [0, 100, 200, 300, 400]})]
    print("| method | options | NRMSE | SSIM | seconds |")
    print("|---|---|---|---|---|")
    for method, kw in runs:
        t0 = _now()
        rec = reconstruct_slices(sino, res.tilts, method, **kw)
        dt = _now() - t0
        nrmse = rel_l2(rec, truth)
        ssim = np.mean([structural_similarity(rec[i], truth[i], data_range=rng)
                        for i in range(len(xs))])
        print(f"| {method} | {kw} | {nrmse:.4f} | {ssim:.4f} | {dt:.1f} |", flush=True)


def bench_scaling(args):
    from etspy_widgets.engine.recon import clear_cache, get_projector, reconstruct_slices

    header("Scaling: 77 tilts (-76..76), one chunk of 16 slices, 1 thread")
    tilts = np.arange(-76.0, 77.0, 2.0)
    sizes = (128, 256, 512) if args.quick else (128, 256, 512, 1024)
    print("| slice | matrix build (s) | matrix (MiB) | FBP (ms/slice) | SIRT (ms/slice/iteration)"
          " | pixel FBP (ms/slice) |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        clear_cache()
        t0 = _now()
        proj = get_projector(tilts, n, n, "sparse")
        build = _now() - t0
        k = 16
        sino = np.random.default_rng(0).random((tilts.size, n, k), dtype=np.float32)
        t0 = _now()
        reconstruct_slices(sino, tilts, "FBP")
        fbp = (_now() - t0) / k
        its = 3
        t0 = _now()
        reconstruct_slices(sino, tilts, "SIRT", its)
        sirt = (_now() - t0) / k / its
        t0 = _now()
        reconstruct_slices(sino, tilts, "FBP", kernel="pixel")
        pix = (_now() - t0) / k
        print(f"| {n}² | {build:.1f} | {proj.nbytes / 2**20:.0f} | {fbp * 1e3:.1f} | "
              f"{sirt * 1e3:.1f} | {pix * 1e3:.1f} |", flush=True)
    clear_cache()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller subsets, a few minutes")
    parser.add_argument("--sections", default="needle,catalyst,quality,scaling")
    parser.add_argument("--ncores", type=int, default=2)
    parser.add_argument("--no-etspy", dest="etspy", action="store_false",
                        help="skip the ETSpy subprocess runs")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    print("(the machine is shared: compare ratios measured in this run, not absolute times)")
    funcs = {"needle": bench_needle, "catalyst": bench_catalyst, "quality": bench_quality,
             "scaling": bench_scaling}
    t0 = _now()
    for name in args.sections.split(","):
        funcs[name.strip()](args)
    print(f"\nload average at end: {os.getloadavg()}; total {(_now() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
