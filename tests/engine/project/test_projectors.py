"""Projector backends against ASTRA itself (the reference ETSpy runs), filters against ASTRA."""

from __future__ import annotations

import astra
import numpy as np
import pytest
from recon_phantoms import TILTS, phantom_volume, rel_l2

from etspy_widgets.engine.errors import InvalidDataError, UnknownMethodError
from etspy_widgets.engine.project import clear_cache
from etspy_widgets.engine.recon import FILTERS, cuda_available, filter_sinograms, get_projector

RNG = np.random.default_rng(7)


def astra_fp(img, tilts, kernel="strip"):
    pg = astra.create_proj_geom("parallel", 1.0, img.shape[1], np.deg2rad(tilts))
    vg = astra.create_vol_geom(img.shape)
    pid = astra.create_projector(kernel, pg, vg)
    sid, sino = astra.create_sino(img, pid)
    astra.data2d.delete(sid)
    astra.projector.delete(pid)
    return sino


def astra_fbp(sino, tilts, thickness, filt):
    n = sino.shape[1]
    pg = astra.create_proj_geom("parallel", 1.0, n, np.deg2rad(tilts))
    vg = astra.create_vol_geom((thickness, n))
    pid = astra.create_projector("strip", pg, vg)
    rid = astra.data2d.create("-vol", vg)
    sid = astra.data2d.create("-sino", pg, sino)
    cfg = astra.astra_dict("FBP")
    cfg.update(ProjectorId=pid, ProjectionDataId=sid, ReconstructionDataId=rid)
    cfg["option"] = {"FilterType": filt}
    aid = astra.algorithm.create(cfg)
    astra.algorithm.run(aid)
    rec = astra.data2d.get(rid)
    astra.algorithm.delete(aid)
    astra.data2d.delete([rid, sid])
    astra.projector.delete(pid)
    return rec


@pytest.mark.parametrize("kernel", ["strip", "linear", "line"])
@pytest.mark.parametrize("thickness", [48, 64, 80])
def test_sparse_backend_matches_astra(kernel, thickness):
    vol = RNG.random((3, thickness, 64)).astype(np.float32)
    sino = RNG.random((3, TILTS.size, 64)).astype(np.float32)
    ref = get_projector(TILTS, 64, thickness, "astra", kernel=kernel)
    ours = get_projector(TILTS, 64, thickness, "sparse", kernel=kernel)
    assert rel_l2(ours.forward(vol), ref.forward(vol)) < 1e-4
    assert rel_l2(ours.back(sino), ref.back(sino)) < 1e-4
    # and the reference backend is ASTRA's create_sino, slice by slice
    assert rel_l2(ref.forward(vol)[1], astra_fp(vol[1], TILTS, kernel)) < 1e-6


def test_per_projection_operators_match():
    ref = get_projector(TILTS, 48, 48, "astra")
    ours = get_projector(TILTS, 48, 48, "sparse")
    x = RNG.random((48 * 48, 2)).astype(np.float32)
    y = RNG.random((48, 2)).astype(np.float32)
    for a in (0, 17, TILTS.size - 1):
        assert rel_l2(ours.fp_angle_cols(a, x), ref.fp_angle_cols(a, x)) < 1e-4
        assert rel_l2(ours.bp_angle_cols(a, y), ref.bp_angle_cols(a, y)) < 1e-4
        full = ours.fp_cols(x).reshape(TILTS.size, 48, 2)[a]
        assert rel_l2(ours.fp_angle_cols(a, x), full) < 1e-6


def test_back_is_the_transpose_of_forward():
    p = get_projector(TILTS, 40, 32, "sparse")
    x = RNG.random((2, 32, 40)).astype(np.float32)
    y = RNG.random((2, TILTS.size, 40)).astype(np.float32)
    lhs = float(np.sum(p.forward(x).astype(np.float64) * y))
    rhs = float(np.sum(x.astype(np.float64) * p.back(y)))
    assert abs(lhs - rhs) / abs(lhs) < 1e-5


