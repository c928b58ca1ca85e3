"""Hyperspectral (EDX) tomography on a simulated Ni/Cr-on-Si needle with known truth.

Ground truth: the phantoms' volume fractions, the applied misalignment, the noise-free
projected thicknesses, Gaussian line areas; ASTRA itself checks the simulation's projector.
"""

from __future__ import annotations

import astra
import numpy as np
import pytest
from scipy import ndimage

from etspy_widgets import TomoStack
from etspy_widgets.engine import hyperspectral as hsp
from etspy_widgets.engine.errors import InvalidDataError, MismatchedTiltError


@pytest.fixture(scope="module")
def sim():
    return hsp.simulate_edx_tilt_series(32, 30, seed=1)


@pytest.fixture(scope="module")
def nmf_result(sim):
    """The whole pipeline with NMF maps, once for the module (the NMF is the slow part)."""
    return hsp.hyperspectral_tomography(sim.signal, maps="nmf", method="SIRT", iterations=50)


def _relative_errors(found: dict, truth: dict) -> dict:
    return {el: abs(found[el] - truth[el]) / truth[el] for el in truth}


def test_simulated_series_layout(sim):
    sig = sim.signal
    assert sig.data.shape == (30, 32, 32, 256)
    assert sig.axes_manager.signal_axes[0].units == "keV"
    np.testing.assert_allclose(sig.metadata.Tomography.tilts, np.linspace(-70, 70, 30))
    assert sorted(sig.metadata.Sample.elements) == ["Cr", "Ni", "Si"]
    # disjoint phantoms, fractions sum to one
    total = sum(v.astype(int) for v in sim.phantoms.values())
    assert total.max() == 1
    assert sum(sim.fractions.values()) == pytest.approx(1.0)
    assert all(0.1 < f < 0.7 for f in sim.fractions.values())
    # the projection nearest 0° is the unshifted reference
    assert np.all(sim.misalignment[np.argmin(np.abs(sim.tilts))] == 0)
    assert np.abs(sim.misalignment).max() > 1.5
    assert np.all(sig.data >= 0) and np.all(sig.data == np.round(sig.data))  # counts


def test_simulated_projections_match_astra(sim):
    """The projected thickness of one column equals ASTRA's create_sino of that slice."""
    column = 12
    slice_ = sim.phantoms["Si"][column].astype(np.float32)  # (nz, ny)
    proj_geom = astra.create_proj_geom("parallel", 1.0, 32, np.deg2rad(sim.tilts))
    vol_geom = astra.create_vol_geom((32, 32))
    pid = astra.create_projector("strip", proj_geom, vol_geom)
    try:
        sid, sino = astra.create_sino(slice_, pid)
        astra.data2d.delete(sid)
    finally:
        astra.projector.delete(pid)
    np.testing.assert_allclose(sim.projections["Si"][:, :, column], sino, atol=1e-3 * sino.max())


def test_spectrum_shows_the_xray_lines(sim):
    mean = sim.signal.data.mean(axis=(0, 1, 2))
    energy = sim.signal.axes_manager.signal_axes[0].axis
    for lines in hsp.XRAY_LINES.values():
        kev = lines[0][1]
        near = np.abs(energy - kev) < 0.3
        peak = energy[near][np.argmax(mean[near])]
        assert abs(peak - kev) < 0.04


def test_net_line_intensity_recovers_a_gaussian_area():
    energy = 0.5 + 0.01 * np.arange(900)
    centre, area = 5.415, 1000.0
    sigma = hsp.line_fwhm(centre) / 2.3548
    peak = area * 0.01 * np.exp(-0.5 * ((energy - centre) / sigma) ** 2) / (sigma * np.sqrt(
        2 * np.pi))
    background = 30.0 - 2.0 * energy  # linear: removed exactly
    found = hsp.net_line_intensity(peak + background, energy, centre)
    # the window is 2 FWHM wide: it holds erf(1.1774·√2 / √2 ...) = 98.1 % of a Gaussian
    from scipy.special import erf

    inside = erf(hsp.line_fwhm(centre) / (sigma * np.sqrt(2)))
    assert found == pytest.approx(area * inside, rel=0.01)


def _truth_shifted(sim, element):
    """Noise-free projections moved by the same misalignment as the data."""
    return np.stack([ndimage.shift(p, sim.misalignment[i], order=1)
                     for i, p in enumerate(sim.projections[element])])


def test_line_maps_follow_the_projected_thickness(sim):
    maps = hsp.line_intensity_maps(sim.signal)
    assert list(maps) == ["Cr", "Ni", "Si"]
    for element, stack in maps.items():
        assert isinstance(stack, TomoStack)
        np.testing.assert_allclose(stack.tilt_values, sim.tilts)
        truth = _truth_shifted(sim, element)
        corr = np.corrcoef(stack.data.ravel(), truth.ravel())[0, 1]
        assert corr > 0.95, (element, corr)


