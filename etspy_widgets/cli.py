"""The ``etspy-widgets`` command: headless pipeline, replay, file info, JupyterLab and app.

Every processing run is written as a Python script first (the same lines the
workbench logs) and then executed, so a command-line result equals the Python
API's by construction and carries its own history.

Exit codes follow Unix habits: 0 success, 1 a processing error, 2 bad usage or
bad input (missing file, unknown method, unwritable output), 141 when the output pipe
closed early (``| head``). Errors are one line
on stderr; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from . import load
from ._script import Code, assign, call, header, write_notebook
from .actions import render, verbs
from .demo import main as demo_main
from .engine.atomic import atomic_path, check_target
from .engine.errors import (
    DiskFullError,
    NonFiniteResultError,
    OutputExistsError,
    TomographyError,
)
from .engine.io.export import save as export_save
from .engine.testdata import cache_root, default_data_folder, fetch_test_data, is_complete
from .live._cli import add_commands as add_live_commands
from .replay import replay

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose pipe closed
OUTPUT_FORMATS = (".hspy", ".zspy", ".mrc", ".emd", ".zarr")
# --format: the writer, whatever the extension (.emd = tomviz EMD, .zarr = OME-Zarr)
FORMAT_CHOICES = ("hspy", "zspy", "mrc", "tomviz", "ome-zarr")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


# -- script building -----------------------------------------------------------------------
def build_reconstruct_script(args: argparse.Namespace) -> list[str]:
    """The Python lines that ``reconstruct`` runs, one per step, with named arguments.

    Written by the project's one writer (``actions.verbs`` rendered like the workbench's),
    so each step's line equals the history line the engine records for it.
    """
    load_kwargs = {}
    if args.tilts:
        load_kwargs["tilts"] = Code(call("np.loadtxt", args=(str(Path(args.tilts).resolve()),)))
    if args.lazy:
        load_kwargs["lazy"] = True
    steps = [verbs.rebin((1, args.bin, args.bin))] if args.bin and args.bin > 1 else []
    if args.register:
        steps.append(verbs.register(args.register))
    if args.tilt_align:
        steps.append(verbs.tilt_align(args.tilt_align))
    steps.append(verbs.reconstruct(args.method, iterations=args.iterations,
                                   thickness=args.thickness,
                                   constrain=True if args.constrain else None,
                                   chunk_size=args.chunk_size))
    body = [assign("stack", call("etw.load", load_kwargs,
                                 args=(str(Path(args.input).resolve()),)))]
    body += [render(step) for step in steps]
    lines = header(body)
    if args.scheduler:
        # the active client runs the chunks (reconstruct's client="auto"); the history of
        # the result keeps no reference to it, so it replays without the cluster
        lines += ["from dask.distributed import Client", assign("client", call(
            "Client", args=(args.scheduler,)))]
    return lines + body


def check_reconstruct_args(args: argparse.Namespace) -> None:
    """Refuse combinations that cannot work, before any work is done."""
    if args.lazy and (args.register or args.tilt_align or (args.bin and args.bin > 1)):
        raise CLIError("--lazy reconstructs an aligned series as it is; register, tilt-align "
                       "or bin it first (without --lazy) and save it, then reconstruct that")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise CLIError(f"--chunk-size must be >= 1; got {args.chunk_size}")
    if args.bin is not None and args.bin < 1:
        raise CLIError(f"--bin must be >= 1; got {args.bin}")
    for name in ("iterations", "thickness"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "iterations" else 1):
            raise CLIError(f"--{name} must be >= {0 if name == 'iterations' else 1}; got {value}")
    if args.tilts:
        check_tilts_file(Path(args.tilts))
    if args.scheduler:
        check_scheduler(args.scheduler)


def check_tilts_file(path: Path) -> None:
    """A ``--tilts`` file must be a readable text file of finite numbers (else exit 2)."""
    import numpy as np

    if not path.is_file():
        raise CLIError(f"--tilts {path}: no such file")
    try:
        with warnings.catch_warnings():  # an empty file: refused below, in one line
            warnings.simplefilter("ignore", UserWarning)
            tilts = np.loadtxt(path, ndmin=1, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as err:
        raise CLIError(f"--tilts {path}: not a text file of numbers, one tilt angle (degrees) "
                       f"per line ({str(err).splitlines()[0]})") from err
    if tilts.size == 0 or not np.isfinite(tilts).all():
        raise CLIError(f"--tilts {path}: holds no tilt angles or non-finite values; give one "
                       "finite angle in degrees per line")


def check_scheduler(address: str, timeout: float = 3.0) -> None:
    """Refuse (exit 2) a ``--scheduler`` address that is malformed or does not answer."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise CLIError(f"--scheduler {address!r}: not an address; give host:port, e.g. "
                       "tcp://127.0.0.1:8786")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise CLIError(f"--scheduler {address}: no scheduler answers there ({err}); start "
                       "one (dask scheduler) or fix the address") from err


