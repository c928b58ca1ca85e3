"""test_align_slices / SliceSampler / test_align / manual_align and the small FBP."""

import astra
import numpy as np
import pytest
from align_phantoms import make_phantom

from etspy_widgets import TomoStack
from etspy_widgets.engine.align import SliceSampler, test_align_slices
from etspy_widgets.engine.align._slices import reconstruct_sinograms
from etspy_widgets.engine.errors import UnknownMethodError
from etspy_widgets.engine.project import get_projector
from etspy_widgets.engine.transform import fourier_shift_stack, rotate_shift_stack

TILTS = np.arange(-70.0, 71.0, 2.0)


@pytest.fixture(scope="module")
def ph():
    return make_phantom("catalyst", size=(64, 90), tilts=TILTS, jitter=0.0, rotation=1.5,
                        yshift=-2.5, seed=8)


@pytest.mark.parametrize(("shift", "rot"), [(0.0, 0.0), (2.7, 0.0), (-1.3, 3.2), (0.0, -7.0)])
@pytest.mark.parametrize("method", ["FBP", "SIRT"])
def test_slices_equal_whole_stack_transform(ph, shift, rot, method):
    slices = np.array([10, 45, 80])
    fast = test_align_slices(ph.data, TILTS, shift, rot, slices, method=method, iterations=10)
    whole = rotate_shift_stack(ph.data, rot, shift, order=1)[:, :, slices]
    ref = reconstruct_sinograms(np.ascontiguousarray(whole.transpose(2, 0, 1)), TILTS,
                                method=method, iterations=10)
    assert fast.shape == (3, 64, 64)
    np.testing.assert_allclose(fast, ref, atol=1e-4 * np.abs(ref).max())


def test_per_projection_shifts_equal_shifting_the_stack(ph):
    rng = np.random.default_rng(0)
    shifts = rng.uniform(-2, 2, (len(TILTS), 2))
    fast = test_align_slices(ph.data, TILTS, 1.0, 0.5, shifts=shifts)
    whole = rotate_shift_stack(fourier_shift_stack(ph.data, shifts), 0.5, 1.0, order=1)
    cols = whole[:, :, [22, 45, 67]]
    ref = reconstruct_sinograms(np.ascontiguousarray(cols.transpose(2, 0, 1)), TILTS)
    # one linear interpolation against a Fourier shift + a linear one: interpolation accuracy
    err = np.linalg.norm(fast - ref) / np.linalg.norm(ref)
    assert err < 0.05


def test_right_values_give_the_sharpest_slices(ph):
    """The phantom's own correction reconstructs the truth better than none."""
    truth = reconstruct_sinograms(np.ascontiguousarray(ph.truth[:, :, [22, 45, 67]]
                                                       .transpose(2, 0, 1)), TILTS)
    good = test_align_slices(ph.data, TILTS, ph.yshift, ph.rotation)
    bad = test_align_slices(ph.data, TILTS, 0.0, 0.0)
    assert np.linalg.norm(good - truth) < 0.3 * np.linalg.norm(bad - truth)


def test_sampler_reuse_and_default_slices(ph):
    sampler = SliceSampler(ph.data)
    np.testing.assert_array_equal(sampler.slices, [22, 45, 67])
    a = test_align_slices(ph.data, TILTS, 1.0, 2.0, sampler=sampler)
    b = test_align_slices(ph.data, TILTS, 1.0, 2.0)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(IndexError, match="slices"):
        SliceSampler(ph.data, [0, 90])


def test_fbp_matches_astra():
    rng = np.random.default_rng(1)
    vol = np.zeros((64, 64), np.float32)
    zz, yy = np.mgrid[:64, :64]
    for _ in range(6):
        z, y, r = [*rng.uniform(20, 44, 2).tolist(), rng.uniform(3, 8)]
        vol[(zz - z) ** 2 + (yy - y) ** 2 < r * r] += 1
    vg = astra.create_vol_geom((64, 64))
    pg = astra.create_proj_geom("parallel", 1.0, 64, np.deg2rad(TILTS))
    pid = astra.create_projector("linear", pg, vg)
    _, sino = astra.create_sino(vol, pid)
    sid = astra.data2d.create("-sino", pg, sino)
    rid = astra.data2d.create("-vol", vg)
    cfg = astra.astra_dict("FBP")
    cfg.update(ProjectorId=pid, ProjectionDataId=sid, ReconstructionDataId=rid)
    aid = astra.algorithm.create(cfg)
    astra.algorithm.run(aid)
    ref = astra.data2d.get(rid)
    astra.algorithm.delete(aid)
    astra.data2d.delete([sid, rid])
    astra.projector.delete(pid)
    mine = reconstruct_sinograms(sino[None].astype(np.float32), TILTS, 64, "FBP",
                                 constrain=False, sino_filter="ram-lak")[0]
    assert np.linalg.norm(mine - ref) / np.linalg.norm(ref) < 0.1
    # the pixel projector pair is an exact adjoint
    pix = get_projector(TILTS, 64, 64, kernel="pixel")
    x = rng.random((2, 64, 64)).astype(np.float32)
    p = rng.random((2, len(TILTS), 64)).astype(np.float32)
    lhs = float((pix.forward(x) * p).astype(np.float64).sum())
    rhs = float((x * pix.back(p)).astype(np.float64).sum())
    assert lhs == pytest.approx(rhs, rel=1e-4)


def test_test_align_figure_and_errors(ph):
    stack = TomoStack(ph.data, tilts=TILTS)
    fig = stack.test_align(tilt_shift=ph.yshift, tilt_rotation=ph.rotation, thickness=40)
    assert len(fig.axes) == 3
    assert fig.axes[1].images[0].get_array().shape == (40, 64)
    with pytest.raises(UnknownMethodError, match="FBP"):
        stack.test_align(method="DART")


def test_manual_align_moves_the_second_part():
    data = np.zeros((4, 20, 30), np.float32)
    data[:, 8:12, 10:14] = 1
    data[2:] = np.roll(data[2:], (-2, 3), axis=(1, 2))  # second half displaced
    stack = TomoStack(data, tilts=[-30, -10, 10, 30])
    out = stack.manual_align(2, xshift=-3, yshift=2)
    assert out.data.shape == (4, 18, 27)
    np.testing.assert_array_equal(out.data[0], out.data[3])
    with pytest.raises(IndexError, match="nslice"):
        stack.manual_align(0, 1, 1)
