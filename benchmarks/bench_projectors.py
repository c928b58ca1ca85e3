"""The CPU projectors side by side: sparse (matrix), matrix-free strip, pixel, ASTRA.

Run: ``python benchmarks/bench_projectors.py`` (all sections) or pick them:
``--sections steps,recon_error,needle_sirt,few,demo`` (``demo`` is not in the default:
ETSpy's side alone takes ~2 min).

- ``steps``: one SIRT step ``Wᵀ R (y − W x)`` per slice for blocks of 1, 3 and 32 slices on
  the needle's geometry (77 × 256²) and the catalyst's (90 × 600²), with each backend's
  set-up (the sparse matrix build), and the agreement of the matrix-free pair with the
  sparse one and ASTRA's (relative L2 inside the reconstruction disc, SIRT-20).
- ``recon_error``: ``recon_error``'s engine (``recon.slices.iter_slice_errors``), SIRT-50 on
  one slice of the real needle and of a 600² catalyst-sized sinogram, cold (including the
  projector's set-up) and warm, against ASTRA's CPU SIRT-50 (``strip``, what ETSpy runs) in
  the same run, and ETSpy 1.3 itself when ``/opt/etspy-venv`` exists.
- ``needle_sirt``: SIRT-100 of the whole needle (256 slices, ``ncores=2``).
- ``few``: per call, 1, 2 and 3 slices of the real needle (middle columns) with SART-3,
  CGLS-20, TV-20 and SIRT-20 through ``reconstruct_slices`` (what the workbench's slices
  and ``test_align`` call, 2 threads): ``backend="auto"`` before any matrix is built (the
  matrix-free strip pair's weight table for ≤ 3 slices) and after (2-3 slices of all but
  SART then go to the built matrix), the sparse strip matrix (built, warm) and the pixel
  kernel; then
  ``recon_error`` SIRT-50 on the needle's middle column in a *fresh process* (first call
  after the imports: Numba's cache load and the table build included; the projector cache
  cleared and called again: the table build alone; then warm) against ETSpy 1.3 in the
  same invocation.
- ``demo``: the ETSpy demo's ``recon_error(iterations=500)`` (``--demo-iterations``) of the
  catalyst rebinned to 90 × 300², through the stack verb on both sides (ETSpy in its venv),
  cold and warm.

Ratios are measured in the same run; the machine's load average is printed (shared cores
move every figure).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recon import ETSPY_PYTHON, astra_slice, header, load_needle


def _now():
    return time.perf_counter()


def _disc(n):
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    return np.hypot(yy, xx) < n / 2 - 2


def rel_disc(a, b):
    d = _disc(a.shape[-1])
    return float(np.linalg.norm((a - b)[..., d]) / np.linalg.norm(b[..., d]))


def catalyst_sino(n=600, n_tilts=90, seed=0):
    from etspy_widgets.engine.project import get_projector

    tilts = np.linspace(-70, 70, n_tilts)
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    img = (np.hypot(yy, xx) < n / 3).astype(np.float32)
    img[np.hypot(yy - n / 3.3, xx) < n / 40] = 3
    sino = get_projector(tilts, n, n, "astra").forward(img)
    rng = np.random.default_rng(seed)
    return (sino + rng.normal(0, 0.02 * sino.max(), sino.shape)).astype(np.float32), tilts


def bench_steps(args):
    from etspy_widgets.engine.project import clear_cache, get_projector
    from etspy_widgets.engine.recon import reconstruct_slices

    for name, n, tilts in (("needle geometry", 256, np.linspace(-76, 76, 77)),
                           ("catalyst geometry", 600, np.linspace(-70, 70, 90))):
        header(f"SIRT step per slice, {name} ({tilts.size} × {n}²), 2 threads")
        clear_cache()
        t0 = _now()
        get_projector(tilts, n, n, "sparse")
        build = _now() - t0
        print(f"sparse matrix build: {build:.2f} s; matrix-free and pixel: none")
        rng = np.random.default_rng(0)
        print("| slices | sparse (ms/slice) | matrix-free (ms/slice) | pixel (ms/slice) |")
        print("|---|---|---|---|")
        for k in (1, 3, 32):
            x = rng.random((n * n, k), dtype=np.float32)
            y = rng.random((tilts.size * n, k), dtype=np.float32)
            rinv = np.ones((tilts.size * n, 1), np.float32)
            row = []
            for backend, kernel in (("sparse", "strip"), ("matrix-free", "strip"),
                                    ("auto", "pixel")):
                p = get_projector(tilts, n, n, backend, kernel=kernel).with_threads(2)
                p.residual_bp(x, y, rinv)
                reps = 3 if k < 32 else 1
                t0 = _now()
                for _ in range(reps):
                    p.residual_bp(x, y, rinv)
                row.append((_now() - t0) / reps / k * 1e3)
            print(f"| {k} | {row[0]:.1f} | {row[1]:.1f} | {row[2]:.1f} |", flush=True)
        if n <= 256:
            sino = get_projector(tilts, n, n, "astra").forward(
                rng.random((n, n), dtype=np.float32) * _disc(n))[:, :, None]
            ref = reconstruct_slices(sino, tilts, "SIRT", 20, backend="astra")
            free = reconstruct_slices(sino, tilts, "SIRT", 20, backend="matrix-free")
            sparse = reconstruct_slices(sino, tilts, "SIRT", 20, backend="sparse")
            print(f"SIRT-20 inside the disc: matrix-free vs sparse {rel_disc(free, sparse):.1e},"
                  f" vs ASTRA {rel_disc(free, ref):.1e}")
        clear_cache()


_ETSPY_ERR = r"""
import sys, time, numpy as np
from etspy.base import TomoStack
d = np.load(sys.argv[1]); tilts = np.load(sys.argv[2])
s = TomoStack(d[:, :, None], tilts=tilts)
t0 = time.perf_counter()
s.recon_error(0, iterations=int(sys.argv[3]), constrain=True, cuda=False)
print(time.perf_counter() - t0)
"""


def bench_recon_error(args):
    from etspy_widgets.engine.project import clear_cache
    from etspy_widgets.engine.recon.slices import iter_slice_errors

    data, tilts = load_needle()
    cases = [("needle (77 × 256, middle column)",
              np.ascontiguousarray(data[:, :, data.shape[2] // 2]), tilts)]
    cases.append(("catalyst-sized (90 × 600)", *catalyst_sino()))
    its = args.iterations
    for name, sino, tl in cases:
        header(f"recon_error SIRT-{its}, one slice: {name}")
        t0 = _now()
        astra_slice(sino, tl, "SIRT", its)
        t_astra = _now() - t0
        print(f"ASTRA CPU SIRT-{its} (strip, one call, no residuals): {t_astra:.2f} s")
        if ETSPY_PYTHON.exists():
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                np.save(f"{tmp}/s.npy", sino[:, :, None].squeeze(-1))
                np.save(f"{tmp}/t.npy", tl)
                out = subprocess.run([str(ETSPY_PYTHON), "-c", _ETSPY_ERR, f"{tmp}/s.npy",
                                      f"{tmp}/t.npy", str(its)], capture_output=True,
                                     text=True, check=False)
            print(f"ETSpy 1.3 recon_error: {out.stdout.strip() or out.stderr[-300:]} s")
        for backend in ("auto", "matrix-free"):
            clear_cache()
            for label in ("cold", "warm"):
                t0 = _now()
                steps = list(iter_slice_errors(sino, tl, "SIRT", its, backend=backend))
                t = _now() - t0
                print(f"ours, backend={backend!r}, {label}: {t:.2f} s "
                      f"(ASTRA/ours {t_astra / t:.1f}x); final residual {steps[-1][2]:.4g}",
                      flush=True)
        clear_cache()


def bench_needle_sirt(args):
    from etspy_widgets.engine.recon import reconstruct_stack

    data, tilts = load_needle()
    header(f"SIRT-100 of the whole needle ({data.shape}), ncores=2")
    reconstruct_stack(data[:, :, :4], tilts, "SIRT", 2, ncores=2, show_progressbar=False)
    t0 = _now()
    reconstruct_stack(data, tilts, "SIRT", 100, ncores=2, show_progressbar=False)
    print(f"SIRT-100, {data.shape[2]} slices: {_now() - t0:.1f} s")


FEW_METHODS = (("SART", 3), ("CGLS", 20), ("TV", 20), ("SIRT", 20))

_OURS_FIRST = r"""
import sys, time
import numpy as np
from etspy_widgets.engine.project import clear_cache
from etspy_widgets.engine.recon.slices import iter_slice_errors
sino = np.load(sys.argv[1]); tilts = np.load(sys.argv[2]); its = int(sys.argv[3])
out = []
if len(sys.argv) > 4:  # Numba initialised first, by one small kernel of the package
    from etspy_widgets.engine.project import _csr
    z = np.zeros((4, 1), np.float32)
    t0 = time.perf_counter(); _csr.weighted_residual(z, z, z, np.zeros(1))
    print(time.perf_counter() - t0)