def run_script(source: str, *, trusted: bool = False, accept_changed: bool = False) -> dict:
    """Execute a script with ``etspy_widgets.replay`` (as the workbench's log replays).

    ``trusted`` for the scripts this CLI writes itself (and ``replay --trust``); anything
    else is checked against the log grammar first. Returns the namespace; ``stack`` and
    ``rec`` in it carry the lines that made them as their ``metadata.Tomography.history``.
    """
    try:
        return replay(source, trusted=trusted, accept_changed=accept_changed).namespace
    except (TomographyError, FileNotFoundError, PermissionError) as err:
        if exit_code(err) != EXIT_USAGE:  # a full disk, a NaN result: processing errors
            raise
        raise CLIError(str(err).splitlines()[0] if str(err) else repr(err)) from err


# -- writing -------------------------------------------------------------------------------
def check_output(path: Path, overwrite: bool, fmt: str | None = None) -> None:
    """Fail early (before any work) when ``path`` cannot be written."""
    if fmt is None and path.suffix.lower() not in OUTPUT_FORMATS:
        raise CLIError(f"output {path}: unsupported format; use one of {', '.join(OUTPUT_FORMATS)}")
    if path.exists() and not overwrite:
        raise CLIError(f"output {path} exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"output folder {parent} is not writable")


def write_signal(signal, path: Path, overwrite: bool, fmt: str | None = None) -> Path:
    """Write a RecStack/TomoStack to hspy, zspy, MRC, tomviz EMD or OME-Zarr, atomically."""
    if fmt in ("hspy", "zspy"):
        return signal.save(path, overwrite=overwrite, file_format=fmt.upper())
    if fmt is None and path.suffix.lower() == ".mrc":
        return write_mrc(signal, path, overwrite)
    if fmt is not None or path.suffix.lower() in (".emd", ".zarr"):
        return export_save(signal, path, fmt, overwrite)[0]
    return signal.save(path, overwrite=overwrite)


def write_mrc(signal, path: Path, overwrite: bool) -> Path:
    """Write the data as an MRC volume (float32) with its voxel size in ångströms."""
    import mrcfile
    import numpy as np

    data = np.asarray(signal.data, dtype=np.float32)
    scale = signal.axes_manager.signal_axes[0].scale
    units = str(signal.axes_manager.signal_axes[0].units)
    voxel = {"nm": 10.0, "µm": 1e4, "um": 1e4, "Å": 1.0, "A": 1.0}.get(units)
    with atomic_path(path, overwrite=overwrite, need_bytes=data.nbytes + 1024) as tmp, \
            mrcfile.new(tmp, overwrite=True) as mrc:
        mrc.set_data(data)
        if voxel is not None:
            mrc.voxel_size = float(scale) * voxel
    return path


# -- commands ------------------------------------------------------------------------------
def cmd_reconstruct(args: argparse.Namespace) -> int:
    if not Path(args.input).exists():
        raise CLIError(f"input {args.input}: no such file")
    out = Path(args.output)
    check_output(out, args.overwrite, args.format)
    check_reconstruct_args(args)
    lines = build_reconstruct_script(args)
    source = "\n".join(lines) + "\n"
    if args.print_script:
        print(source, end="")
    ns = run_script(source, trusted=True)  # the script this command wrote
    rec = ns["rec"]
    try:
        write_signal(rec, out, args.overwrite, args.format)
    finally:
        if ns.get("client") is not None:
            ns["client"].close()
    stack = ns["stack"]
    print(
        f"reconstructed {stack.data.shape[0]} projections of {stack.data.shape[1]}x"
        f"{stack.data.shape[2]} -> volume {tuple(rec.data.shape)} ({args.method}) -> {out}",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    log = Path(args.log)
    if not log.exists():
        raise CLIError(f"log {args.log}: no such file")
    out = Path(args.output)
    check_output(out, args.overwrite, args.format)
    is_script = log.suffix.lower() in (".py", ".txt")
    source = log.read_text() if is_script else history_source(log)
    if args.input:
        source = _replace_input(source, args.input)
    if args.notebook:
        check_target(Path(args.notebook), args.overwrite)  # before the work, not after
    ns = run_script(source, trusted=args.trust, accept_changed=args.accept_changed)
    result = ns.get("rec") if ns.get("rec") is not None else ns.get("stack")
    if result is None:
        raise CLIError("the log defines neither `rec` nor `stack`; give a log that "
                       "loads a stack")
    write_signal(result, out, args.overwrite, args.format)
    if args.notebook:  # after the result: an interrupted or failed replay writes neither
        written = write_notebook(source, Path(args.notebook), overwrite=args.overwrite)
        print(f"wrote {written}", file=sys.stderr)
    print(f"replayed {log} -> {out}", file=sys.stderr)
    return EXIT_OK


def history_source(path: Path) -> str:
    """The processing history stored in a saved signal, as a runnable script."""
    import hyperspy.api as hs

    signal = hs.load(path)
    history = list(getattr(signal, "history", []))
    if not history:
        raise CLIError(f"{path} holds no processing history to replay")
    if not any(line.startswith("import etspy_widgets") for line in history):
        history.insert(0, "import etspy_widgets as etw")
    return "\n".join(history) + "\n"


def _replace_input(source: str, new_input: str) -> str:
    """Point the log's first ``stack = etw.load(...)`` line at another file."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("stack = ") and "load(" in line:
            lines[i] = f"stack = etw.load({str(Path(new_input).resolve())!r})"
            return "\n".join(lines) + "\n"
    raise CLIError("--input given but the log has no `stack = etw.load(...)` line")


def cmd_info(args: argparse.Namespace) -> int:
    if not Path(args.file).exists():
        raise CLIError(f"{args.file}: no such file")
    try:
        stack = load(args.file)
    except Exception as err:  # any reader error is bad input here
        raise CLIError(f"{args.file}: {str(err).splitlines()[0]}") from err
    print(describe(stack))
    return EXIT_OK


def describe(signal) -> str:
    """A short human-readable summary of a stack: shape, tilts, calibration, alignment."""
    import numpy as np

    lines = [f"{type(signal).__name__}: data {tuple(signal.data.shape)} {signal.data.dtype}"]
    for ax in signal.axes_manager.signal_axes:
        lines.append(f"  axis {ax.name}: {ax.size} x {ax.scale:g} {ax.units}")
    if hasattr(signal, "tilt_values"):
        tilts = signal.tilt_values
        if len(tilts):
            steps = np.diff(tilts)
            step = f", step {np.median(steps):g}" if len(steps) else ""
            lines.append(f"  tilts: {len(tilts)} from {tilts.min():g} to {tilts.max():g} deg{step}")
        shifts = signal.shift_values
        lines.append(
            f"  shifts: max |y| {np.abs(shifts[:, 0]).max():.2f} px, "
            f"max |x| {np.abs(shifts[:, 1]).max():.2f} px"
        )
    tomo = signal.metadata.get_item("Tomography")
    if tomo is not None:
        for key in ("tiltaxis", "xshift", "yshift", "cropped"):
            if tomo.has_item(key):
                lines.append(f"  {key}: {tomo.get_item(key)}")
    history = getattr(signal, "history", [])
    if history:
        lines.append(f"  history: {len(history)} line(s)")
        lines.extend(f"    {h}" for h in history)
    return "\n".join(lines)


def quickstart_notebook() -> Path:
    """The quick-start notebook shipped with the project."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks" / "quickstart.ipynb",
                      here / "notebooks" / "quickstart.ipynb"):
        if candidate.exists():
            return candidate
    raise CLIError("the quick-start notebook was not found (notebooks/quickstart.ipynb)",
                   EXIT_FAILED)


# JupyterLab's defaults changed for `etspy-widgets lab`: no "get notified about news?" pop-up and
# no update check (a user's own choice in the settings editor still wins over these)
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification":
                 {"fetchNews": "false", "checkForUpdates": False}}


