"""Example tilt series, under ETSpy's names: a simulated catalyst and the experimental needle.

>>> import etspy_widgets as etw
>>> stack = etw.datasets.get_catalyst_data(misalign=True)                  # doctest: +SKIP
>>> truth = etw.datasets.get_catalyst_data(misalign=True, return_truth=True)  # doctest: +SKIP
>>> truth.shifts[:2]            # the (dy, dx) shifts applied, exactly      # doctest: +SKIP
"""

from __future__ import annotations

from ..engine import simulation
from ..engine.datapath import data_file
from ..engine.io import load
from ..engine.signals import source
from ..engine.testdata import fetch_test_data as _fetch

__all__ = ["fetch_test_data", "get_catalyst_data", "get_needle_data"]


@source("etw.datasets.get_catalyst_data")
def get_catalyst_data(misalign: bool = False, minshift: float = -5, maxshift: float = 5,  # noqa: PLR0917 -- ETSpy's positional signature
                      tiltshift: float = 0, tiltrotate: float = 0, y_only: bool = False,
                      noise: bool = False, noise_factor: float = 0.2, seed=0, *,
                      return_truth: bool = False, size: int = 600, n_particles: int = 30,
                      noise_type: str = "gaussian"):
    """A simulated catalyst tilt series (90 projections, 0..178°, 600 × 600 by default).

    The series is computed (about a second), not downloaded: a support sphere carrying small
    particles, projected analytically in ETSpy's ASTRA geometry (see
    ``etspy_widgets.engine.simulation``). The particles are always the same (fixed model
    seed); ``seed`` drives the misalignment and the noise.

    Parameters
    ----------
    misalign : bool
        Apply random per-projection shifts (and ``tiltshift``/``tiltrotate``).
    minshift, maxshift : float
        Bounds of the uniform random shifts, pixels.
    tiltshift : float
        Shift of the tilt axis *across* itself (along y), pixels (ETSpy shifts along x).
    tiltrotate : float
        In-plane rotation of every projection, degrees (clockwise as displayed).
    y_only : bool
        Shift only along y (across the tilt axis).
    noise : bool
        Add noise of relative size ``noise_factor`` (``noise_type`` "gaussian" or "poisson").
    seed : int
        Seed of the shifts and the noise; the same seed gives the same series.
    return_truth : bool
        Return the ``SimulatedSeries`` (stack, applied
        ``shifts``, ``tilt_shift``, ``tilt_rotation``, ``aligned`` projections, ground-truth
        ``volume``) instead of the stack alone.
    size, n_particles : int
        Image size and number of particles (smaller sizes make quick tests).

    Returns
    -------
    TomoStack or SimulatedSeries
        The stack has its tilts set and zero ``shifts`` (no alignment applied yet; ETSpy
        stored the misalignment there instead).
    """
    result = simulation.simulate_catalyst(
        size=size, n_particles=n_particles, misalign=misalign, minshift=minshift,
        maxshift=maxshift, tiltshift=tiltshift, tiltrotate=tiltrotate, y_only=y_only,
        noise=noise, noise_factor=noise_factor, noise_type=noise_type, seed=seed)
    return result if return_truth else result.stack


@source("etw.datasets.get_needle_data", always=())
def get_needle_data(aligned: bool = False):
    """The experimental needle: 77 HAADF projections of 256 × 256, -76..76° in steps of 2.

    Read from ETSpy's published test data (``HAADF.mrc`` + ``HAADF.rawtlt``, or
    ``HAADF_Aligned.hspy`` with ``aligned=True``), looked for in ``$ETSPY_WIDGETS_DATA``,
    then ``../shared/data/etspy-testdata`` beside the project, then the user cache.

    Raises
    ------
    DataNotFoundError
        Naming the folders searched and the command that downloads the data
        (``etspy-widgets data fetch``, or
        `fetch_test_data`).
    """
    name = "HAADF_Aligned.hspy" if aligned else "HAADF.mrc"
    return load(data_file(name))


def fetch_test_data(dest=None, *, progress: bool = True):
    """Download ETSpy 1.3.0's published test data (the needle and the DM/SerialEM series).

    Gets ETSpy's wheel through pip (``python -m pip download etspy==1.3.0 --no-deps``),
    checks its SHA-256 and unpacks ``etspy/tests/test_data`` into ``dest`` (default:
    ``~/.cache/etspy-widgets/etspy-testdata``, where `get_needle_data` looks), atomically,
    with a progress bar. When ``dest`` already holds them nothing is downloaded. The same
    as the command ``etspy-widgets data fetch [--dest DIR]``.

    Returns
    -------
    pathlib.Path
        The folder holding the data.

    Raises
    ------
    DataNotFoundError
        pip could not download the wheel (its message is included).
    ChecksumError
        The downloaded wheel is not ETSpy 1.3.0's.
    """
    return _fetch(dest, progress=progress)
