"""An acquisition simulator: write a tilt series into a folder one projection at a time, as
SerialEM does (each image under a temporary name, then renamed into place; a ``.mdoc``
rewritten after each image with one ``[ZValue = k]`` section per image so far).

For tests, demos and teaching: ``etspy-widgets simulate-acquisition OUT_DIR --dataset
catalyst --scheme dose-symmetric --interval 2``, or ``Acquisition(...).start()`` in Python.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..engine import simulation
from ..engine.errors import InvalidDataError, UnknownMethodError
from ..engine.io import load

SCHEMES = ("dose-symmetric", "sequential", "bidirectional", "random")
FORMATS = ("mrc", "tif")
#: Faults the simulator can inject, with their size: the intensity kept by a dark one, the
#: blur (Gaussian sigma, pixels), the shift (pixels); a blank one is its median plus noise.
FAULTS = {"dark": 0.35, "blurred": 2.0, "shifted": 8.0, "blank": 0.0}
#: The reason the quality flags (``stack.quality()``, the live strip) give each fault.
FAULT_REASONS = {"dark": "dark", "blurred": "blurred", "shifted": "drifted", "blank": "blank"}


def fault_image(image: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``image`` spoiled as a bad acquisition would spoil it (``FAULTS``)."""
    if kind not in FAULTS:
        raise UnknownMethodError("fault", kind, tuple(FAULTS))
    image = np.asarray(image, dtype=np.float32)
    rng = np.random.default_rng(seed)
    size = FAULTS[kind]
    if kind == "dark":
        return image * np.float32(size)
    if kind == "blurred":
        return ndimage.gaussian_filter(image, size)
    if kind == "shifted":
        angle = rng.uniform(0, 2 * np.pi)
        return ndimage.shift(image, (size * np.sin(angle), size * np.cos(angle)), order=3,
                             mode="nearest")
    return np.float32(np.median(image)) + rng.normal(
        0, 1e-3 * float(image.std()) + 1e-6, image.shape).astype(np.float32)


def acquisition_order(tilts, scheme: str = "dose-symmetric", seed: int = 0) -> np.ndarray:
    """The order in which a scheme acquires ``tilts`` (indices into ``tilts``).

    ``"dose-symmetric"`` (Hagen et al. 2017): 0°, +step, −step, +2·step, −2·step, …;
    ``"sequential"``: lowest to highest; ``"bidirectional"``: 0° to the top, then from just
    below 0° to the bottom; ``"random"``: a seeded permutation (a stress test).
    """
    tilts = np.asarray(tilts, dtype=np.float64)
    by_tilt = np.argsort(tilts, kind="stable")
    start = int(np.argmin(np.abs(tilts[by_tilt])))
    up, down = list(by_tilt[start + 1:]), list(by_tilt[:start][::-1])
    if scheme == "dose-symmetric":
        order = [by_tilt[start]]
        for k in range(max(len(up), len(down))):
            order += [side[k] for side in (up, down) if k < len(side)]
        return np.array(order)
    if scheme == "sequential":
        return by_tilt.copy()
    if scheme == "bidirectional":
        return np.array([by_tilt[start], *up, *down])
    if scheme == "random":
        return np.random.default_rng(seed).permutation(len(tilts))
    raise UnknownMethodError("acquisition scheme", scheme, SCHEMES)


def _write_mrc(path: Path, image: np.ndarray, pixel_nm: float) -> None:
    import mrcfile

    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.asarray(image, dtype=np.float32))
        mrc.voxel_size = pixel_nm * 10.0


def _write_tif(path: Path, image: np.ndarray, pixel_nm: float) -> None:
    import tifffile

    tifffile.imwrite(path, np.asarray(image, dtype=np.float32))


_WRITERS = {"mrc": _write_mrc, "tif": _write_tif}