def lab_settings_dir() -> Path:
    """An application-settings folder for JupyterLab: the installation's, plus our overrides.

    JupyterLab reads default overrides from ``<app_settings_dir>/overrides.d/*.json``; the
    installation's folder is copied (it may not be writable) and ours added.
    """
    import json
    import shutil

    target = cache_root() / "lab-settings"
    target.mkdir(parents=True, exist_ok=True)
    try:
        from jupyterlab.commands import get_app_dir

        original = Path(get_app_dir()) / "settings"
    except Exception:  # no JupyterLab: the launch below reports it
        original = None
    if original is not None and original.is_dir():
        shutil.copytree(original, target, dirs_exist_ok=True)
    (target / "overrides.d").mkdir(exist_ok=True)
    (target / "overrides.d" / "zz-etspy-widgets.json").write_text(json.dumps(LAB_OVERRIDES))
    return target


def lab_command(nb: Path, args: argparse.Namespace) -> tuple[list[str], dict, str | None]:
    """The JupyterLab command line, its environment and the notebook's URL (None when the
    user passed their own token or address options, which we cannot predict)."""
    import secrets
    from urllib.parse import quote

    env = dict(os.environ)
    tree = f"/lab/tree/{quote(nb.name)}"
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={nb.parent}",
           f"--ServerApp.default_url={tree}",  # what the browser opens: the notebook
           "--ServerApp.port_retries=0",  # the printed URL's port or a clear failure
           "--LabApp.news_url=None", f"--LabApp.app_settings_dir={lab_settings_dir()}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.expose_app_in_browser=True", f"--port={args.port}", f"--ip={args.ip}"]
    if args.no_browser:
        cmd.append("--no-browser")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    cmd.extend(args.extra)
    url = None
    if not any("token" in a.lower() or "base_url" in a.lower() for a in args.extra):
        # our token, through the environment (not visible in the process list)
        env["JUPYTER_TOKEN"] = env.get("JUPYTER_TOKEN") or secrets.token_hex(24)
        host = "127.0.0.1" if args.ip in ("", "0.0.0.0", "127.0.0.1") else args.ip
        url = f"http://{host}:{args.port}{tree}?token={env['JUPYTER_TOKEN']}"
    return cmd, env, url


