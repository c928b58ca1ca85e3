"""The simulation against independent references: ASTRA's projector and SciPy's shift/rotate."""

from __future__ import annotations

import astra
import numpy as np
import pytest
from scipy import ndimage

from etspy_widgets import TomoStack, UnknownMethodError
from etspy_widgets.engine import simulation as sim
from etspy_widgets.engine.errors import InvalidTiltsError


def astra_sino(vol_slice: np.ndarray, tilts) -> np.ndarray:
    """ASTRA's reprojection of one ``(thickness, ny)`` slice, in ETSpy's geometry."""
    nz, ny = vol_slice.shape
    proj_geom = astra.create_proj_geom("parallel", 1.0, ny, np.deg2rad(tilts))
    vol_geom = astra.create_vol_geom((nz, ny))
    pid = astra.create_projector("linear", proj_geom, vol_geom)
    try:
        sid, sino = astra.create_sino(vol_slice.astype(np.float32), pid)
        astra.data2d.delete(sid)
    finally:
        astra.projector.delete(pid)
    return sino


def rel_l2(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def catalyst():
    return sim.simulate_catalyst(size=128)


def test_astra_orientation_of_an_off_centre_sphere():
    # thickness != ny and a sphere off centre in both y and z: any sign or axis swap shows
    phantom = sim.Phantom(sim.Geometry(8, 96, 80), (sim.Sphere(4, 70.3, 20.7, 8.0, 1.0),))
    tilts = np.array([-70.0, -30.0, 0.0, 25.0, 60.0, 90.0])
    ours = sim.project(phantom, tilts)[:, :, 4]
    ref = astra_sino(phantom.voxelize([4])[0], tilts)
    u = np.arange(96)
    centroid_ours = (ours * u).sum(1) / ours.sum(1)
    centroid_ref = (ref * u).sum(1) / ref.sum(1)
    np.testing.assert_allclose(centroid_ours, centroid_ref, atol=0.1)  # sampling
    # and far from the mirrored geometry
    assert np.abs(centroid_ours - centroid_ours[2]).max() > 20
    assert rel_l2(ours, ref) < 0.04  # pixel-basis blur of a radius-8 sphere


def test_catalyst_projections_match_astra_reprojection_of_ground_truth(catalyst):
    xs = np.array([30, 45, 64, 80, 100])
    vol = catalyst.volume_slices(xs)
    for j, k in enumerate(xs):
        ref = astra_sino(vol[j], catalyst.tilts)
        ours = catalyst.stack.data[:, :, k]
        # < 1 % at this size (support radius 43 px): the residual is the pixel basis
        assert rel_l2(ours, ref) < 0.01, k
        np.testing.assert_allclose(ours.sum(1), ref.sum(1), rtol=2e-3)


@pytest.mark.parametrize("factory", [sim.simulate_needle, sim.simulate_rod])
def test_needle_and_rod_match_astra(factory):
    res = factory(size=128)
    xs = np.array([20, 64, 100])
    vol = res.volume_slices(xs)
    for j, k in enumerate(xs):
        ref = astra_sino(vol[j], res.tilts)
        ours = res.stack.data[:, :, k]
        assert rel_l2(ours, ref) < 0.06  # thin rod (radius 6 px): pixel-basis blur dominates
        np.testing.assert_allclose(ours.sum(1), ref.sum(1), rtol=0.02)
        u = np.arange(128)
        np.testing.assert_allclose((ours * u).sum(1) / ours.sum(1),
                                   (ref * u).sum(1) / ref.sum(1), atol=0.25)  # 2-px particles


def test_full_volume_has_reconstruction_shape(catalyst):
    vol = catalyst.volume
    assert vol.shape == (128, 128, 128) and vol.dtype == np.float32
    np.testing.assert_array_equal(vol[64], catalyst.volume_slices([64])[0])
    # support value 100 in the middle, nothing in the corners
    assert vol[64, 64, 64] == pytest.approx(100.0)
    assert vol[0, 0, 0] == 0.0


def test_default_stack_metadata(catalyst):
    stack = catalyst.stack
    assert isinstance(stack, TomoStack)
    assert stack.data.shape == (90, 128, 128)
    assert stack.data.dtype == np.float32
    np.testing.assert_array_equal(stack.tilt_values, np.arange(0, 180, 2))
    assert np.all(stack.shift_values == 0)
    assert stack.axes_manager[0].units == "degrees"
    assert stack.axes_manager["x"].units == "nm"
    np.testing.assert_array_equal(catalyst.aligned, stack.data)


def test_shifts_are_exact_and_follow_etspy_sign(catalyst):
    res = sim.misalign(catalyst, minshift=-4, maxshift=4, seed=3)
    assert res.shifts.shape == (90, 2)
    assert (res.shifts >= -4).all() and (res.shifts < 4).all()
    assert np.abs(res.shifts[:, 1]).max() > 1  # both axes shifted
    assert np.all(res.stack.shift_values == 0)  # nothing has been aligned yet
    np.testing.assert_allclose(res.aligned, catalyst.stack.data, rtol=1e-6)
    # ETSpy's misalign_stack does ndimage.shift(image, (dy, dx)): the same data, up to the
    # interpolation error of the spline (ours has none)
    for i in (0, 17, 45, 89):
        ref = ndimage.shift(res.aligned[i].astype(np.float64), res.shifts[i], order=3)
        inner = (slice(8, -8), slice(8, -8))
        assert rel_l2(res.stack.data[i][inner], ref[inner]) < 0.01


def test_integer_shift_equals_a_pixel_roll_exactly():
    phantom = sim.catalyst_model(size=64, n_particles=5)
    tilts = np.array([0.0, 40.0])
    shifts = np.array([[3.0, -2.0], [-1.0, 4.0]])
    mis = sim.Misalignment(shifts)
    moved = sim.project(phantom, tilts, mis)
    still = sim.project(phantom, tilts)
    for i, (dy, dx) in enumerate(shifts.astype(int)):
        np.testing.assert_allclose(
            moved[i], np.roll(still[i], (dy, dx), axis=(0, 1)), atol=1e-3)


def test_tiltshift_moves_the_axis_across_itself(catalyst):
    res = sim.misalign(catalyst, minshift=0, maxshift=0, tiltshift=3.5)
    assert res.tilt_shift == 3.5 and np.all(res.shifts == 0)
    ref = ndimage.shift(catalyst.stack.data.astype(np.float64), (0, 3.5, 0), order=3)
    assert rel_l2(res.stack.data, ref) < 0.01
    along = ndimage.shift(catalyst.stack.data.astype(np.float64), (0, 0, 3.5), order=3)
    assert rel_l2(res.stack.data, along) > 0.05


def test_tiltrotate_matches_etspy_rotation(catalyst):
    res = sim.misalign(catalyst, minshift=0, maxshift=0, tiltrotate=4.0)
    assert res.tilt_rotation == 4.0
    for i in (0, 30, 60):
        ref = ndimage.rotate(catalyst.stack.data[i].astype(np.float64), -4.0, reshape=False,
                             order=3)
        assert rel_l2(res.stack.data[i], ref) < 0.01
        wrong = ndimage.rotate(catalyst.stack.data[i].astype(np.float64), 4.0, reshape=False,
                               order=3)
        assert rel_l2(res.stack.data[i], wrong) > 2 * rel_l2(res.stack.data[i], ref)


def test_forward_and_inverse_are_inverse():
    geom = sim.Geometry(50, 40, 30)
    mis = sim.Misalignment(np.array([[1.5, -2.25]]), tilt_shift=-3.0, tilt_rotation=7.0)
    x, u = np.array([3.0, 20.0, 44.5]), np.array([1.0, 19.5, 38.0])
    x2, u2 = mis.inverse(0, *mis.forward(0, x, u, geom), geom)
    np.testing.assert_allclose(x2, x, atol=1e-12)
    np.testing.assert_allclose(u2, u, atol=1e-12)


def test_seeds_make_everything_reproducible():
    a = sim.simulate_catalyst(size=48, misalign=True, noise=True, seed=5)
    b = sim.simulate_catalyst(size=48, misalign=True, noise=True, seed=5)
    c = sim.simulate_catalyst(size=48, misalign=True, noise=True, seed=6)
    np.testing.assert_array_equal(a.stack.data, b.stack.data)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    assert not np.allclose(a.shifts, c.shifts)
    assert sim.catalyst_model(64, seed=1) == sim.catalyst_model(64, seed=1)
    assert sim.catalyst_model(64, seed=1) != sim.catalyst_model(64, seed=2)


def test_y_only_leaves_x_unshifted():
    res = sim.simulate_catalyst(size=48, misalign=True, y_only=True, seed=2)
    assert np.all(res.shifts[:, 1] == 0)
    assert np.abs(res.shifts[:, 0]).max() > 1


def test_catalyst_model_has_many_particles_of_varied_size():
    phantom = sim.catalyst_model()
    support, *particles = phantom.spheres
    assert support.radius == pytest.approx(200)
    assert len(particles) == 30
    radii = np.array([p.radius for p in particles])
    assert radii.min() >= 5 and radii.max() <= 20 and radii.std() > 2
    assert len({p.density for p in particles}) == 30


@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_noise_level_and_mean(catalyst, kind):
    clean = catalyst.stack.data.astype(np.float64)
    noisy = sim.add_noise_array(catalyst.stack.data, 0.2, kind, seed=0)
    assert noisy.dtype == np.float32
    diff = noisy - clean
    assert abs(diff.mean()) < 0.01 * clean.mean()
    if kind == "gaussian":
        assert diff.std() == pytest.approx(0.2 * clean.mean(), rel=0.02)
    else:
        # relative std at the mean intensity is the noise factor
        band = np.abs(clean - clean.mean()) < 0.05 * clean.mean()
        rel = diff[band].std() / clean.mean()
        assert rel == pytest.approx(0.2, rel=0.1)


def test_bad_input_raises_specific_errors(catalyst):
    with pytest.raises(UnknownMethodError, match="gaussian"):
        sim.add_noise_array(catalyst.stack.data, 0.1, "speckle")
    with pytest.raises(InvalidTiltsError):
        sim.project(catalyst.phantom, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="minshift"):
        sim.Misalignment.random(4, minshift=3, maxshift=1)
    with pytest.raises(IndexError):
        catalyst.volume_slices([500])


def test_engine_transforms_undo_the_reported_misalignment(catalyst):
    """The contract with docs/conventions.md: shifts = -applied, tiltaxis = -φ, yshift = -t."""
    res = sim.misalign(catalyst, minshift=-3, maxshift=3, tiltshift=2.5, tiltrotate=3.0,
                       seed=9)
    undone = res.stack.apply_shifts(-res.shifts).trans_stack(
        yshift=-res.tilt_shift, angle=-res.tilt_rotation, interpolation="cubic")
    inner = (slice(None), slice(12, -12), slice(12, -12))
    err = rel_l2(np.asarray(undone.data)[inner], catalyst.stack.data[inner])
    assert err < 0.02  # 0.008 measured: the interpolation of the undoing transforms
    # flipping the sign of the axis shift or of the rotation is clearly worse (0.23, 0.08)
    for yshift, angle in ((res.tilt_shift, -res.tilt_rotation),
                          (-res.tilt_shift, res.tilt_rotation)):
        wrong = res.stack.apply_shifts(-res.shifts).trans_stack(
            yshift=yshift, angle=angle, interpolation="cubic")
        assert rel_l2(np.asarray(wrong.data)[inner], catalyst.stack.data[inner]) > 4 * err


def test_noise_does_not_change_the_shifts():
    clean = sim.simulate_catalyst(size=48, misalign=True, seed=3)
    noisy = sim.simulate_catalyst(size=48, misalign=True, noise=True, seed=3)
    np.testing.assert_array_equal(clean.shifts, noisy.shifts)
    np.testing.assert_array_equal(noisy.aligned, sim.simulate_catalyst(size=48).stack.data)


# -- ETSpy's etspy.simulation functions ------------------------------------------------------
def test_etspy_catalyst_model_and_astra_tilt_series():
    model = sim.create_catalyst_model(nparticles=4, volsize=(40, 48, 44), support_radius=14,
                                      size_interval=(2, 3))
    assert model.data.shape == (40, 44, 48)  # (X, Z, Y): what create_model_tilt_series takes
    assert set(np.unique(model.data.round(3))) >= {0.0, 100.0, 255.0}
    stack = sim.create_model_tilt_series(model, angles=np.arange(0, 180, 10))
    assert isinstance(stack, TomoStack) and stack.data.shape == (18, 48, 40)
    np.testing.assert_array_equal(stack.tilt_values, np.arange(0, 180, 10))
    # the ASTRA projection of slice k is stack[:, :, k]
    k = 20
    np.testing.assert_allclose(stack.data[:, :, k],
                               astra_sino(model.data[k], np.arange(0, 180, 10)), rtol=1e-5)
    cylinder = sim.create_cylinder_model(radius=10, blur=False)
    assert cylinder.data.shape == (200, 200, 200)
    assert cylinder.data[100, 99, 99] == pytest.approx(50.0)


def test_etspy_misalign_stack_and_add_noise(catalyst):
    small = catalyst.stack.inav[:10]
    moved = sim.misalign_stack(small, -2, 2, seed=1)
    again = sim.misalign_stack(small, -2, 2, seed=1)
    np.testing.assert_array_equal(moved.data, again.data)
    assert np.abs(moved.shift_values).max() > 0.5  # ETSpy records the jitter in shifts
    i = 3
    ref = ndimage.shift(small.data[i], moved.shift_values[i], order=3)
    np.testing.assert_allclose(moved.data[i], ref, rtol=1e-4, atol=1e-2)
    across = sim.misalign_stack(small, 0, 0, tilt_shift=3)
    np.testing.assert_allclose(across.data[0, 40:90, 60],
                               ndimage.shift(small.data[0], (3, 0), order=3)[40:90, 60],
                               rtol=1e-4, atol=1e-2)
    noisy = sim.add_noise(small, "poissonian", 0.1, seed=2)
    assert isinstance(noisy, TomoStack) and not np.allclose(noisy.data, small.data)
    np.testing.assert_array_equal(small.data, catalyst.stack.data[:10])  # input untouched