def mdoc_text(entries, pixel_nm: float, shape) -> str:
    """A SerialEM-style ``.mdoc`` for the images written so far ``[(name, tilt), ...]``."""
    ny, nx = shape
    lines = [f"PixelSpacing = {pixel_nm * 10:g}", "Voltage = 300",
             "Version = etspy-widgets acquisition simulator", f"ImageSize = {nx} {ny}",
             "DataMode = 2", "", "[T = etspy-widgets simulated acquisition]", ""]
    for k, (name, tilt) in enumerate(entries):
        lines += [f"[ZValue = {k}]", f"TiltAngle = {tilt:.6g}", f"SubFramePath = {name}",
                  f"PixelSpacing = {pixel_nm * 10:g}",
                  f"DateTime = {time.strftime('%d-%b-%y  %H:%M:%S')}", ""]
    return "\n".join(lines) + "\n"


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.writing")
    tmp.write_text(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Written:
    """One projection written: its file, tilt, index in the series, and when it was
    complete (``time.time()`` right after the rename)."""

    path: Path
    tilt: float
    index: int
    complete: float


def load_dataset(dataset: str = "catalyst", *, size: int = 256, tilt_range: float = 60,
                 step: float = 3, seed: int = 0, noise: bool = False):
    """The stack a simulated acquisition writes: the simulated catalyst (misaligned by a few
    pixels, tilts ±``tilt_range`` in steps of ``step``) or any file ``load`` reads."""
    if dataset == "catalyst":
        tilts = np.arange(-tilt_range, tilt_range + step / 2, step)
        return simulation.simulate_catalyst(size=size, n_particles=30, tilts=tilts,
                                            misalign=True, minshift=-3, maxshift=3,
                                            noise=noise, seed=seed).stack
    return load(dataset)


class Acquisition:
    """Write ``stack`` into ``out_dir``, one projection every ``interval`` seconds.

    Parameters
    ----------
    out_dir : str or Path
        Created if needed.
    stack : TomoStack
        What to write (``load_dataset`` gives the simulated catalyst).
    scheme : str
        Acquisition order (see ``acquisition_order``).
    interval : float
        Seconds between two projections (0: as fast as possible).
    fmt : {"mrc", "tif"}
        File format.
    basename : str
        Files are ``{basename}_{k:03d}_{tilt:+.1f}.{fmt}`` (k: acquisition index).
    mdoc : bool
        Keep ``{basename}.mdoc`` up to date (rewritten atomically after each image).
    marker : str or None
        File written when the series is complete.
    partial : bool
        Write each image directly under its final name in several pieces, slowly (a writer
        that does not rename: tests that a half-written file is never read).
    rewrite : sequence of int
        Acquisition indices to write a second time (a re-acquired tilt), at the end.
    faults : dict, optional
        ``{index in the stack: kind}``: write those projections spoiled (``FAULTS``:
        "dark", "blurred", "shifted", "blank"), as a bad acquisition would.
    """

    def __init__(self, out_dir, stack, scheme: str = "dose-symmetric",
                 interval: float = 2.0, *, fmt: str = "mrc", basename: str = "tilt",
                 mdoc: bool = True, marker: str | None = "acquisition.done",
                 partial: bool = False, rewrite=(), seed: int = 0, faults=None):
        if fmt not in FORMATS:
            raise UnknownMethodError("file format", fmt, FORMATS)
        if interval < 0:
            raise InvalidDataError(f"interval must be ≥ 0 s; got {interval}.")
        self.out_dir = Path(out_dir)
        self.stack = stack
        self.data = np.asarray(stack.data)
        self.tilt_values = np.asarray(stack.tilt_values, dtype=np.float64)
        self.order = acquisition_order(self.tilt_values, scheme, seed)
        self.scheme, self.interval, self.fmt = scheme, float(interval), fmt
        self.basename, self.mdoc, self.marker = basename, mdoc, marker
        self.partial, self.rewrite = partial, list(rewrite)
        self.faults = {int(i): str(k) for i, k in dict(faults or {}).items()}
        for i, kind in self.faults.items():
            if not 0 <= i < len(self.tilt_values):
                raise InvalidDataError(f"faults: index {i} is not a projection of the "
                                       f"stack (0..{len(self.tilt_values) - 1}).")
            if kind not in FAULTS:
                raise UnknownMethodError("fault", kind, tuple(FAULTS))
        self.pixel_nm = float(stack.axes_manager.signal_axes[0].scale)
        self.written: list[Written] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def name(self, k: int, index: int) -> str:
        return f"{self.basename}_{k:03d}_{self.tilt_values[index]:+.1f}.{self.fmt}"

    def _write(self, path: Path, image: np.ndarray) -> None:
        writer = _WRITERS[self.fmt]
        if not self.partial:
            tmp = path.with_name(f".{path.stem}.writing{path.suffix}")
            writer(tmp, image, self.pixel_nm)
            os.replace(tmp, path)
            return
        tmp = path.with_name(f".{path.stem}.bytes{path.suffix}")
        writer(tmp, image, self.pixel_nm)
        payload = tmp.read_bytes()
        tmp.unlink()
        pieces = np.linspace(0, len(payload), 5).astype(int)
        with open(path, "wb") as fh:  # the final name, growing piece by piece
            for a, b in itertools.pairwise(pieces):
                fh.write(payload[a:b])
                fh.flush()
                if self._stop.wait(max(self.interval / 8, 0.05)):
                    break

    def run(self) -> list[Written]:
        """Write the whole series (blocking); returns what was written."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        entries = []
        mdoc_path = self.out_dir / f"{self.basename}.mdoc"
        plan = [(k, int(i)) for k, i in enumerate(self.order)]
        plan += [(k, int(self.order[k])) for k in self.rewrite]
        for step, (k, index) in enumerate(plan):
            if step and self._stop.wait(self.interval):
                break
            name = self.name(k, index)
            path = self.out_dir / name
            image = self.data[index]
            if index in self.faults:
                image = fault_image(image, self.faults[index], seed=index)
            if step >= len(self.order):  # a rewrite: the same tilt acquired again, changed
                image = image * np.float32(1.5)
            self._write(path, image)
            self.written.append(Written(path, float(self.tilt_values[index]), k, time.time()))
            if self.mdoc and step < len(self.order):
                entries.append((name, float(self.tilt_values[index])))
                _atomic_text(mdoc_path, mdoc_text(entries, self.pixel_nm, image.shape))
        else:
            if self.marker:
                _atomic_text(self.out_dir / self.marker, f"{len(entries)} projections\n")
        return self.written

    def _target(self):
        try:
            self.run()
        except BaseException as err:  # reported by join()
            self.error = err

    def start(self) -> Acquisition:
        """Run in a background thread (``join``/``stop`` end it)."""
        self._thread = threading.Thread(target=self._target, name="acquisition", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        """Stop writing (the file being written is finished first)."""
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> list[Written]:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"The acquisition into {self.out_dir} did not finish "
                                   f"within {timeout} s.")
        if self.error is not None:
            raise self.error
        return self.written

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` s; True once the writing has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def simulate_acquisition(out_dir, dataset="catalyst", scheme: str = "dose-symmetric",
                         interval: float = 2.0, *, background: bool = False, size: int = 256,
                         tilt_range: float = 60, step: float = 3, seed: int = 0,
                         noise: bool = False, **kwargs):
    """Write a simulated (or any) tilt series into ``out_dir`` as a microscope would.

    ``dataset`` is ``"catalyst"``, a file ``load`` reads, or a TomoStack. With
    ``background=True`` it returns the running ``Acquisition`` (``.join()``, ``.stop()``);
    otherwise it blocks and returns the list of ``Written`` files. Other keywords go to
    ``Acquisition`` (``fmt``, ``basename``, ``mdoc``, ``marker``, ``partial``, ``rewrite``).

    >>> import etspy_widgets.live as live                                  # doctest: +SKIP
    >>> acq = live.simulate_acquisition("/tmp/s", interval=1, background=True)  # doctest: +SKIP
    """
    stack = dataset if hasattr(dataset, "tilt_values") else load_dataset(
        dataset, size=size, tilt_range=tilt_range, step=step, seed=seed, noise=noise)
    acq = Acquisition(out_dir, stack, scheme, interval, seed=seed, **kwargs)
    if background:
        return acq.start()
    return acq.run()
