"""Hyperspectral (EDX) tomography: spectrum-image tilt series → elemental volumes.

A spectrum-image tilt series is a HyperSpy ``Signal1D`` of data shape
``(n_tilts, ny, nx, n_channels)`` (navigation ``(x, y, tilt)``, signal: energy
in keV) with its tilts in ``metadata.Tomography.tilts`` (degrees). From it:

- [`summed_image`][]: the total counts per pixel, a HAADF-like
  [`TomoStack`][etspy_widgets.TomoStack] to compute the alignment on;
- [`line_intensity_maps`][]: one TomoStack per element from background-window
  line intensities (peak window minus a linear background from windows either side);
- [`nmf_maps`][]: one TomoStack per element from the loadings of a non-negative
  matrix factorisation (HyperSpy's ``decomposition``), components matched to
  elements by their X-ray lines;
- [`align_maps`][], [`reconstruct_maps`][], [`volume_fractions`][]: the
  alignment of the summed image replayed on each map (``align_other``),
  one reconstruction per element, and volume fractions from Otsu thresholds.

``simulate_edx_tilt_series`` builds a test case with known truth: a needle of
Ni/Cr layers on Si, projected with the engine's projector (ASTRA's geometry),
X-ray lines on a bremsstrahlung background, Poisson noise, and known misalignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .errors import InvalidArgumentError, InvalidDataError, MismatchedTiltError, check_method
from .recon import get_projector
from .signals import TomoStack

#: X-ray lines used by the simulation and the maps: element → [(line, keV, weight)]
XRAY_LINES = {
    "Si": [("Ka", 1.740, 1.0)],
    "Cr": [("Ka", 5.415, 1.0), ("Kb", 5.947, 0.13)],
    "Ni": [("Ka", 7.478, 1.0), ("Kb", 8.265, 0.13)],
}

#: detector resolution at Mn Kα (5.895 keV), eV
FWHM_MN_KA = 130.0


def line_fwhm(energy_kev: float, fwhm_mn_ka: float = FWHM_MN_KA) -> float:
    """Energy resolution (FWHM, keV) of a silicon-drift detector at ``energy_kev``.

    ``FWHM² = FWHM(Mn Kα)² + 2.5 · (E − 5895 eV)`` in eV (Fiori & Newbury's rule).
    """
    fwhm_ev = np.sqrt(max(fwhm_mn_ka**2 + 2.5 * (energy_kev * 1000.0 - 5895.0), 1.0))
    return float(fwhm_ev / 1000.0)


def _main_line(element: str) -> float:
    try:
        return XRAY_LINES[element][0][1]
    except KeyError:
        raise InvalidDataError(
            f"No X-ray line known for {element!r}; known elements: {', '.join(XRAY_LINES)}. "
            "Pass lines={'El': energy_keV} for others."
        ) from None


# -- the simulated specimen ------------------------------------------------------
def needle_phantom(size: int = 40, layer: int | None = None,
                   si_length: int | None = None) -> dict[str, np.ndarray]:
    """A conical needle along x: Si at the base, then alternating Cr/Ni layers.

    Parameters
    ----------
    size : int
        Side of the cubic volume, pixels (at least 24).
    layer : int, optional
        Thickness of each Cr and Ni layer along x; default ``size // 7``.
    si_length : int, optional
        Length of the Si base along x; default ``0.3 · size``.

    Returns
    -------
    dict of numpy.ndarray
        Boolean volumes of shape ``(nx, nz, ny) = (size, size, size)`` (a RecStack's
        order: x along the tilt axis), one per element ("Si", "Cr", "Ni"), disjoint.
    """
    size = int(size)
    if size < 24:
        raise InvalidArgumentError(f"The needle phantom needs size ≥ 24 pixels; got {size}.")
    layer = max(2, size // 7) if layer is None else int(layer)
    si_length = int(0.3 * size) if si_length is None else int(si_length)
    x0, x1 = 3, size - 3  # keep clear of the edges so shifted projections stay whole
    x = np.arange(size)
    radius = np.where((x >= x0) & (x < x1),
                      0.32 * size - (0.32 - 0.12) * size * (x - x0) / (x1 - x0), 0.0)
    zz, yy = np.mgrid[:size, :size] - (size - 1) / 2.0
    r2 = zz**2 + yy**2
    inside = r2[None, :, :] <= radius[:, None, None] ** 2
    labels = np.full(size, "", dtype=object)
    labels[x0:x0 + si_length] = "Si"
    for i, start in enumerate(range(x0 + si_length, x1, layer)):
        labels[start:min(start + layer, x1)] = "Cr" if i % 2 == 0 else "Ni"
    return {el: inside & (labels == el)[:, None, None] for el in ("Si", "Cr", "Ni")}


@dataclass
class SimulatedEDX:
    """A simulated EDX tilt series and the truth it was made from."""

    signal: object
    """HyperSpy Signal1D ``(n_tilts, ny, nx, n_channels)``, tilts in ``metadata.Tomography``."""
    phantoms: dict[str, np.ndarray]
    """Boolean volume per element, ``(nx, nz, ny)``."""
    tilts: np.ndarray
    misalignment: np.ndarray
    """``(n_tilts, 2)`` (y, x) shifts applied to each projection (0 at 0°)."""
    projections: dict[str, np.ndarray] = field(repr=False)
    """Noise-free, aligned projected thickness per element ``(n_tilts, ny, nx)``."""

    @property
    def fractions(self) -> dict[str, float]:
        """True volume fraction of each element (of the whole needle)."""
        return phantom_fractions(self.phantoms)


def phantom_fractions(phantoms: dict[str, np.ndarray]) -> dict[str, float]:
    """Volume fraction of each element in a dict of boolean volumes."""
    counts = {el: float(np.count_nonzero(v)) for el, v in phantoms.items()}
    total = sum(counts.values())
    return {el: c / total for el, c in counts.items()}


def _spectrum_model(energy: np.ndarray, element: str) -> np.ndarray:
    spec = np.zeros_like(energy)
    for _, centre, weight in XRAY_LINES[element]:
        sigma = line_fwhm(centre) / 2.3548
        spec += weight * np.exp(-0.5 * ((energy - centre) / sigma) ** 2) / (sigma * np.sqrt(
            2 * np.pi))
    return spec


def _bremsstrahlung(energy: np.ndarray, beam_kev: float = 200.0) -> np.ndarray:
    """Kramers' law ``(E0 − E)/E`` times a low-energy detector cut-off (window absorption)."""
    kramers = (beam_kev - energy) / energy
    return kramers * (1.0 - np.exp(-((energy / 1.2) ** 3)))


def simulate_edx_tilt_series(size: int = 40, n_tilts: int = 36, *, tilt_range=(-70.0, 70.0),
                             n_channels: int = 256, energy_scale: float = 0.037,
                             dose: float = 40.0, max_shift: float = 3.0,
                             seed: int = 0) -> SimulatedEDX:
    """A simulated EDX spectrum-image tilt series of a Ni/Cr multilayer needle on Si.

    Each element's volume is projected with the engine's projector (ASTRA's
    parallel geometry, as ETSpy sets it up); each pixel's spectrum is the sum over
    elements of projected thickness × (Gaussian X-ray lines + a bremsstrahlung
    share proportional to Z); then Poisson noise; then each projection is shifted
    by a known random (y, x) offset (zero at the projection nearest 0°).

    Parameters
    ----------
    size : int
        Image side and volume side, pixels (``ny = nx = nz = size``).
    n_tilts : int
        Number of projections, evenly spaced over ``tilt_range`` (degrees).
    n_channels, energy_scale : int, float
        Energy channels and their width in keV (from 0.5 keV; the default reaches
        ~10 keV, past Ni Kβ).
    dose : float
        Scale of the counts: about ``dose`` Si Kα counts per pixel per pixel of
        projected Si thickness / 10.
    max_shift : float
        Largest misalignment in pixels (uniform in ``[-max_shift, max_shift]``).
    seed : int
        Seed of the noise and the misalignment.

    Returns
    -------
    SimulatedEDX
    """
    import hyperspy.api as hs

    rng = np.random.default_rng(seed)
    tilts = np.linspace(float(tilt_range[0]), float(tilt_range[1]), int(n_tilts))
    phantoms = needle_phantom(size)
    projector = get_projector(tilts, size, size)
    projections = {}
    for element, volume in phantoms.items():
        sino = projector.forward(volume.astype(np.float32))  # (nx, n_tilts, ny)
        projections[element] = np.ascontiguousarray(sino.transpose(1, 2, 0))  # (n_tilts, ny, nx)
    energy = 0.5 + float(energy_scale) * np.arange(int(n_channels))
    brems = _bremsstrahlung(energy)
    brems /= brems.sum()
    atomic_number = {"Si": 14, "Cr": 24, "Ni": 28}
    line_yield = {"Si": 1.0, "Cr": 1.2, "Ni": 1.0}  # relative k-factors
    expected = np.zeros((int(n_tilts), size, size, int(n_channels)), dtype=np.float32)
    for element, proj in projections.items():
        spectrum = (line_yield[element] * _spectrum_model(energy, element) * energy_scale
                    + 0.08 * atomic_number[element] * brems)
        expected += (dose / 10.0) * proj[..., None] * spectrum.astype(np.float32)[None, None,
                                                                                  None, :]
    misalignment = rng.uniform(-max_shift, max_shift, size=(int(n_tilts), 2))
    misalignment[int(np.argmin(np.abs(tilts)))] = 0.0
    for i in range(int(n_tilts)):
        expected[i] = ndimage.shift(expected[i], (*misalignment[i], 0.0), order=1, mode="constant")
    np.maximum(expected, 0, out=expected)
    counts = rng.poisson(expected).astype(np.float32)
    signal = hs.signals.Signal1D(counts)
    ax = signal.axes_manager.signal_axes[0]
    ax.name, ax.units, ax.offset, ax.scale = "Energy", "keV", 0.5, float(energy_scale)
    for nav, name in zip(signal.axes_manager.navigation_axes, ("x", "y", "Projections"),
                         strict=True):
        nav.name = name
    nav_tilt = signal.axes_manager.navigation_axes[2]
    nav_tilt.units, nav_tilt.offset = "degrees", float(tilts[0])
    nav_tilt.scale = float(tilts[1] - tilts[0]) if len(tilts) > 1 else 1.0
    signal.metadata.General.title = "Simulated EDX tilt series (Ni/Cr layers on Si)"
    signal.metadata.set_item("Sample.elements", ["Cr", "Ni", "Si"])
    signal.metadata.set_item("Tomography.tilts", tilts)
    return SimulatedEDX(signal=signal, phantoms=phantoms, tilts=tilts,
                        misalignment=misalignment, projections=projections)


# -- from spectra to elemental tilt series --------------------------------------
def _tilts_of(signal, tilts) -> np.ndarray:
    if tilts is None:
        tilts = signal.metadata.get_item("Tomography.tilts")
    if tilts is None:
        raise InvalidDataError(
            "The spectrum image has no tilts: pass tilts=array (degrees, one per projection) "
            "or set signal.metadata.Tomography.tilts."
        )
    tilts = np.asarray(tilts, dtype=np.float64).ravel()
    if tilts.size != signal.data.shape[0]:
        raise MismatchedTiltError(tilts.size, signal.data.shape[0])
    return tilts


def _check_spectrum_image(signal) -> None:
    am = signal.axes_manager
    if am.signal_dimension != 1 or am.navigation_dimension != 3:
        raise InvalidDataError(
            "Expected an EDX spectrum-image tilt series: navigation (x, y, tilt), signal "
            f"(energy), i.e. data (n_tilts, ny, nx, n_channels); got navigation shape "
            f"{am.navigation_shape} and signal shape {am.signal_shape}."
        )


def _as_stack(data: np.ndarray, tilts: np.ndarray, title: str, signal=None):
    stack = TomoStack(np.ascontiguousarray(data, dtype=np.float32), tilts=tilts)
    stack.metadata.General.title = title
    if signal is not None:
        for dst, src in zip(stack.axes_manager.signal_axes, signal.axes_manager.navigation_axes[:2],
                            strict=True):
            dst.update_from(src, ("name", "scale", "offset", "units"))
    return stack


def summed_image(signal, tilts=None):
    """Total counts per pixel as a TomoStack (the HAADF-like image to align on)."""
    _check_spectrum_image(signal)
    tilts = _tilts_of(signal, tilts)
    return _as_stack(np.asarray(signal.data).sum(axis=-1), tilts, "Summed spectrum image",
                     signal)


def line_windows(energy_kev: float, width: float = 2.0, background: float = 2.0,
                 background_width: float = 1.0) -> dict[str, tuple[float, float]]:
    """Integration and background windows of a line, keV (widths in units of its FWHM).

    The peak window is ``width`` FWHM wide, centred on the line; the background
    windows, ``background_width`` FWHM wide, start ``background`` FWHM either
    side of the centre (HyperSpy's ``estimate_background_windows`` defaults).
    """
    fwhm = line_fwhm(energy_kev)
    return {
        "peak": (energy_kev - width * fwhm / 2, energy_kev + width * fwhm / 2),
        "left": (energy_kev - (background + background_width) * fwhm,
                 energy_kev - background * fwhm),
        "right": (energy_kev + background * fwhm,
                  energy_kev + (background + background_width) * fwhm),
    }


def _channels(axis_values: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    idx = np.nonzero((axis_values >= window[0]) & (axis_values <= window[1]))[0]
    if idx.size == 0:
        raise InvalidDataError(
            f"The window {window[0]:.3f}–{window[1]:.3f} keV holds no channel of the energy "
            f"axis ({axis_values[0]:.3f}–{axis_values[-1]:.3f} keV): check the calibration."
        )
    return idx


def net_line_intensity(spectra: np.ndarray, energy: np.ndarray, line_kev: float,
                       **window_kw) -> np.ndarray:
    """Counts in a line's peak window minus the background under it.

    The background is the straight line through the mean counts per channel of
    the two background windows (at their centres), summed over the peak channels.
    Works on the last axis of ``spectra``.
    """
    windows = line_windows(line_kev, **window_kw)
    peak = _channels(energy, windows["peak"])
    left = _channels(energy, windows["left"])
    right = _channels(energy, windows["right"])
    level_l = spectra[..., left].mean(axis=-1)
    level_r = spectra[..., right].mean(axis=-1)
    e_l, e_r = energy[left].mean(), energy[right].mean()
    slope = (level_r - level_l) / (e_r - e_l)
    background = level_l[..., None] + slope[..., None] * (energy[peak] - e_l)
    return spectra[..., peak].sum(axis=-1) - background.sum(axis=-1)


def line_intensity_maps(signal, elements=None, tilts=None, **window_kw) -> dict:
    """One TomoStack per element: background-subtracted line intensity of its main line.

    Parameters
    ----------
    signal : hyperspy Signal1D
        Spectrum-image tilt series ``(n_tilts, ny, nx, n_channels)``, energy in keV.
    elements : list of str or dict, optional
        Elements (their Kα lines from ``XRAY_LINES``) or ``{name: energy_keV}``;
        default ``metadata.Sample.elements``.
    tilts : array-like, optional
        Default ``metadata.Tomography.tilts``.
    window_kw
        ``width``, ``background``, ``background_width`` of [`line_windows`][].
    """
    _check_spectrum_image(signal)
    tilts = _tilts_of(signal, tilts)
    lines = _lines(signal, elements)
    energy = signal.axes_manager.signal_axes[0].axis
    data = np.asarray(signal.data, dtype=np.float32)
    return {el: _as_stack(net_line_intensity(data, energy, kev, **window_kw), tilts,
                          f"{el} line intensity", signal)
            for el, kev in lines.items()}


def _lines(signal, elements) -> dict[str, float]:
    if elements is None:
        elements = signal.metadata.get_item("Sample.elements")
        if elements is None:
            raise InvalidDataError(
                "No elements given: pass elements=['Cr', 'Ni', 'Si'] or set "
                "signal.metadata.Sample.elements."
            )
    if isinstance(elements, dict):
        return {str(k): float(v) for k, v in elements.items()}
    return {str(el): _main_line(str(el)) for el in elements}


class MultiplicativeNMF:
    """Non-negative matrix factorisation ``X ≈ W H`` (Lee & Seung multiplicative updates).

    A scikit-learn-style estimator (``fit_transform`` and ``components_``) that
    HyperSpy's ``decomposition(algorithm=...)`` accepts, so the NMF runs without
    scikit-learn. Initialised deterministically from the leading singular vectors
    (NNDSVD with the zeros filled by the mean).
    """

    def __init__(self, n_components: int, max_iter: int = 200, tol: float = 1e-4):
        self.n_components = int(n_components)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.components_ = None
        self.n_iter_ = 0

    def _init(self, x: np.ndarray):
        k = self.n_components
        # leading singular vectors from the small Gram matrix (features × features)
        gram = (x.T @ x).astype(np.float64)
        evals, evecs = np.linalg.eigh(gram)
        order = np.argsort(evals)[::-1][:k]
        s = np.sqrt(np.maximum(evals[order], 0.0))
        vt = evecs[:, order].T
        u = (x @ vt.T.astype(x.dtype)).astype(np.float64) / np.maximum(s, 1e-12)
        w = np.zeros((x.shape[0], k))
        h = np.zeros((k, x.shape[1]))
        w[:, 0] = np.sqrt(s[0]) * np.abs(u[:, 0])
        h[0] = np.sqrt(s[0]) * np.abs(vt[0])
        for j in range(1, k):
            a, b = u[:, j], vt[j]
            ap, an = np.maximum(a, 0), np.maximum(-a, 0)
            bp, bn = np.maximum(b, 0), np.maximum(-b, 0)
            pos = np.linalg.norm(ap) * np.linalg.norm(bp)
            neg = np.linalg.norm(an) * np.linalg.norm(bn)
            if pos >= neg:
                uu, vv, sig = ap / max(np.linalg.norm(ap), 1e-12), bp / max(
                    np.linalg.norm(bp), 1e-12), pos
            else:
                uu, vv, sig = an / max(np.linalg.norm(an), 1e-12), bn / max(
                    np.linalg.norm(bn), 1e-12), neg
            w[:, j] = np.sqrt(s[j] * sig) * uu
            h[j] = np.sqrt(s[j] * sig) * vv
        mean = x.mean()
        w[w < 1e-12] = mean / 100
        h[h < 1e-12] = mean / 100
        return w, h

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """Factorise ``x`` (samples × features, non-negative); return ``W`` (the loadings)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if (x < 0).any():
            raise InvalidDataError("NMF needs non-negative data (counts); got negative values.")
        w, h = (a.astype(np.float32) for a in self._init(x))
        eps = np.float32(1e-12)
        norm_x2 = float(np.vdot(x, x))
        previous = np.inf
        for it in range(self.max_iter):
            # (Xᵀ W)ᵀ, not Wᵀ X: OpenBLAS is ~100× slower on the short-wide product
            h *= (x.T @ w).T / (w.T @ w @ h + eps)
            xht = x @ h.T
            hht = h @ h.T
            w *= xht / (w @ hht + eps)
            if it % 5 == 4:
                # ‖X − WH‖² = ‖X‖² − 2 tr(Wᵀ X Hᵀ) + tr(WᵀW HHᵀ), without forming WH
                err2 = norm_x2 - 2 * float(np.vdot(w, xht)) + float(np.vdot(w.T @ w, hht))
                if previous - err2 < self.tol * previous:
                    break
                previous = err2
        self.n_iter_ = it + 1
        self.components_ = h.astype(np.float64)
        return w.astype(np.float64)


def nmf_maps(signal, elements=None, n_components=None, tilts=None, algorithm=None,
             **decomposition_kw) -> dict:
    """One TomoStack per element from NMF loadings (HyperSpy ``decomposition``).

    The components are matched to elements by the background-subtracted intensity
    of each element's line in each component spectrum (one component per element,
    best total match). Each map is the component's loading times the line
    intensity of its spectrum, so it is in counts like ``line_intensity_maps``.

    Parameters
    ----------
    signal : hyperspy Signal1D
        Spectrum-image tilt series; it is not modified (a copy is decomposed).
    elements, tilts
        As [`line_intensity_maps`][].
    n_components : int, optional
        Default: the number of elements.
    algorithm : str or estimator, optional
        Passed to HyperSpy's ``decomposition``; default [`MultiplicativeNMF`][]
        (``"NMF"`` needs scikit-learn).
    decomposition_kw
        Other arguments of ``decomposition`` (e.g. ``normalize_poissonian_noise``).
    """
    from scipy.optimize import linear_sum_assignment

    _check_spectrum_image(signal)
    tilts = _tilts_of(signal, tilts)
    lines = _lines(signal, elements)
    k = len(lines) if n_components is None else int(n_components)
    if k < len(lines):
        raise InvalidArgumentError(f"n_components ({k}) must be at least the number of elements "
                         f"({len(lines)}).")
    work = signal.deepcopy()
    work.change_dtype("float64")
    if algorithm is None:
        algorithm = MultiplicativeNMF(k)
    decomposition_kw.setdefault("normalize_poissonian_noise", True)
    work.decomposition(algorithm=algorithm, output_dimension=k, print_info=False,
                       **decomposition_kw)
    factors = np.asarray(work.learning_results.factors)  # (n_channels, k)
    loadings = np.asarray(work.learning_results.loadings)  # (n_pixels, k)
    energy = signal.axes_manager.signal_axes[0].axis
    score = np.array([[net_line_intensity(factors[:, c], energy, kev) for kev in lines.values()]
                      for c in range(k)])  # (k, n_elements)
    share = score / np.maximum(np.abs(factors).sum(axis=0), 1e-12)[:, None]
    comp, elem = linear_sum_assignment(-share)
    nav_shape = signal.data.shape[:-1]
    maps = {}
    names = list(lines)
    for c, e in zip(comp, elem, strict=True):
        data = loadings[:, c].reshape(nav_shape) * max(score[c, e], 0.0)
        maps[names[e]] = _as_stack(data, tilts, f"{names[e]} NMF loading", signal)
    return {el: maps[el] for el in names}


# -- alignment, reconstruction, quantification ------------------------------------
def align_maps(reference, maps: dict, method: str = "PC", tilt_align: bool = False,
               **register_kw):
    """Register ``reference`` (the summed image) and replay its alignment on every map.

    Returns
    -------
    aligned_reference, aligned_maps : TomoStack, dict of TomoStack
    """
    aligned = reference.stack_register(method, **register_kw)
    if tilt_align:
        aligned = aligned.tilt_align("MassProfile")
    return aligned, {el: aligned.align_other(m) for el, m in maps.items()}


def reconstruct_maps(maps: dict, method: str = "SIRT", iterations: int = 50,
                     constrain: bool = True, **kwargs) -> dict:
    """Reconstruct each elemental TomoStack (``TomoStack.reconstruct``); negative values clipped."""
    kwargs.setdefault("show_progressbar", False)
    return {el: stack.reconstruct(method, iterations=iterations, constrain=constrain, **kwargs)
            for el, stack in maps.items()}


def segment_volumes(volumes: dict) -> dict[str, np.ndarray]:
    """Boolean mask per element: Otsu threshold of each volume, overlaps given to the strongest.

    A voxel above several thresholds belongs to the element whose value is the
    largest multiple of its own threshold, so the masks are disjoint.
    """
    from skimage.filters import threshold_otsu

    names = list(volumes)
    arrays = [np.asarray(getattr(v, "data", v), dtype=np.float32) for v in volumes.values()]
    if len({a.shape for a in arrays}) != 1:
        raise InvalidDataError(
            f"Elemental volumes must have the same shape; got {[a.shape for a in arrays]}."
        )
    ratios = np.stack([a / max(float(threshold_otsu(a)), 1e-12) for a in arrays])
    best = np.argmax(ratios, axis=0)
    above = ratios.max(axis=0) > 1.0
    return {el: above & (best == i) for i, el in enumerate(names)}


def volume_fractions(volumes: dict) -> dict[str, float]:
    """Volume fraction of each element from Otsu-thresholded reconstructions.

    Each element's share of the segmented specimen ([`segment_volumes`][]);
    the fractions sum to 1 and compare with [`phantom_fractions`][].
    """
    return phantom_fractions(segment_volumes(volumes))


@dataclass
class HyperspectralResult:
    """Everything [`hyperspectral_tomography`][] computed, step by step."""

    summed: object
    aligned_summed: object
    maps: dict
    aligned_maps: dict
    reconstructions: dict
    fractions: dict[str, float]


def hyperspectral_tomography(signal, elements=None, *, maps: str = "lines",
                             method: str = "SIRT", iterations: int = 50, register: str = "PC",
                             tilt_align: bool = True, tilts=None,
                             **recon_kw) -> HyperspectralResult:
    """Spectrum-image tilt series → aligned elemental tilt series → volumes → fractions.

    Parameters
    ----------
    maps : {"lines", "nmf"}
        Background-window line intensities or NMF loadings.
    method, iterations
        Reconstruction of each map (``TomoStack.reconstruct``).
    register : str
        ``stack_register`` method for the summed image.
    tilt_align : bool
        Also find the tilt axis (``tilt_align("MassProfile")``) on the registered summed image.
    recon_kw
        Other arguments of ``TomoStack.reconstruct``.
    """
    kind = check_method("map kind", maps, ("lines", "nmf"))
    summed = summed_image(signal, tilts)
    if kind == "lines":
        elemental = line_intensity_maps(signal, elements, tilts)
    else:
        elemental = nmf_maps(signal, elements, tilts=tilts)
    aligned_summed, aligned = align_maps(summed, elemental, register, tilt_align=tilt_align)
    recs = reconstruct_maps(aligned, method, iterations, **recon_kw)
    return HyperspectralResult(summed, aligned_summed, elemental, aligned, recs,
                               volume_fractions(recs))


__all__ = [
    "XRAY_LINES", "HyperspectralResult", "MultiplicativeNMF", "SimulatedEDX", "align_maps",
    "hyperspectral_tomography", "line_fwhm", "line_intensity_maps", "line_windows",
    "needle_phantom", "net_line_intensity", "nmf_maps", "phantom_fractions",
    "reconstruct_maps", "segment_volumes", "simulate_edx_tilt_series", "summed_image",
    "volume_fractions",
]
