"""Time stack.quality() and the tilt-axis scan; print the figures.

    python benchmarks/bench_quality.py              # 77 × 256² and 151 × 1024²
    python benchmarks/bench_quality.py --parts small

Baseline measured in the same run: one SIRT-10 reconstruction of the full series at its
full size (``stack.reconstruct("SIRT", iterations=10)``) for the small case, so the
ratio is comparable across machines.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _series(n, size, seed=0):
    from etspy_widgets.engine import simulation as sim

    tilts = np.linspace(-76, 76, n)
    return sim.simulate_needle(size=size, tilts=tilts, misalign=True, minshift=-1,
                               maxshift=1, noise=True, noise_factor=0.1, seed=seed).stack


def _time(f, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default="small,large", help="small, large, needle, e2e")
    p.add_argument("--png", help="needle: write the scan's curves here")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="e2e: the seeds")
    args = p.parse_args(argv)
    parts = args.parts.split(",")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if "small" in parts:
        stack = _series(77, 256)
        stack.quality(resolution=False)  # warm the JIT / projector caches
        t_q, rep = _time(stack.quality, repeat=2)
        t_b, _ = _time(lambda: stack.reconstruct("SIRT", iterations=10))
        t_s, scan = _time(lambda: stack.tilt_axis_scan(bootstrap=50))
        print(f"77 × 256²: quality() {t_q:.2f} s (target ≤ 2 s); baseline full SIRT-10 "
              f"{t_b:.2f} s (ratio {t_q / t_b:.2f}); flagged {rep.flagged}; resolution "
              f"{rep.summary['resolution']:.2f} {rep.summary['units']}")
        print(f"77 × 256²: tilt_axis_scan() {t_s:.2f} s, rotation {scan.rotation:.3f}° ± "
              f"{scan.uncertainty[0]:.3f}, offset {scan.offset:.3f} ± {scan.uncertainty[1]:.3f} px")
    if "large" in parts:
        stack = _series(151, 1024)
        t_q, rep = _time(stack.quality)
        print(f"151 × 1024²: quality() {t_q:.2f} s (target ≤ 30 s); flagged {rep.flagged}")
    if "needle" in parts:
        needle(args.png)
    if "e2e" in parts:
        for seed in args.seeds:
            end_to_end(seed=seed)
    print(f"load average {os.getloadavg()[0]:.2f}")


def end_to_end(size=128, seed=0):
    """SIRT-100 against the truth: ideal alignment, the verbs step by step, and the same
    alignments resampled once from the raw series (``align_other(raw, interpolation=
    "cubic")``), then corrected by the scan and by the per-projection shifts of quality()."""
    from etspy_widgets.engine import simulation as sim

    res = sim.simulate_catalyst(size=size, misalign=True, tiltrotate=2.0, tiltshift=3.0,
                                seed=seed)
    truth = res.volume
    raw = res.stack

    def error(stack):
        """Relative L2 error after removing the rigid translation of the volume (the
        gauge no registration can know, docs/conventions.md)."""
        from scipy import ndimage
        from skimage.registration import phase_cross_correlation

        rec = np.asarray(stack.reconstruct("SIRT", iterations=100, constrain=True,
                                           show_progressbar=False).data)
        shift = phase_cross_correlation(truth, rec, upsample_factor=20,
                                        normalization=None)[0]
        rec = ndimage.shift(rec, shift, order=3, mode="constant")
        return float(np.linalg.norm(rec - truth) / np.linalg.norm(truth))

    from etspy_widgets import TomoStack

    print(f"end to end ({size}² catalyst, ±5 px jitter, 2° / 3 px axis, seed {seed}): "
          "relative L2 error of SIRT-100 against the truth", flush=True)
    ideal = error(TomoStack(res.aligned, tilts=res.tilts))
    out = {}

    class Rows(list):
        def append(self, row):
            name, e = row
            out[name] = e
            print(f"  {name:72s} {e:.4f} ({e / ideal - 1:+.1%})", flush=True)

    rows = Rows()
    rows.append(("ideal (the unmisaligned projections)", ideal))
    mis = res.misalignment
    exact = raw.apply_shifts(-mis.shifts).trans_stack(yshift=-res.tilt_shift,
                                                      angle=-res.tilt_rotation)
    rows.append(("the true alignment, replayed step by step", error(exact)))
    for how in ("cubic", "fourier"):
        rows.append((f"the true alignment, resampled once ({how})",
                     error(exact.align_other(raw, interpolation=how))))
    reg = raw.stack_register("COM-CL")
    for method in ("CoM", "MassProfile"):
        try:
            ali = reg.tilt_align(method)
        except ValueError as exc:
            print(f'  COM-CL + tilt_align("{method}"): fails ({exc})')
            continue
        r = ali.metadata.Tomography.tilt_align_result
        rows.append((f'COM-CL + tilt_align("{method}") ({r["rotation"]:.2f}°, '
                     f'{r["yshift"]:.2f} px), step by step', error(ali)))
    scan = reg.tilt_axis_scan(bootstrap=0, record=False)
    auto = reg.trans_stack(yshift=scan.offset, angle=scan.rotation)
    rows.append((f"COM-CL + scan ({scan.rotation:.3f}°, {scan.offset:.2f} px), step by step",
                 error(auto)))
    rows.append(("COM-CL + scan, resampled once (cubic)",
                 error(auto.align_other(raw, interpolation="cubic"))))
    once = auto.align_other(raw, interpolation="fourier")
    rows.append(("COM-CL + scan, resampled once (Fourier): the automatic pipeline",
                 error(once)))
    rep = once.quality(resolution=False)
    d = rep.table[["dy", "dx"]].to_numpy()
    d = d - np.median(d, axis=0)
    # measured after the rotation; the raw series is shifted before it: R⁻¹ d
    a = np.deg2rad(scan.rotation)
    pre = np.stack([-np.sin(a) * d[:, 1] + np.cos(a) * d[:, 0],
                    np.cos(a) * d[:, 1] + np.sin(a) * d[:, 0]], axis=1)
    refined = auto.deepcopy()
    refined.shifts = auto.shift_values + pre
    rows.append(("+ quality()'s per-projection shifts, resampled once (Fourier)",
                 error(refined.align_other(raw, interpolation="fourier"))))
    return out


def needle(png=None):
    """The real needle (ETSpy's HAADF.mrc): the scan beside tilt_align's methods."""
    from pathlib import Path

    import etspy_widgets as etw

    path = Path(os.environ.get("ETSPY_TESTDATA", "/work/shared/data/etspy-testdata"))
    stack = etw.load(path / "HAADF.mrc")
    reg = stack.stack_register("PC")
    rows = {}
    for name, kw in (("CoM", {}), ("MaxImage", {"also_shift": True})):
        t = time.perf_counter()
        r = reg.tilt_align(name, **kw).metadata.Tomography.tilt_align_result
        rows[name] = (r["rotation"], r["yshift"] if name == "CoM" or kw else None,
                      time.perf_counter() - t)
    t = time.perf_counter()
    scan = reg.tilt_axis_scan()
    rows["scan"] = (scan.rotation, scan.offset, time.perf_counter() - t)
    print(f"needle {reg.data.shape}: registered with PC")
    for name, (rot, off, dt) in rows.items():
        o = "" if off is None else f", offset {off:.2f} px"
        print(f"  {name:9s} rotation {rot:.2f}°{o}  ({dt:.1f} s)")
    print(f"  scan uncertainty (bootstrap) {scan.uncertainty[0]:.3f}°, "
          f"{scan.uncertainty[1]:.3f} px")
    for name in ("CoM", "MaxImage"):
        rot, off, _ = rows[name]
        crit = np.interp(rot, scan.rotations, scan.rotation_curve) if \
            scan.rotations[0] <= rot <= scan.rotations[-1] else np.nan
        print(f"  criterion at {name}'s rotation / at the minimum: "
              f"{crit / scan.rotation_curve.min():.3f}")
    if png:
        wide = reg.tilt_axis_scan(rotations=np.arange(-6, 1.01, 0.05), bootstrap=0,
                                  record=False)
        wide.rotation, wide.offset, wide.uncertainty = scan.rotation, scan.offset, \
            scan.uncertainty
        fig = wide.plot(marks={k: (v[0], v[1]) for k, v in rows.items() if k != "scan"})
        fig.savefig(png, dpi=100)
        print(f"  curve -> {png}")


if __name__ == "__main__":
    main()
