"""Time stack.quality() and the tilt-axis scan; print the figures.

    python benchmarks/bench_quality.py              # 77 × 256² and 151 × 1024²
    python benchmarks/bench_quality.py --parts small
    python benchmarks/bench_quality.py --parts e2e --seeds 0 1 2   # accuracy, end to end
    python benchmarks/bench_quality.py --parts floor               # where the floor comes from
    python benchmarks/bench_quality.py --parts scan                # scan errors over seeds

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
    p.add_argument("--parts", default="small,large", help="small, large, needle, e2e, floor, scan")
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
    if "floor" in parts:
        floor()
    if "scan" in parts:
        scan_seeds()
    print(f"load average {os.getloadavg()[0]:.2f}")


ORACLE = "the true alignment, resampled once (fourier): the oracle"


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
            vs = f", vs the oracle {e / out[ORACLE] - 1:+.1%}" if ORACLE in out else ""
            print(f"  {name:72s} {e:.4f} (vs ideal {e / ideal - 1:+.1%}{vs})", flush=True)

    rows = Rows()
    rows.append(("ideal (the unmisaligned projections)", ideal))
    mis = res.misalignment
    exact = raw.apply_shifts(-mis.shifts).trans_stack(yshift=-res.tilt_shift,
                                                      angle=-res.tilt_rotation)
    rows.append(("the true alignment, replayed step by step", error(exact)))
    rows.append(("the true alignment, resampled once (cubic)",
                 error(exact.align_other(raw, interpolation="cubic"))))
    # the best any aligner that resamples the data can do with this data: the true
    # alignment, applied as the pipeline applies its own (one Fourier resampling)
    rows.append((ORACLE, error(exact.align_other(raw, interpolation="fourier"))))
    reg = raw.stack_register("COM-CL")
    for method in ("CoM", "MassProfile"):
        try:
            ali = reg.tilt_align(method)
        except ValueError as exc:  # our errors are ValueErrors
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
    for name, kw in (("CoM", {}), ("MaxImage", {"also_shift": True}), ("MassProfile", {})):
        t = time.perf_counter()
        r = reg.tilt_align(name, **kw).metadata.Tomography.tilt_align_result
        rows[name] = (r["rotation"], r["yshift"], time.perf_counter() - t)
    t = time.perf_counter()
    scan = reg.tilt_axis_scan()
    rows["scan"] = (scan.rotation, scan.offset, time.perf_counter() - t)
    print(f"needle {reg.data.shape}: registered with PC")
    for name, (rot, off, dt) in rows.items():
        o = "" if off is None else f", offset {off:.2f} px"
        print(f"  {name:9s} rotation {rot:.2f}°{o}  ({dt:.1f} s)")
    print(f"  scan uncertainty (bootstrap) {scan.uncertainty[0]:.3f}°, "
          f"{scan.uncertainty[1]:.3f} px")
    from etspy_widgets.engine.align._tiltaxis import offset_search

    found = offset_search(np.asarray(reg.data), reg.tilt_values, rotation=scan.rotation)
    print(f"  MaxImage's offset search (also_shift) at the scan's rotation: "
          f"{found['yshift']:.2f} px")
    wide = reg.tilt_axis_scan(rotations=np.arange(-6, 1.01, 0.05), bootstrap=0,
                              record=False)
    best = wide.surface.min()
    for name in ("CoM", "MaxImage", "MassProfile"):
        rot, off, _ = rows[name]
        i = int(np.argmin(np.abs(wide.rotations - rot)))
        j = int(np.argmin(np.abs(wide.offsets - off)))
        print(f"  criterion at {name}'s rotation (least over offsets) / at the minimum: "
              f"{wide.rotation_curve[i] / wide.rotation_curve.min():.3f}; at its rotation "
              f"and offset: {wide.surface[i, j] / best:.2f}")
    if png:
        wide.rotation, wide.offset, wide.uncertainty = scan.rotation, scan.offset, \
            scan.uncertainty
        fig = wide.plot(marks={k: (v[0], v[1]) for k, v in rows.items() if k != "scan"})
        fig.savefig(png, dpi=100)
        print(f"  curve -> {png}")


def scan_seeds():
    """The tilt-axis scan's errors on noisy (10 % Gaussian) simulated series with a known
    axis, over seeds (128², 71 tilts ±70°; the correction found against the applied one)."""
    from etspy_widgets.engine import simulation as sim
    from etspy_widgets.engine.quality import tilt_axis_scan

    tilts = np.arange(-70, 71, 2.0)
    cases = [("catalyst", 2.5, -1.4, s) for s in range(12)]
    cases += [("catalyst", 1.2, 2.0, s) for s in range(3)]
    cases += [("needle", 1.7, 2.3, s) for s in range(4)] + [("needle", -1.3, 1.1, 3)]
    worst = {}
    for kind, rot, off, seed in cases:
        f = sim.simulate_catalyst if kind == "catalyst" else sim.simulate_needle
        r = f(size=128, misalign=True, minshift=0, maxshift=0, tiltshift=off, tiltrotate=rot,
              seed=seed, tilts=tilts, noise=True, noise_factor=0.1)
        res = tilt_axis_scan(np.asarray(r.stack.data), tilts, bootstrap=0)
        e_r, e_o = res["rotation"] + r.tilt_rotation, res["offset"] + r.tilt_shift
        w = worst.setdefault(kind, [0.0, 0.0, 0, 0])
        w[0], w[1] = max(w[0], abs(e_r)), max(w[1], abs(e_o))
        w[2] += abs(e_r) >= 0.05 or abs(e_o) >= 0.15
        w[3] += 1
        print(f"  noisy {kind} ({rot}°, {off} px), seed {seed}: error {e_r:+.3f}°, "
              f"{e_o:+.3f} px", flush=True)
    for kind, (wr, wo, miss, count) in worst.items():
        print(f"noisy {kind}: worst {wr:.3f}°, {wo:.3f} px; {miss} of {count} series miss "
              "0.05° / 0.15 px")


def _offset_strip_matrix(tilts, n, offsets):
    """ASTRA's "strip" matrix of an n × n slice with the detector of projection ``a``
    moved by ``offsets[a]`` pixels (a feature at ``u`` recorded at ``u + offset``): the
    per-projection shift across the axis put in the geometry instead of the data.
    Pure NumPy (exact trapezoid areas, as ``engine.project._sparse``), for this
    experiment only."""
    from scipy.sparse import csr_matrix

    def cdf(t, m, big):  # fraction of a unit pixel's footprint below t
        a = np.abs(t)
        half = 0.5 * (m + big)
        e = half - a
        f = np.where(a >= half, 1.0, np.where(a <= 0.5 * (big - m), 0.5 + a / big,
                                              1.0 - e * e / (2 * max(m, 1e-12) * big)))
        return np.where(t < 0, 1.0 - f, f)

    c = (n - 1) / 2.0
    z, y = np.mgrid[0:n, 0:n]
    rows, cols, vals = [], [], []
    for a, th in enumerate(np.deg2rad(tilts)):
        ca, sa = np.cos(th), np.sin(th)
        m, big = min(abs(ca), abs(sa)), max(abs(ca), abs(sa))
        u = ((y - c) * ca - (z - c) * sa + c + offsets[a] + 0.5).ravel()
        for k in range(-2, 3):
            d = np.floor(u).astype(np.int64) + k
            w = cdf(d + 1 - u, m, big) - cdf(d - u, m, big)
            ok = (w > 1e-9) & (d >= 0) & (d < n)
            rows.append(a * n + d[ok])
            cols.append(np.flatnonzero(ok))
            vals.append(w[ok])
    return csr_matrix((np.concatenate(vals).astype(np.float32),
                       (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(tilts) * n, n * n))


def _sirt(matrix, data, iterations=100):
    """SIRT-100 as ``reconstruct("SIRT", constrain=True)`` (the same algorithm and
    kernels), on a given matrix."""
    from etspy_widgets.engine.project import SparseProjector
    from etspy_widgets.engine.recon.algorithms import SIRT

    class Given(SparseProjector):
        def _build_csr(self):
            return (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32),
                    matrix.data.astype(np.float32), matrix.shape[0])

    n, ny, nx = data.shape
    proj = Given(np.zeros(n), ny, builder="given").with_threads(os.cpu_count() or 1)
    alg = SIRT(proj, np.ascontiguousarray(data.reshape(n * ny, nx), np.float32),
               constrain=True)
    for _ in range(iterations):
        alg.update()
    return alg.x.T.reshape(nx, ny, ny)


def floor(size=128, seed=0):
    """Where the true-alignment floor of ``end_to_end`` comes from: each part of its
    misalignment alone (same jitter, same seed), resampled once with the true values
    (Fourier), and the share of the aligned mass each misaligned series keeps in the
    frame. The shift across the axis also put in the geometry (no resampling at all),
    with the same SIRT-100 on the same matrix built both ways."""
    from scipy import ndimage
    from skimage.registration import phase_cross_correlation

    from etspy_widgets import TomoStack
    from etspy_widgets.engine import simulation as sim

    base = sim.simulate_catalyst(size=size, seed=seed)
    truth, tilts, aligned = base.volume, base.tilts, base.aligned
    jitter = sim.simulate_catalyst(size=size, misalign=True, tiltrotate=2.0, tiltshift=3.0,
                                   seed=seed).misalignment
    zero = np.zeros_like(jitter.shifts)

    def error(rec):
        rec = np.asarray(rec)
        shift = phase_cross_correlation(truth, rec, upsample_factor=20,
                                        normalization=None)[0]
        rec = ndimage.shift(rec, shift, order=3, mode="constant")
        return float(np.linalg.norm(rec - truth) / np.linalg.norm(truth))

    def sirt100(stack):
        return stack.reconstruct("SIRT", iterations=100, constrain=True,
                                 show_progressbar=False).data

    ideal = error(sirt100(TomoStack(aligned, tilts=tilts)))
    ideal_m = error(_sirt(_offset_strip_matrix(tilts, size, np.zeros(tilts.size)), aligned))
    print(f"floor ({size}² catalyst, seed {seed}): SIRT-100 error, ideal {ideal:.4f} "
          f"(the same SIRT on the matrix built here: {ideal_m:.4f})", flush=True)
    dy = np.stack([jitter.shifts[:, 0], zero[:, 0]], 1)
    dx = np.stack([zero[:, 0], jitter.shifts[:, 1]], 1)
    cases = {
        "jitter across the axis (dy) only": sim.Misalignment(dy),
        "tilt-axis shift 3 px only": sim.Misalignment(zero, 3.0),
        "tilt-axis shift 2.5 px only": sim.Misalignment(zero, 2.5),
        "jitter along the axis (dx) only": sim.Misalignment(dx),
        "dx only, rounded to whole pixels": sim.Misalignment(np.round(dx)),
        "tilt-axis rotation 2° only": sim.Misalignment(zero, 0.0, 2.0),
        "all of it (end_to_end's series)": jitter,
    }
    for name, mis in cases.items():
        data = sim.project(base.phantom, tilts, mis)
        kept = (data.sum((1, 2)) / aligned.sum((1, 2))).min()
        raw = TomoStack(data, tilts=tilts)
        exact = raw.apply_shifts(-mis.shifts).trans_stack(yshift=-mis.tilt_shift,
                                                          angle=-mis.tilt_rotation)
        e = error(sirt100(exact.align_other(raw, interpolation="fourier")))
        line = (f"  {name:34s} mass kept ≥ {kept:.4f}; resampled once {e:.4f} "
                f"({e / ideal - 1:+.1%})")
        if mis.tilt_rotation == 0 and not np.any(mis.shifts[:, 1]):
            m = _offset_strip_matrix(tilts, size, mis.shifts[:, 0] + mis.tilt_shift)
            e = error(_sirt(m, data))
            line += f"; in the geometry {e:.4f} ({e / ideal_m - 1:+.1%})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