for _ in range(2):
    t0 = time.perf_counter(); list(iter_slice_errors(sino, tilts, "SIRT", its))
    out.append(time.perf_counter() - t0)
    clear_cache()  # the second call builds the table again, with the kernels loaded
t0 = time.perf_counter(); list(iter_slice_errors(sino, tilts, "SIRT", its))
t0 = time.perf_counter(); list(iter_slice_errors(sino, tilts, "SIRT", its))
out.append(time.perf_counter() - t0)
print(*out)
"""


def bench_few(args):
    import tempfile

    from etspy_widgets.engine.project import clear_cache, get_projector
    from etspy_widgets.engine.recon import reconstruct_slices

    data, tilts = load_needle()
    mid = data.shape[2] // 2
    header("few slices of the needle (77 × 256²), per call, 2 threads, ms (median of 5)")

    def timed(block, method, its, backend, kernel="strip"):
        def call():
            return reconstruct_slices(block, tilts, method, its, backend=backend,
                                      kernel=kernel, ncores=2)
        call()
        times = []
        for _ in range(5):
            t0 = _now()
            call()
            times.append(_now() - t0)
        return 1e3 * float(np.median(times))

    cases = [(m, its, k) for m, its in FEW_METHODS for k in (1, 2, 3)]
    blocks = {k: np.ascontiguousarray(data[:, :, mid:mid + k]) for k in (1, 2, 3)}
    clear_cache()
    # no matrix built: "auto" is the matrix-free pair on its weight table
    table = {c: timed(blocks[c[2]], c[0], c[1], "auto") for c in cases}
    get_projector(tilts, data.shape[1], data.shape[1], "sparse")  # the matrix, built once
    print("| method | slices | auto, no matrix (table) | auto, matrix built | sparse "
          "(matrix built) | pixel | sparse / table |")
    print("|---|---|---|---|---|---|---|")
    for c in cases:
        block = blocks[c[2]]
        auto = timed(block, c[0], c[1], "auto")
        sparse = timed(block, c[0], c[1], "sparse")
        pixel = timed(block, c[0], c[1], "auto", "pixel")
        print(f"| {c[0]}-{c[1]} | {c[2]} | {table[c]:.0f} | {auto:.0f} | {sparse:.0f} | "
              f"{pixel:.0f} | {sparse / table[c]:.2f}x |", flush=True)
    clear_cache()
    its = args.iterations
    sino = np.ascontiguousarray(data[:, :, mid])
    header(f"recon_error SIRT-{its}, needle middle column: first call in a fresh process")
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/s.npy", sino)
        np.save(f"{tmp}/t.npy", tilts)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        ours = subprocess.run([sys.executable, "-c", _OURS_FIRST, f"{tmp}/s.npy",
                               f"{tmp}/t.npy", str(its)], capture_output=True, text=True,
                              check=False, env=env)
        init = subprocess.run([sys.executable, "-c", _OURS_FIRST, f"{tmp}/s.npy",
                               f"{tmp}/t.npy", str(its), "init"], capture_output=True,
                              text=True, check=False, env=env)
        etspy = None
        if ETSPY_PYTHON.exists():
            et = subprocess.run([str(ETSPY_PYTHON), "-c", _ETSPY_ERR, f"{tmp}/s.npy",
                                 f"{tmp}/t.npy", str(its)], capture_output=True, text=True,
                                check=False)
            etspy = float(et.stdout.strip()) if et.returncode == 0 else None
            print(f"ETSpy 1.3 recon_error (its first call in its process): "
                  f"{et.stdout.strip() or et.stderr[-300:]} s")
    if ours.returncode != 0:
        print(ours.stderr[-500:])
        return
    first, rebuilt, warm = (float(v) for v in ours.stdout.split())
    print(f"ours: first call {first:.2f} s, projector cache cleared (table rebuilt, kernels "
          f"loaded) {rebuilt:.2f} s, warm {warm:.2f} s")
    if etspy:
        print(f"vs ETSpy: first call {etspy / first:.1f}x, warm {etspy / warm:.1f}x")
    if init.returncode == 0:
        numba_init, first_i, _, warm_i = (float(v) for v in init.stdout.split())
        print(f"fresh process, Numba initialised first by one small kernel of the package "
              f"({numba_init:.2f} s): first call {first_i:.2f} s, warm {warm_i:.2f} s"
              + (f" (vs ETSpy {etspy / first_i:.1f}x / {etspy / warm_i:.1f}x)"
                 if etspy else ""))

_ETSPY_DEMO = r"""
import sys, time
import etspy.datasets as ds
rebin = ds.get_catalyst_data().rebin(scale=[1, 2, 2])  # the demo's 90 x 300 x 300
t0 = time.perf_counter()
images, error = rebin.recon_error(iterations=int(sys.argv[1]), cuda=False)
print(time.perf_counter() - t0, float(error.data[-1]), images.data.shape)
"""


def bench_demo(args):
    """The ETSpy demo's slowest step: ``recon_error(iterations=500)`` of the catalyst
    rebinned ×2 (90 × 300²), at ETSpy's default slice (the middle one, 150), as the demo
    runs it, both sides through the stack verb."""
    import etspy_widgets as etw
    from etspy_widgets.engine.datapath import data_file
    from etspy_widgets.engine.project import clear_cache

    its = args.demo_iterations
    header(f"ETSpy demo: catalyst rebinned to 300², recon_error(iterations={its})")
    if ETSPY_PYTHON.exists():
        out = subprocess.run([str(ETSPY_PYTHON), "-c", _ETSPY_DEMO, str(its)],
                             capture_output=True, text=True, check=False)
        print(f"ETSpy 1.3 (cuda=False): {out.stdout.strip() or out.stderr[-300:]} "
              "(s, last residual, images)", flush=True)
    stack = etw.load(str(data_file("Catalyst3DModel_TiltSeries180.hspy")))
    rebin = stack.rebin(scale=[1, 2, 2])
    clear_cache()
    for label in ("cold", "warm"):
        t0 = _now()
        images, error = rebin.recon_error(iterations=its, cuda=False)
        t = _now() - t0
        print(f"ours ({label}): {t:.2f} s, last residual {float(error.data[-1]):.6g}, "
              f"images {images.data.shape}", flush=True)
    clear_cache()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="steps,recon_error,needle_sirt,few")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--demo-iterations", type=int, default=500)
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    funcs = {"steps": bench_steps, "recon_error": bench_recon_error,
             "needle_sirt": bench_needle_sirt, "few": bench_few, "demo": bench_demo}
    for name in args.sections.split(","):
        funcs[name.strip()](args)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
