"""The ``watch`` and ``simulate-acquisition`` subcommands of ``etspy-widgets``."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from ._simulator import FORMATS, SCHEMES, Acquisition, load_dataset
from ._watcher import Watcher

EXIT_INTERRUPTED = 130


def _tilts_arg(value: str | None):
    if value is None or value in ("auto", "mdoc", "names", "metadata"):
        return value or "auto"
    path = Path(value)
    if path.suffix.lower() == ".mdoc":
        return path
    if path.is_file():  # a text file of angles, one per file in name order
        import numpy as np

        return np.loadtxt(path).reshape(-1).tolist()
    return value


def build_watch_script(watcher, args: argparse.Namespace) -> str:
    """The offline script of the files used, plus the reconstruction line."""
    lines = watcher.code.splitlines()
    if args.bin and args.bin > 1:
        lines.append(f"stack = stack.rebin(scale=(1, {args.bin}, {args.bin}))")
    rec = [f"method={args.method!r}"]
    if args.iterations is not None:
        rec.append(f"iterations={args.iterations}")
    if args.thickness is not None:
        rec.append(f"thickness={args.thickness}")
    lines.append(f"rec = stack.reconstruct({', '.join(rec)})")
    return "\n".join(lines) + "\n"


def cmd_watch(args: argparse.Namespace, cli) -> int:
    """``etspy-widgets watch`` (``cli``: the ``etspy_widgets.cli`` module that called)."""
    EXIT_FAILED, EXIT_OK, CLIError = cli.EXIT_FAILED, cli.EXIT_OK, cli.CLIError
    check_output, run_script, write_signal = cli.check_output, cli.run_script, cli.write_signal

    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(f"folder {folder}: no such folder")
    out = Path(args.output)
    check_output(out, args.overwrite)
    if args.bin is not None and args.bin < 1:
        raise CLIError(f"--bin must be >= 1; got {args.bin}")

    def report(event):
        print(f"[{event.count}] {event.kind} {event.name} ({event.tilt:+.1f} deg) "
              f"in {event.latency:.2f} s" + (f"; flagged: {event.flag}" if event.flag else ""),
              file=sys.stderr, flush=True)

    try:
        watcher = Watcher(folder, args.pattern, _tilts_arg(args.tilts), callback=report,
                          reconstruct={"register": not args.no_register, "volume_size": 0},
                          settle=args.settle, expected=args.expected,
                          idle_timeout=args.idle_timeout, marker=args.marker)
    except (ValueError, OSError) as err:
        raise CLIError(str(err).splitlines()[0]) from err
    code = EXIT_OK
    try:
        while not watcher.wait(0.5):
            if not watcher.running:
                break
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
        print("etspy-widgets watch: interrupted: reconstructing the projections in so far "
              "(Ctrl-C again to abandon; nothing is written then)", file=sys.stderr)
    finally:
        watcher.stop()
    for message in watcher.errors:
        print(f"etspy-widgets watch: {message}", file=sys.stderr)
    if watcher.count == 0:
        raise CLIError(f"no projection arrived in {folder} ({args.pattern})", EXIT_FAILED)
    source = build_watch_script(watcher, args)
    if args.print_script:
        print(source, end="")
    ns = run_script(source)
    write_signal(ns["rec"], out, args.overwrite)
    print(f"watched {watcher.count} projections ({watcher.end_reason or 'interrupted'}) -> "
          f"volume {tuple(ns['rec'].data.shape)} ({args.method}) -> {out}", file=sys.stderr)
    return code


def cmd_simulate(args: argparse.Namespace, cli) -> int:
    """``etspy-widgets simulate-acquisition``."""
    EXIT_OK, CLIError = cli.EXIT_OK, cli.CLIError

    if args.interval < 0:
        raise CLIError(f"--interval must be >= 0; got {args.interval}")
    if args.dataset != "catalyst" and not Path(args.dataset).exists():
        raise CLIError(f"--dataset {args.dataset}: neither 'catalyst' nor an existing file")
    stack = load_dataset(args.dataset, size=args.size, tilt_range=args.range, step=args.step,
                         seed=args.seed, noise=args.noise)
    try:
        acq = Acquisition(args.out_dir, stack, args.scheme, args.interval, fmt=args.format,
                          basename=args.basename, mdoc=not args.no_mdoc,
                          marker=args.marker or None, seed=args.seed)
    except ValueError as err:
        raise CLIError(str(err).splitlines()[0]) from err
    n = len(acq.order)
    print(f"writing {n} projections of {stack.data.shape[1]}x{stack.data.shape[2]} into "
          f"{args.out_dir} ({args.scheme}, every {args.interval:g} s)", file=sys.stderr)
    acq.start()
    try:
        while not acq.wait(0.5):
            pass
    except KeyboardInterrupt:
        acq.stop()
        print(f"etspy-widgets simulate-acquisition: interrupted after {len(acq.written)} of "
              f"{n} projections", file=sys.stderr)
        return EXIT_INTERRUPTED
    acq.join()
    print(f"wrote {len(acq.written)} projections", file=sys.stderr)
    return EXIT_OK


def add_commands(sub, cli) -> None:
    """Add ``watch`` and ``simulate-acquisition`` to the ``etspy-widgets`` parser."""

    p = sub.add_parser("watch", help="reconstruct a tilt series while its files arrive")
    p.add_argument("folder", help="folder the acquisition writes into, one projection per file")
    p.add_argument("-o", "--output", required=True, help="final volume (.hspy, .zspy or .mrc)")
    p.add_argument("--pattern", default="*.mrc", help="glob of the projection files")
    p.add_argument("--tilts", help="auto (default), mdoc, names, metadata, an .mdoc path, or a "
                   "text file of angles (one per file, in name order)")
    p.add_argument("--expected", type=int, help="the series ends after this many projections")
    p.add_argument("--idle-timeout", type=float, help="the series ends after this many "
                   "seconds without a new file")
    p.add_argument("--marker", default="acquisition.done", help="a file whose appearance "
                   "ends the series (default acquisition.done)")
    p.add_argument("--settle", type=float, default=0.5, help="seconds a file must keep its "
                   "size before it is read (0 when the writer renames finished files)")
    p.add_argument("--no-register", action="store_true", help="do not register the pairs")
    p.add_argument("--method", default="FBP", help="reconstruction method of the final volume")
    p.add_argument("--iterations", type=int)
    p.add_argument("--thickness", type=int)
    p.add_argument("--bin", type=int, default=1, help="bin the images by this factor first")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--print-script", action="store_true", help="print the Python that runs")
    p.set_defaults(func=functools.partial(cmd_watch, cli=cli))

    p = sub.add_parser("simulate-acquisition", help="write a tilt series into a folder one "
                       "projection at a time, as SerialEM does")
    p.add_argument("out_dir")
    p.add_argument("--dataset", default="catalyst", help="'catalyst' (simulated) or a file")
    p.add_argument("--scheme", default="dose-symmetric", choices=SCHEMES)
    p.add_argument("--interval", type=float, default=2.0, help="seconds between projections")
    p.add_argument("--format", default="mrc", choices=FORMATS)
    p.add_argument("--size", type=int, default=256, help="catalyst image size")
    p.add_argument("--range", type=float, default=60, help="catalyst tilts: ±range degrees")
    p.add_argument("--step", type=float, default=3, help="catalyst tilt step, degrees")
    p.add_argument("--noise", action="store_true", help="add noise to the catalyst")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--basename", default="tilt")
    p.add_argument("--no-mdoc", action="store_true", help="write no .mdoc")
    p.add_argument("--marker", default="acquisition.done", help="file written at the end "
                   "('' for none)")
    p.set_defaults(func=functools.partial(cmd_simulate, cli=cli))