def test_single_slice_and_layouts():
    p = get_projector(TILTS, 32, None, "sparse")
    img = phantom_volume(1, 32)[0]
    assert p.forward(img).shape == (TILTS.size, 32)
    assert p.forward(img[None]).shape == (1, TILTS.size, 32)
    assert p.back(p.forward(img)).shape == (32, 32)
    with pytest.raises(InvalidDataError, match="expects slices"):
        p.forward(np.zeros((3, 31, 32)))
    with pytest.raises(InvalidDataError, match="expects sinograms"):
        p.back(np.zeros((3, TILTS.size + 1, 32)))


def test_projectors_are_cached_per_geometry():
    clear_cache()
    a = get_projector(TILTS, 32, 32, "sparse")
    assert get_projector(TILTS, 32, 32, "sparse") is a
    assert get_projector(TILTS, 32, 30, "sparse") is not a
    assert get_projector(TILTS[1:], 32, 32, "sparse") is not a


def test_unknown_backend_and_kernel():
    with pytest.raises(UnknownMethodError, match="backend"):
        get_projector(TILTS, 32, backend="gpu-magic")
    with pytest.raises(UnknownMethodError, match="kernel"):
        get_projector(TILTS, 32, kernel="blob")


@pytest.mark.parametrize("filt", FILTERS)
def test_fbp_filters_match_astra(filt):
    img = phantom_volume(1, 48)[0]
    sino = astra_fp(img, TILTS)
    p = get_projector(TILTS, 48, 40, "sparse")
    ours = p.back(filter_sinograms(sino, 48, filt)) * (np.pi / 2 / TILTS.size)
    assert rel_l2(ours, astra_fbp(sino, TILTS, 40, filt)) < 1e-4


def test_unknown_filter():
    with pytest.raises(UnknownMethodError, match="shepp-logan"):
        filter_sinograms(np.zeros((3, 8)), 8, "sheppy")


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device")
def test_cuda_backend_matches_reference():  # pragma: no cover - needs a GPU
    vol = RNG.random((2, 64, 64)).astype(np.float32)
    sino = RNG.random((2, TILTS.size, 64)).astype(np.float32)
    gpu = get_projector(TILTS, 64, 64, "cuda")
    cpu = get_projector(TILTS, 64, 64, "astra", kernel="linear")
    # ASTRA's CUDA kernels are Joseph-type (like "linear") in projection and
    # pixel-driven in back projection: compare with a tolerance for that difference
    assert rel_l2(gpu.forward(vol), cpu.forward(vol)) < 2e-2
    assert rel_l2(gpu.back(sino), cpu.back(sino)) < 5e-2


@pytest.mark.parametrize(("thickness", "n_det"), [(40, 48), (33, 32)])
def test_native_strip_matrix_equals_astra(thickness, n_det):
    from scipy.sparse import linalg as splinalg

    from etspy_widgets.engine.project import SparseProjector

    tilts = np.array([-76.0, -45.0, -30.0, 0.0, 13.0, 45.0, 60.0, 90.0, 135.0, 180.0])
    native = SparseProjector(tilts, n_det, thickness).matrix
    ref = SparseProjector(tilts, n_det, thickness, builder="astra").matrix
    assert native.shape == ref.shape
    assert splinalg.norm(native - ref) / splinalg.norm(ref) < 1e-4


def test_fused_residual_step_equals_separate_operators():
    p = get_projector(TILTS, 40, 36, "sparse")
    ref = get_projector(TILTS, 40, 36, "astra")
    x = RNG.random((36 * 40, 3)).astype(np.float32)
    y = RNG.random((TILTS.size * 40, 3)).astype(np.float32)
    rinv = RNG.random((TILTS.size * 40, 1)).astype(np.float32)
    upd, res = p.residual_bp(x, y, rinv)
    upd_ref, res_ref = ref.residual_bp(x, y, rinv)
    assert rel_l2(upd, upd_ref) < 1e-4
    np.testing.assert_allclose(res, res_ref, rtol=1e-4)
    a = 5
    rows = slice(a * 40, (a + 1) * 40)
    upd_a, _ = p.residual_bp(x, y[rows], rinv[rows], angle=a)
    upd_a_ref, _ = ref.residual_bp(x, y[rows], rinv[rows], angle=a)
    assert rel_l2(upd_a, upd_a_ref) < 1e-4


