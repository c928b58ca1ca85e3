"""Record docs/img/live.gif: the live panes growing while a simulated acquisition runs.

Headless: the acquisition simulator writes the catalyst (dose-symmetric, ±60° by 3°, with a
dark and a blurred projection injected) into a temporary folder, ``etw.watch`` follows it,
and every few projections the live slice, the volume's orthoslice and the tilts so far
(the newest in red, those the live quality strip marks in orange with their reason) are
drawn with matplotlib; pillow writes the GIF.

    python scripts/make_live_gif.py [-o docs/img/live.gif]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from etspy_widgets import live

ROOT = Path(__file__).resolve().parents[1]


def frame(event, lo, hi) -> Image.Image:
    f = event.live
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8), dpi=72)
    axes[0].imshow(f.slice_images[1], cmap="gray", vmin=lo, vmax=hi)
    axes[0].set_title("live slice (x = ½)", fontsize=9)
    axes[1].imshow(f.orthoslices[0], cmap="gray", vmin=lo, vmax=hi)
    axes[1].set_title("volume, central plane", fontsize=9)
    theta = np.deg2rad(f.tilts)
    flagged = set(f.quality.flagged) if f.quality is not None else set()
    for i, t in enumerate(theta):
        bad = i in flagged
        axes[2].plot([0, np.sin(t)], [0, np.cos(t)], color="tab:orange" if bad else
                     "tab:blue", lw=2 if bad else 1)
    axes[2].plot([0, np.sin(np.deg2rad(event.tilt))], [0, np.cos(np.deg2rad(event.tilt))],
                 color="tab:red", lw=2)
    marks = [f"{f.tilts[i]:+.0f}° {f.quality.table['flag'].iloc[i]}" for i in sorted(flagged)]
    axes[2].text(0, -0.08, "flagged: " + (", ".join(marks) if marks else "none"),
                 ha="center", va="top", fontsize=8, color="tab:orange" if marks else "0.4")
    axes[2].set_xlim(-1, 1)
    axes[2].set_ylim(-0.25, 1.05)
    axes[2].set_aspect("equal")
    axes[2].set_title(f"{f.n} tilts in, last {event.tilt:+.0f}°", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "img" / "live.gif"))
    args = parser.parse_args(argv)
    stack = live.load_dataset("catalyst", size=128, step=3)
    events = []
    with tempfile.TemporaryDirectory() as tmp:
        acq = live.Acquisition(tmp, stack, "dose-symmetric", 0.15,
                               faults={9: "dark", 31: "blurred"})
        watcher = live.watch(tmp, settle=0, poll=0.03, expected=len(stack.tilt_values),
                             callback=events.append)
        try:
            acq.start()
            acq.join(300)
            watcher.wait(300)
        finally:
            acq.stop()
            watcher.stop()
    final = events[-1].live.slice_images[1]
    lo, hi = np.percentile(final, [1, 99.5])
    shown = [e for e in events if e.live is not None]
    picks = sorted({*range(0, len(shown), 3), len(shown) - 1})
    frames = [frame(shown[k], lo, hi) for k in picks]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=350, loop=0,
                   optimize=True)
    print(f"wrote {out} ({len(frames)} frames, {out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
