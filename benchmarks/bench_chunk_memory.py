"""Working memory of each reconstruction method per running chunk, and what it costs.

Run: ``python benchmarks/bench_chunk_memory.py`` (``--size 512 --tilts 61 --slices 16``).

Each case runs in a fresh subprocess: a random sinogram block ``(tilts, size, slices)``
(the operators' memory does not depend on the values), one ``reconstruct_stack`` call on
one thread in one chunk of all the slices, ``backend="matrix-free"`` (no matrix: what is
measured is the algorithm's own arrays, the memory that grows with the chunk). A thread
samples the resident set every 2 ms; the figure is the peak over the resident set just
before the call, less the output volume and less what the projector keeps for the
geometry (its caches: sums, SART's per-projection weights; they do not grow with the
chunk), per pixel of the chunk's volume (bytes per pixel and slice), next to what
``recon.stack.chunk_bytes_per_pixel`` budgets for the method (the default chunk is sized
so that a running chunk stays within ``CHUNK_BYTES``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CASE = r"""
import json, sys, threading, time
import numpy as np, psutil
from etspy_widgets.engine.recon.stack import reconstruct_stack
method, its, size, n_tilts, k = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
rng = np.random.default_rng(0)
data = rng.random((n_tilts, size, k), dtype=np.float32)
tilts = np.linspace(-60, 60, n_tilts)
kw = {"gray_levels": [0.0, 1.0], "dart_iterations": its} if method == "DART" else {}
# compile and warm on a tiny block first: the kernels' code is not the chunk's memory
reconstruct_stack(data[:, :32, :1].copy(), tilts, method, 1, ncores=1, chunk_size=1,
                  backend="matrix-free", client=None, show_progressbar=False, **kw)
proc = psutil.Process()
base = proc.memory_info().rss
peak = [base]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.002)
t = threading.Thread(target=sample); t.start()
t0 = time.perf_counter()
out = reconstruct_stack(data, tilts, method, its, ncores=1, chunk_size=k,
                        backend="matrix-free", client=None, show_progressbar=False, **kw)
sec = time.perf_counter() - t0
done.set(); t.join()
from etspy_widgets.engine.project import get_projector
def nbytes(v):
    if isinstance(v, np.ndarray):
        return v.nbytes
    if isinstance(v, (tuple, list)):
        return sum(nbytes(u) for u in v)
    return 0
cache = sum(nbytes(v) for v in get_projector(tilts, size, size, "matrix-free")._cache.values())
print(json.dumps({"peak": peak[0] - base, "out": out.nbytes, "seconds": sec, "cache": cache}))
"""

METHODS = (("FBP", 1), ("SIRT", 5), ("SART", 2), ("CGLS", 5), ("TV", 5), ("DART", 2))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--tilts", type=int, default=61)
    ap.add_argument("--slices", type=int, default=16)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from etspy_widgets.engine.recon.stack import CHUNK_BYTES, chunk_bytes_per_pixel

    n_pix = args.size * args.size
    print(f"{args.tilts} tilts × {args.size}², one chunk of {args.slices} slices, 1 thread, "
          f"matrix-free; CHUNK_BYTES {CHUNK_BYTES / 2**20:.0f} MiB per running chunk")
    print("| method | peak over output (MiB) | of which the projector's caches (MiB) | "
          "chunk: bytes per pixel and slice | budgeted | s |")
    print("|---|---|---|---|---|---|")
    for method, its in METHODS:
        res = subprocess.run([sys.executable, "-c", _CASE, method, str(its), str(args.size),
                              str(args.tilts), str(args.slices)], capture_output=True,
                             text=True, check=False, cwd=ROOT)
        if res.returncode != 0:
            print(f"| {method} | failed: {res.stderr.strip()[-300:]} |")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        extra = r["peak"] - r["out"]
        per = (extra - r["cache"]) / (n_pix * args.slices)
        print(f"| {method}-{its} | {extra / 2**20:.0f} | {r['cache'] / 2**20:.0f} | {per:.1f} | "
              f"{chunk_bytes_per_pixel(method)} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