def cmd_lab(args: argparse.Namespace) -> int:
    nb = (Path(args.notebook) if args.notebook else quickstart_notebook()).resolve()
    if not nb.is_file():
        raise CLIError(f"notebook not found: {nb}")
    cmd, env, url = lab_command(nb, args)
    print("starting:", " ".join(cmd), file=sys.stderr)
    if url:
        opens = "open" if args.no_browser else "opening"
        print(f"the quick-start notebook: {url}\n({opens} it in a browser; Ctrl-C stops "
              "the server)", flush=True)
    os.chdir(nb.parent)
    os.execve(sys.executable, cmd, env)
    return EXIT_OK  # pragma: no cover


def cmd_app(args: argparse.Namespace) -> int:
    nb = Path(args.notebook) if args.notebook else quickstart_notebook()
    if not nb.is_file():
        raise CLIError(f"notebook not found: {nb}")
    cmd = [sys.executable, "-m", "voila", str(nb), f"--port={args.port}", "--no-browser",
           *args.extra]
    try:
        import voila  # noqa: F401
    except ImportError as err:
        raise CLIError("the app needs Voila: pip install voila", EXIT_FAILED) from err
    os.execv(sys.executable, cmd)
    return EXIT_OK  # pragma: no cover


def build_qc_script(args: argparse.Namespace) -> list[str]:
    """The Python lines that prepare the stack for ``qc``: load, register, tilt-align."""
    lines = ["import etspy_widgets as etw",
             f"stack = etw.load({str(Path(args.input).resolve())!r})"]
    if args.register:
        lines.append(f"stack = stack.stack_register(method={args.register!r})")
    if args.tilt_align:
        lines.append(f"stack = stack.tilt_align(method={args.tilt_align!r})")
    return lines