def test_concurrent_requests_share_one_build():
    """Threads asking for the same new geometry at once get one projector, built once."""
    from concurrent.futures import ThreadPoolExecutor

    from etspy_widgets.engine.project import clear_cache, get_projector

    clear_cache()
    tilts = np.linspace(-70, 70, 71)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: get_projector(tilts, 200, 200, "sparse"), range(8)))
    assert all(p is got[0] for p in got)
    assert get_projector(tilts, 200, 200, "sparse") is got[0]


@pytest.mark.parametrize("thickness, n_det, n_tilts", [(64, 64, 36), (50, 77, 90), (97, 40, 5)])
def test_strip_matrix_built_tiled_equals_the_tiled_csr(thickness, n_det, n_tilts):
    """The direct tiled build is the CSR build reordered, array for array."""
    from etspy_widgets.engine.project import _csr, _sparse

    tilts = np.linspace(-70, 88, n_tilts)
    via_csr = _csr.csr_to_tiled(*_sparse.strip_matrix(tilts, thickness, n_det), n_det,
                                _csr.TILE)
    direct = _sparse.strip_tiled(tilts, thickness, n_det)
    for a, b in zip(via_csr, direct, strict=True):
        np.testing.assert_array_equal(a, b)


def test_auto_falls_back_to_matrix_free_when_the_matrix_would_not_fit(monkeypatch):
    """"auto" on a CPU: the matrix-free strip projector (with a warning that says so)
    instead of a sparse matrix larger than the memory budget, equal to ASTRA's result; an
    explicit "sparse" that cannot fit is refused."""
    from etspy_widgets.engine import project
    from etspy_widgets.engine.project import _cache as projectors
    from etspy_widgets.engine.recon.stack import reconstruct_stack

    project.clear_cache()
    rng = np.random.default_rng(0)
    tilts = np.linspace(-60, 60, 31)
    data = rng.random((31, 40, 6)).astype(np.float32)
    expected = reconstruct_stack(data, tilts, "SIRT", 5, backend="astra",
                                 show_progressbar=False, client=None)
    monkeypatch.setattr(projectors, "SPARSE_MEMORY_FRACTION", 1e-12)  # a tiny budget
    with pytest.warns(ResourceWarning, match="backend='matrix-free'"):
        got = reconstruct_stack(data, tilts, "SIRT", 5, backend="cpu", show_progressbar=False,
                                client=None)
    assert rel_l2(got, expected) < 1e-4
    assert project.is_cached(tilts, 40, 40, "matrix-free")
    assert not project.is_cached(tilts, 40, 40, "sparse")
    monkeypatch.setattr(projectors, "SPARSE_BYTES_PER_RAY_PIXEL", 10**15)  # cannot fit
    with pytest.raises(MemoryError, match="backend='matrix-free'"):
        reconstruct_stack(data, tilts, "SIRT", 5, backend="sparse", show_progressbar=False,
                          client=None)
    project.clear_cache()


def test_sparse_matrix_estimate_is_close_to_the_built_matrix():
    from etspy_widgets.engine import project

    tilts = np.linspace(-70, 70, 61)
    built = project.SparseProjector(tilts, 256, 256).nbytes
    estimate = project.sparse_matrix_bytes(61, 256, 256)
    assert 0.9 < estimate / built < 1.25