def test_multiplicative_nmf_factorises_an_exact_low_rank_matrix():
    rng = np.random.default_rng(0)
    w = rng.random((400, 3))
    h = rng.random((3, 60))
    x = w @ h
    est = hsp.MultiplicativeNMF(3, max_iter=2000, tol=1e-9)
    loadings = est.fit_transform(x)
    assert np.linalg.norm(x - loadings @ est.components_) / np.linalg.norm(x) < 0.02
    with pytest.raises(InvalidDataError, match="non-negative"):
        est.fit_transform(-x)


@pytest.mark.slow
def test_nmf_maps_match_each_element(sim, nmf_result):
    maps = nmf_result.maps
    assert list(maps) == ["Cr", "Ni", "Si"]
    truths = {el: _truth_shifted(sim, el).ravel() for el in maps}
    for element, stack in maps.items():
        corrs = {el: np.corrcoef(stack.data.ravel(), t)[0, 1] for el, t in truths.items()}
        assert max(corrs, key=corrs.get) == element, corrs
        assert corrs[element] > 0.95, corrs


def test_alignment_of_the_summed_image_recovers_the_misalignment(sim):
    summed = hsp.summed_image(sim.signal)
    np.testing.assert_allclose(summed.data, sim.signal.data.sum(-1))
    maps = hsp.line_intensity_maps(sim.signal)
    aligned_summed, aligned = hsp.align_maps(summed, maps, "PC")
    residual = aligned_summed.shift_values + sim.misalignment
    # up to one common offset, the registration undoes the applied shifts
    assert np.abs(residual - residual.mean(axis=0)).max() < 0.3
    for element, stack in aligned.items():
        np.testing.assert_allclose(stack.shift_values, aligned_summed.shift_values)
        # align_other moved each map as it moved the summed image: it now matches the
        # truth moved by the common offset, and no longer the misaligned truth
        corr_misaligned = np.corrcoef(stack.data.ravel(),
                                      _truth_shifted(sim, element).ravel())[0, 1]
        corr_aligned = np.corrcoef(
            stack.data.ravel(),
            np.stack([ndimage.shift(p, residual.mean(axis=0), order=1)
                      for p in sim.projections[element]]).ravel())[0, 1]
        assert corr_aligned > 0.95
        assert corr_aligned > corr_misaligned + 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_line_pipeline_volume_fractions_within_5_percent(seed):
    sim = hsp.simulate_edx_tilt_series(32, 30, seed=seed)
    result = hsp.hyperspectral_tomography(sim.signal, maps="lines", method="SIRT",
                                          iterations=50)
    errors = _relative_errors(result.fractions, sim.fractions)
    assert max(errors.values()) < 0.05, (result.fractions, sim.fractions)
    assert sum(result.fractions.values()) == pytest.approx(1.0)
    rec = result.reconstructions["Ni"]
    assert rec.data.shape == (32, 32, 32)
    # without the alignment the same reconstruction is clearly worse
    unaligned = hsp.reconstruct_maps(result.maps, "SIRT", 50)
    bad = _relative_errors(hsp.volume_fractions(unaligned), sim.fractions)
    assert max(bad.values()) > 2 * max(errors.values())


@pytest.mark.slow
def test_nmf_pipeline_volume_fractions_within_5_percent(sim, nmf_result):
    result = nmf_result
    errors = _relative_errors(result.fractions, sim.fractions)
    assert max(errors.values()) < 0.05, (result.fractions, sim.fractions)


def test_segmentation_is_disjoint_and_gives_overlaps_to_the_stronger():
    a = np.zeros((10, 10, 10), np.float32)
    b = a.copy()
    a[:5] = 1.0
    b[4:8] = 2.0
    b[4] = 0.6  # x = 4: above both thresholds, relatively weaker in b
    masks = hsp.segment_volumes({"A": a, "B": b})
    assert not (masks["A"] & masks["B"]).any()
    assert masks["A"][:5].all() and not masks["A"][5:].any()
    assert masks["B"][5:8].all() and not masks["B"][:5].any() and not masks["B"][8:].any()
    fractions = hsp.volume_fractions({"A": a, "B": b})
    assert fractions == pytest.approx({"A": 5 / 8, "B": 3 / 8})
    with pytest.raises(InvalidDataError, match="same shape"):
        hsp.segment_volumes({"A": a, "B": b[:5]})


def test_bad_inputs_say_what_to_do(sim):
    with pytest.raises(InvalidDataError, match="spectrum-image tilt series"):
        hsp.line_intensity_maps(sim.signal.inav[0])
    with pytest.raises(MismatchedTiltError):
        hsp.summed_image(sim.signal, tilts=np.arange(5))
    with pytest.raises(InvalidDataError, match="No X-ray line known"):
        hsp.line_intensity_maps(sim.signal, elements=["U"])
    with pytest.raises(InvalidDataError, match="holds no channel"):
        hsp.line_intensity_maps(sim.signal, elements={"Mo": 17.48})
    with pytest.raises(ValueError, match="size ≥ 24"):
        hsp.needle_phantom(16)