def cmd_qc(args: argparse.Namespace) -> int:
    """Judge a tilt series' alignment: per-projection CSV, optional figure and series row."""
    if not Path(args.input).exists():
        raise CLIError(f"input {args.input}: no such file")
    targets = [(Path(args.output), ".csv")]
    if args.plot:
        targets.append((Path(args.plot), ".png"))
    if args.series:
        targets.append((Path(args.series), ".csv"))
    for path, suffix in targets:
        if path.suffix.lower() != suffix:
            raise CLIError(f"output {path}: expected a {suffix} file")
        if path.exists() and not args.overwrite:
            raise CLIError(f"output {path} exists; pass --overwrite to replace it")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise CLIError(f"output folder {parent} does not exist or is not writable")
    source = "\n".join(build_qc_script(args)) + "\n"
    if args.print_script:
        print(source, end="")
    ns = run_script(source)
    report = ns["stack"].quality(scan=bool(args.scan))
    # all outputs or none: each is written under a temporary name, and they are renamed
    # into place together once every one is complete (an error or a signal removes them all)
    with contextlib.ExitStack() as outputs:
        tmp_csv = outputs.enter_context(atomic_path(args.output, overwrite=args.overwrite))
        report.to_csv(tmp_csv, overwrite=True)
        if args.series:
            tmp = outputs.enter_context(atomic_path(args.series, overwrite=args.overwrite))
            report.to_csv(tmp, overwrite=True, series=True)
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            fig = report.plot()
            tmp = outputs.enter_context(atomic_path(args.plot, overwrite=args.overwrite))
            fig.savefig(tmp, dpi=110, format="png")
    s = report.summary
    res = "n/a" if s["resolution"] is None else f"{s['resolution']:.3g} {s['units']}"
    print(f"qc: {len(report.table)} projections, {s['n_flagged']} flagged "
          f"{report.flagged}, RMS residual {s['rms_residual']:.4f}, resolution {res} "
          f"-> {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    check_target(Path(args.output), overwrite=True)  # a missing folder: exit 2 before work
    return demo_main(["-o", args.output]) or EXIT_OK


def cmd_data_fetch(args: argparse.Namespace) -> int:
    dest = Path(args.dest).expanduser() if args.dest else default_data_folder()
    already = is_complete(dest)
    if not already and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        # refused before the download (bad input: exit 2, nothing fetched)
        raise CLIError(f"--dest {dest} exists and was not unpacked by `etspy-widgets data "
                       "fetch`; remove it or choose another folder (--dest DIR)")
    try:
        folder = fetch_test_data(dest, progress=not args.quiet)
    except OutputExistsError as err:  # an occupied --dest: bad input
        raise CLIError(str(err), EXIT_USAGE) from err
    except OSError as err:  # pip failed, checksum
        raise CLIError(str(err), EXIT_FAILED) from err
    print(f"ETSpy's test data {'already in' if already else 'in'} {folder}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etspy-widgets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("reconstruct", help="align and reconstruct a tilt series")
    p.add_argument("input", help="tilt series (MRC + .rawtlt/.mdoc, DM3/DM4, HSPY/ZSPY)")
    p.add_argument("-o", "--output", required=True, help="output volume (.hspy, .zspy, .mrc, "
                   ".emd = tomviz, .zarr = OME-Zarr)")
    p.add_argument("--format", choices=FORMAT_CHOICES, help="output format, whatever the "
                   "extension (default: from the extension)")
    p.add_argument("--tilts", help="text file of tilt angles (one per projection)")
    p.add_argument("--register", metavar="METHOD", help="stack_register method (PC, StackReg, "
                   "COM, COM-CL, PM)")
    p.add_argument("--tilt-align", metavar="METHOD",
                   help="tilt_align method (CoM, MaxImage, MassProfile)")
    p.add_argument("--method", default="FBP", help="reconstruction method (default FBP)")
    p.add_argument("--iterations", type=int, help="iterations for iterative methods")
    p.add_argument("--thickness", type=int, help="volume thickness in pixels")
    p.add_argument("--constrain", action="store_true", help="clip negative values")
    p.add_argument("--bin", type=int, default=1, help="bin the images by this factor first")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address "
                   "(slice chunks run on its workers)")
    p.add_argument("--lazy", action="store_true", help="read the series lazily and write the "
                   "volume block by block (for data larger than memory; output .zspy)")
    p.add_argument("--chunk-size", type=int, help="slices per task (default: automatic; "
                   "32 with --lazy)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--print-script", action="store_true", help="print the Python that runs")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("replay", help="re-run a workbench code log or a saved result's history")
    p.add_argument("log", help="a .py log, or a .hspy/.zspy whose history to replay")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--format", choices=FORMAT_CHOICES, help="output format (default: from "
                   "the extension)")
    p.add_argument("--input", help="run the log on another tilt-series file")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--trust", action="store_true", help="run the log as arbitrary Python "
                   "(THIS RUNS CODE: only for a script you wrote or read); by default only "
                   "the grammar the project writes is run")
    p.add_argument("--accept-changed", action="store_true", help="replay even when a source "
                   "file's SHA-256 differs from the one recorded in the history")
    p.add_argument("--notebook", help="also write the log as a notebook (.ipynb)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("info", help="print shape, tilts, calibration and alignment metadata")
    p.add_argument("file")
    p.set_defaults(func=cmd_info)

    for name, func, port in (("lab", cmd_lab, 8888), ("app", cmd_app, 8866)):
        p = sub.add_parser(name, help=("open JupyterLab on the quick-start notebook" if name ==
                                       "lab" else "serve the workbench as a Voila page"))
        p.add_argument("--notebook", help="another notebook to open")
        p.add_argument("--port", type=int, default=port)
        p.add_argument("--ip", default="127.0.0.1")
        p.add_argument("--no-browser", action="store_true")
        p.add_argument("extra", nargs=argparse.REMAINDER,
                       help="further options for the server, after --")
        p.set_defaults(func=func)

    p = sub.add_parser("qc", help="judge the alignment: per-projection metrics and bad "
                       "projections to CSV")
    p.add_argument("input", help="tilt series (MRC + .rawtlt/.mdoc, DM3/DM4, HSPY/ZSPY)")
    p.add_argument("-o", "--output", required=True, help="per-projection table (.csv)")
    p.add_argument("--register", metavar="METHOD", help="stack_register method first")
    p.add_argument("--tilt-align", metavar="METHOD", help="tilt_align method first")
    p.add_argument("--plot", metavar="PNG", help="also write the report figure")
    p.add_argument("--series", metavar="CSV", help="also write the one-row series metrics "
                   "(AreTomo3's TiltSeries_Metrics.csv names)")
    p.add_argument("--scan", action="store_true", help="also run the tilt-axis scan")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--print-script", action="store_true", help="print the Python that runs")
    p.set_defaults(func=cmd_qc)

    p = sub.add_parser("data", help="ETSpy's published test data")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("fetch", help="download ETSpy 1.3.0's test data (its wheel, through "
                            "pip) into the user cache; does nothing when they are there")
    p.add_argument("--dest", help="folder to put them in (default ~/.cache/etspy-widgets/"
                   "etspy-testdata, where the package looks)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_data_fetch)

    p = sub.add_parser("demo", help="headless demo: reconstruct the simulated catalyst to a PNG")
    p.add_argument("-o", "--output", default="etspy-widgets-demo.png")
    p.set_defaults(func=cmd_demo)

    add_live_commands(sub, sys.modules[__name__])  # watch, simulate-acquisition
    return parser


def _terminate(signum, frame):
    """SIGTERM (and SIGHUP) behave as Ctrl-C: ``finally`` blocks run, temporaries go."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def _signals_as_interrupt():
    """Install [`_terminate`][] for SIGTERM/SIGHUP while a command runs (main thread only)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, _terminate)
        # Python raises KeyboardInterrupt for SIGINT only when SIGINT was not ignored at
        # start-up; a process started in the background by a shell inherits it ignored,
        # and `kill -INT` would then be lost: Ctrl-C is Ctrl-C here whatever the parent did
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_code(err: BaseException) -> int:
    """The exit code of the contract (docs/cli.md) for an exception a command raised."""
    if isinstance(err, CLIError):
        return err.code
    if isinstance(err, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(err, (DiskFullError, NonFiniteResultError, MemoryError)):
        return EXIT_FAILED
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return EXIT_FAILED
    if isinstance(err, (TomographyError, FileNotFoundError, PermissionError,
                        IsADirectoryError, SyntaxError)):
        return EXIT_USAGE
    return EXIT_FAILED


def error_line(command: str, err: BaseException) -> str:
    """The one line printed on stderr for ``err``."""
    if isinstance(err, KeyboardInterrupt):
        return f"etspy-widgets {command}: interrupted; no output written"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, (CLIError, TomographyError)):
        return f"etspy-widgets {command}: {first or type(err).__name__}"
    return f"etspy-widgets {command}: {type(err).__name__}: {first}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``etspy-widgets`` console script (exit codes: docs/cli.md)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "extra", None) and args.extra[0] == "--":
        args.extra = args.extra[1:]
    try:
        with _signals_as_interrupt(), warnings.catch_warnings():
            # libraries' deprecation notices are not the user's business: errors are one line
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            code = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            return code
    except BrokenPipeError:
        # the reader went away (`etspy-widgets info f | head`): stop quietly, as Python's
        # documentation recommends (no flush of the dead pipe at exit), status 128 + SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as err:
        print(error_line(args.command, err), file=sys.stderr)
        return exit_code(err)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