# -- the matrix-free strip pair (issue 19, item 1) -----------------------------------------
@pytest.mark.parametrize(("thickness", "n_det", "k"), [(64, 64, 1), (48, 64, 3), (80, 57, 5)])
def test_matrix_free_matches_sparse_and_astra(thickness, n_det, k):
    """The same strip weights computed on the fly: equal to the sparse matrix to float32
    rounding, to ASTRA's strip projector to 1e-4, and SIRT on it equals ASTRA's SIRT to
    ≤ 1e-3 inside the reconstruction disc."""
    tilts = np.concatenate([TILTS, [0.0, 90.0, 45.0]])  # axis-aligned and diagonal rays
    vol = RNG.random((k, thickness, n_det)).astype(np.float32)
    sino = RNG.random((k, tilts.size, n_det)).astype(np.float32)
    free = get_projector(tilts, n_det, thickness, "matrix-free")
    sparse = get_projector(tilts, n_det, thickness, "sparse")
    ref = get_projector(tilts, n_det, thickness, "astra")
    assert free.backend == "matrix-free"
    assert rel_l2(free.forward(vol), sparse.forward(vol)) < 1e-6
    assert rel_l2(free.back(sino), sparse.back(sino)) < 1e-6
    assert rel_l2(free.forward(vol), ref.forward(vol)) < 1e-4
    assert rel_l2(free.back(sino), ref.back(sino)) < 1e-4
    x = np.ascontiguousarray(vol.reshape(k, -1).T)
    y = np.ascontiguousarray(sino.reshape(k, -1).T)
    rinv = RNG.random((y.shape[0], 1)).astype(np.float32)
    upd, res = free.residual_bp(x, y, rinv)  # the fused SIRT step
    upd_s, res_s = sparse.residual_bp(x, y, rinv)
    assert rel_l2(upd, upd_s) < 1e-5
    np.testing.assert_allclose(res, res_s, rtol=1e-5)
    for a in (0, 7):
        assert rel_l2(free.fp_angle_cols(a, x), sparse.fp_angle_cols(a, x)) < 1e-6
        assert rel_l2(free.bp_angle_cols(a, y[a * n_det:(a + 1) * n_det]),
                      sparse.bp_angle_cols(a, y[a * n_det:(a + 1) * n_det])) < 1e-6


def test_matrix_free_sirt_equals_astra_inside_the_disc():
    from etspy_widgets.engine.recon import reconstruct_slices

    vol = phantom_volume(2, 64)
    sino = get_projector(TILTS, 64, 64, "astra").forward(vol).transpose(1, 2, 0)
    ref = reconstruct_slices(sino, TILTS, "SIRT", 30, backend="astra")
    ours = reconstruct_slices(sino, TILTS, "SIRT", 30, backend="matrix-free")
    yy, xx = np.mgrid[:64, :64] - 31.5
    disc = np.hypot(yy, xx) < 30
    assert rel_l2(ours[:, disc], ref[:, disc]) < 1e-3
    with pytest.raises(UnknownMethodError, match="matrix-free kernel"):
        get_projector(TILTS, 64, 64, "matrix-free", kernel="linear")


def test_auto_says_which_cpu_backend_it_chose(caplog):
    import logging

    clear_cache()
    with caplog.at_level(logging.INFO, logger="etspy_widgets.engine.project"):
        proj = get_projector(TILTS, 40, 40, "cpu")
    assert proj.backend == "sparse"
    assert "the sparse CPU projector" in caplog.text
    clear_cache()


# -- the GPU path (issue 19, item 5): behind the same interface ------------------------------
@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU: the refusal is not testable")
def test_astra_cuda_without_a_gpu_is_refused_with_the_cpu_alternative():
    for name in ("astra-cuda", "cuda"):
        with pytest.raises(RuntimeError, match="backend='sparse'"):
            get_projector(TILTS, 32, 32, name)


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device (ASTRA sees no GPU here)")
def test_astra_cuda_reconstructs_like_the_cpu():  # pragma: no cover - needs a GPU
    from etspy_widgets.engine.recon import reconstruct_slices, reconstruct_stack

    vol = phantom_volume(4, 64)
    sino = get_projector(TILTS, 64, 64, "astra", kernel="linear").forward(vol)
    block = np.ascontiguousarray(sino.transpose(1, 2, 0))
    gpu = reconstruct_slices(block, TILTS, "SIRT", 30, backend="astra-cuda")
    cpu = reconstruct_slices(block, TILTS, "SIRT", 30, backend="astra", kernel="linear")
    assert get_projector(TILTS, 64, 64, "astra-cuda").backend == "astra-cuda"
    assert rel_l2(gpu, cpu) < 5e-2
    assert rel_l2(gpu, vol) < 0.5  # it reconstructs the phantom
    # the chunked driver on the GPU: chunks run one after another on the one device
    stack = np.ascontiguousarray(sino.transpose(1, 2, 0))
    whole = reconstruct_stack(stack, TILTS, "FBP", backend="astra-cuda", ncores=2,
                              show_progressbar=False, client=None)
    assert rel_l2(whole, reconstruct_slices(block, TILTS, "FBP", backend="astra-cuda")) < 1e-5


