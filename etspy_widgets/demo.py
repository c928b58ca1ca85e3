"""Headless demo: simulate the catalyst, reconstruct it, write central slices to a PNG.

No download and no display needed::

    python -m etspy_widgets.demo -o demo.png            # 200² catalyst, FBP, ~10 s
    python -m etspy_widgets.demo --size 600 -o full.png  # ETSpy's full 600² series

The picture shows the reconstruction's three central planes (top) above the same planes of
the simulation's ground truth (bottom), with the relative RMS error in the title.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .engine import simulation
from .engine.atomic import atomic_path

DEFAULT_SIZE = 200


def _planes(volume: np.ndarray) -> dict[str, np.ndarray]:
    """Central XY (top view), XZ and YZ planes of a ``(nx, thickness, ny)`` volume.

    Shown the way a projection at 0° is: y down, x across; z (thickness) down.
    """
    nx, nz, ny = volume.shape
    return {
        f"XY (z = {nz // 2})": volume[:, nz // 2, :].T,
        f"XZ (y = {ny // 2})": volume[:, :, ny // 2].T,
        f"YZ (x = {nx // 2}, one slice)": volume[nx // 2],
    }


def run(output, size: int = DEFAULT_SIZE, method: str = "FBP", iterations: int = 20,
        seed: int = 0) -> dict:
    """Simulate, reconstruct and save the figure; return the figures of merit."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t0 = time.perf_counter()
    truth = simulation.simulate_catalyst(size=size, seed=seed)
    t1 = time.perf_counter()
    rec = truth.stack.reconstruct(method, iterations=iterations, show_progressbar=False)
    t2 = time.perf_counter()
    volume = np.asarray(rec.data, dtype=np.float32)
    expected = truth.volume
    rel_rmse = float(np.linalg.norm(volume - expected) / np.linalg.norm(expected))

    fig = Figure(figsize=(12, 8.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    vmax = float(np.percentile(expected[expected > 0], 99.5)) if expected.any() else 1.0
    for row, (label, vol) in enumerate((("reconstruction", volume), ("ground truth", expected))):
        for ax, (name, img) in zip(axes[row], _planes(vol).items(), strict=True):
            ax.imshow(img, cmap="gray", vmin=0, vmax=vmax)
            ax.set_title(f"{label}: {name}", fontsize=10)
            ax.set_axis_off()
    n_tilts = truth.tilts.size
    note = "" if size == 600 else ", downsampled from ETSpy's 600²"
    fig.suptitle(
        f"Simulated catalyst {size}² × {n_tilts} tilts ({truth.tilts[0]:g}..{truth.tilts[-1]:g}°"
        f"{note}): {method}"
        + (f" {iterations} it." if method.upper() not in ("FBP", "BP") else "")
        + f" in {t2 - t1:.1f} s, relative RMS error {rel_rmse:.3f}")
    output = Path(output).resolve()  # reported in full: the current folder by default
    with atomic_path(output, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=80, format=output.suffix.lstrip(".") or "png")
    return {"output": str(output), "size": size, "method": method,
            "simulate_s": t1 - t0, "reconstruct_s": t2 - t1, "relative_rmse": rel_rmse}


def main(argv=None) -> int:
    """Command line: ``python -m etspy_widgets.demo [-o demo.png] [--size N] [--method M]``."""
    parser = argparse.ArgumentParser(
        prog="python -m etspy_widgets.demo",
        description="Reconstruct the simulated catalyst and write its central slices to a PNG.")
    parser.add_argument("-o", "--output", default="etspy-widgets-demo.png",
                        help="PNG file to write (default: %(default)s in the current folder)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE,
                        help="image size of the simulated series; 600 is ETSpy's "
                             "(default: %(default)s, quicker)")
    parser.add_argument("--method", default="FBP",
                        help="reconstruction method: FBP, BP, SIRT, SART, ... (default: FBP)")
    parser.add_argument("--iterations", type=int, default=20,
                        help="iterations of iterative methods (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    args = parser.parse_args(argv)
    if args.size < 16:
        parser.error("--size must be at least 16")
    result = run(args.output, size=args.size, method=args.method, iterations=args.iterations,
                 seed=args.seed)
    print(f"Wrote {result['output']}: {args.method} of a {args.size}² catalyst in "
          f"{result['reconstruct_s']:.1f} s (simulation {result['simulate_s']:.1f} s), "
          f"relative RMS error against the ground truth {result['relative_rmse']:.3f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