# -- few slices and big blocks (issue 19, items 1 and 3) ------------------------------------
def test_auto_takes_the_tabulated_matrix_free_pair_for_few_slices():
    clear_cache()
    tilts = TILTS[:20]
    assert get_projector(tilts, 48, 48, "auto", n_slices=1).backend == "matrix-free"
    assert get_projector(tilts, 48, 48, "auto", n_slices=4).backend == "sparse"
    # the matrix is built now: a few slices still take the matrix-free projector (its
    # table for one slice and for SART; its sparse twin for 2-3 slices of the others)
    assert get_projector(tilts, 48, 48, "auto", n_slices=1).backend == "matrix-free"
    assert get_projector(tilts, 48, 48, "auto", n_slices=3).backend == "matrix-free"
    assert get_projector(tilts, 48, 48, "sparse", n_slices=1).backend == "sparse"
    assert get_projector(tilts, 48, 48, "matrix-free").strip_table() is not None
    clear_cache()


def test_two_or_three_slices_go_to_the_sparse_matrix_once_it_is_built(monkeypatch):
    """Measured: with the geometry's matrix built, 2-3 slices of SIRT, CGLS and TV are
    faster on it than on the table, one slice and SART's sweep are not. The matrix-free
    projector hands those blocks to its built sparse twin (counted: the sparse
    operators are wrapped, and still run), with the table's results to float32
    rounding."""
    from etspy_widgets.engine.project import SparseProjector
    from etspy_widgets.engine.recon import reconstruct_slices

    calls = []
    for name in ("fp_cols", "bp_cols", "residual_bp", "sirt_update", "sart_sweep"):
        real = getattr(SparseProjector, name)

        def counted(self, *a, _real=real, _name=name, **kw):
            calls.append((_name, np.shape(a[0])[1]))
            return _real(self, *a, **kw)

        monkeypatch.setattr(SparseProjector, name, counted)

    clear_cache()
    tilts, n = TILTS[:30], 40
    free = get_projector(tilts, n, n, "auto", n_slices=3)
    assert free.backend == "matrix-free"
    assert all(free._sparse_twin(k) is None for k in (1, 2, 3))  # no matrix yet
    sino = np.ascontiguousarray(free.forward(phantom_volume(3, n)).transpose(1, 2, 0))

    def run(method, backend, k=3):
        return reconstruct_slices(sino[:, :, :k], tilts, method, 8, backend=backend,
                                  ncores=2)

    methods = ("SIRT", "CGLS", "TV", "SART")
    on_table = {m: run(m, "auto") for m in methods}
    sparse = get_projector(tilts, n, n, "sparse")  # the matrix, built
    assert free._sparse_twin(1) is None and free._sparse_twin(4) is None
    assert free._sparse_twin(3).backend == "sparse"
    assert free._sparse_twin(3)._cache is sparse._cache  # a view of the built one
    assert not calls  # nothing ran on a sparse matrix so far
    for m in methods:
        del calls[:]
        auto = run(m, "auto")
        routed = list(calls)
        tol = 1e-3 if m in ("CGLS", "TV") else 1e-5  # conjugate gradients amplify rounding
        assert rel_l2(auto, on_table[m]) < tol, m
        assert rel_l2(auto, run(m, "sparse")) < tol, m
        if m == "SART":  # the sweep stays on the table
            assert ("sart_sweep", 3) not in routed
        else:
            assert len(routed) >= 8 and all(k == 3 for _, k in routed), (m, routed[:3])
    # one slice stays on the table whatever is built
    del calls[:]
    run("SIRT", "auto", 1)
    assert calls == []
    clear_cache()


@pytest.mark.parametrize("k", [1, 3])
def test_tabulated_operators_equal_the_sparse_ones(k):
    """For a few slices the matrix-free pair projects, back projects and sweeps SART on
    its weight table: equal to the sparse matrix's operators (and its sums) to float32
    rounding, whatever the block (one or three slices, masks, bounds, order)."""
    n, thickness = 40, 36
    tilts = np.concatenate([TILTS, [0.0, 90.0, 45.0]])  # axis-aligned and diagonal rays
    from etspy_widgets.engine.project import SparseProjector

    clear_cache()
    free = get_projector(tilts, n, thickness, "matrix-free").with_threads(2)
    # the reference outside the cache: a cached one would take 3-slice blocks itself
    sparse = SparseProjector(tilts, n, thickness)
    free.prepare(k)  # tabulates the weights (and the sums, on the way)
    assert free._cache.get("table") is not None and "sums" in free._cache
    for ours, ref in zip(free.sums(), sparse.sums(), strict=True):
        assert rel_l2(ours, ref) < 1e-6
    x = RNG.random((thickness * n, k)).astype(np.float32)
    y = RNG.random((tilts.size * n, k)).astype(np.float32)
    assert rel_l2(free.fp_cols(x), sparse.fp_cols(x)) < 1e-6
    assert rel_l2(free.bp_cols(y), sparse.bp_cols(y)) < 1e-6
    order = RNG.permutation(tilts.size)
    mask = (RNG.random(x.shape) < 0.7).astype(np.float32)
    for kw in ({}, {"lower": 0.2, "upper": 0.8, "relaxation": 0.7},
               {"mask": mask, "lower": 0.0}):
        ray_len = sparse.fp_cols(mask) if "mask" in kw else sparse.sums()[0][:, None]
        xs, xf = x.copy(), x.copy()
        res_s = sparse.sart_sweep(xs, y, ray_len, order, **kw)
        res_f = free.sart_sweep(xf, y, ray_len, order, **kw)
        assert rel_l2(xf, xs) < 1e-5, kw
        np.testing.assert_allclose(res_f, res_s, rtol=1e-5)
        assert not np.allclose(xf, x)  # it did update
    clear_cache()


def test_big_block_sirt_update_in_place_equals_the_update_block(monkeypatch):
    """The matrix-free SIRT update written into the iterate row by row (no update block)
    equals the sparse backend's ``x + cinv · residual_bp``."""
    from etspy_widgets.engine.project import _free

    n, k = 40, 5
    tilts = np.concatenate([TILTS, [0.0, 90.0]])
    free = _free.MatrixFreeProjector(tilts, n, n)
    sparse = get_projector(tilts, n, n, "sparse")
    x = RNG.random((n * n, k)).astype(np.float32)
    y = RNG.random((tilts.size * n, k)).astype(np.float32)
    rinv = RNG.random((y.shape[0], 1)).astype(np.float32)
    cinv = RNG.random((n * n, 1)).astype(np.float32)
    upd, res_s = sparse.residual_bp(x, y, rinv)
    ref = x + cinv * upd
    monkeypatch.setattr(_free, "FUSED_BYTES", 0)  # take the in-place path
    xin = x.copy()
    res = free.sirt_update(xin, y, rinv, cinv)
    assert rel_l2(xin, ref) < 1e-6
    np.testing.assert_allclose(res, res_s, rtol=1e-5)


@pytest.mark.parametrize("backend", ["matrix-free", "sparse"])
def test_sart_keeps_its_per_projection_weights_only_while_they_fit(monkeypatch, backend):
    """SART's per-projection pixel weights (two ``n_pix`` arrays per projection: 20 GB at
    151 × 4096²) are cached while they fit ``ANGLE_CACHE_BYTES``, else computed at each
    projection: the same sweep either way, and nothing per projection kept."""
    from etspy_widgets.engine.project import _base

    n, k = 40, 5  # more than three slices: the generic sweep, not the table's
    tilts = TILTS[:24]
    x0 = RNG.random((n * n, k)).astype(np.float32)
    y = RNG.random((tilts.size * n, k)).astype(np.float32)
    out = {}
    for budget in (_base.ANGLE_CACHE_BYTES, 0):
        monkeypatch.setattr(_base, "ANGLE_CACHE_BYTES", budget)
        clear_cache()
        proj = get_projector(tilts, n, n, backend)
        x = x0.copy()
        res = proj.sart_sweep(x, y, proj.sums()[0][:, None], np.arange(tilts.size),
                              lower=0.0)
        kept = [key for key in proj._cache if isinstance(key, tuple)
                and key[0] in ("pix_winv", "angle_col_sums")]
        out[budget] = (x, res, len(kept))
    (x_c, res_c, kept_c), (x_n, res_n, kept_n) = out.values()
    assert kept_c == 2 * tilts.size and kept_n == 0
    np.testing.assert_array_equal(x_n, x_c)
    np.testing.assert_array_equal(res_n, res_c)
    clear_cache()
