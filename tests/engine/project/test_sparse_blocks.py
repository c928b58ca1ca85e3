"""The sparse backend's unrolled kernels on wide blocks (the 64-wide vector loop and its
tails: 130 slices) against ASTRA's strip projector slice by slice, and the chunking and
``out=`` delivery of the iterative driver."""

from __future__ import annotations

import astra
import numpy as np
from recon_phantoms import TILTS, phantom_volume, rel_l2

from etspy_widgets.engine.recon import get_projector, reconstruct_slices, reconstruct_stack
from etspy_widgets.engine.recon.stack import ITERATIVE_CHUNK, _chunks

N = 40


def astra_pair(img, sino, tilts):
    pg = astra.create_proj_geom("parallel", 1.0, img.shape[1], np.deg2rad(tilts))
    vg = astra.create_vol_geom(img.shape)
    pid = astra.create_projector("strip", pg, vg)
    op = astra.OpTomo(pid)
    fp = (op * img.ravel()).reshape(len(tilts), img.shape[1])
    bp = (op.T * sino.ravel()).reshape(img.shape)
    astra.projector.delete(pid)
    return fp, bp


def test_wide_blocks_project_like_astra_slice_by_slice():
    k = 130  # 2 × 64 + a tail of 2
    rng = np.random.default_rng(3)
    vol = np.repeat(phantom_volume(2, N), k // 2, axis=0)
    vol *= rng.uniform(0.5, 1.5, (k, 1, 1)).astype(np.float32)
    sino = rng.random((k, len(TILTS), N)).astype(np.float32)
    proj = get_projector(TILTS, N, N, "sparse")
    fp, bp = proj.forward(vol), proj.back(sino)
    for s in (0, 63, 64, 127, 129):
        a_fp, a_bp = astra_pair(vol[s], sino[s], TILTS)
        assert rel_l2(fp[s], a_fp) < 1e-4
        assert rel_l2(bp[s], a_bp) < 1e-4
    one = get_projector(TILTS, N, N, "sparse").forward(vol[129])  # the k == 1 kernel
    assert rel_l2(fp[129], one) < 1e-6


def test_iterative_chunks_are_equal_and_a_multiple_of_the_cores():
    assert _chunks(256, None, 2, 0, ITERATIVE_CHUNK) == [(0, 128), (128, 256)]
    sizes = {b - a for a, b in _chunks(600, None, 2, 0, ITERATIVE_CHUNK)}
    assert sizes == {100} and len(_chunks(600, None, 2, 0, ITERATIVE_CHUNK)) == 6
    assert _chunks(10, None, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]


def test_sirt_of_a_wide_block_equals_its_slices_and_writes_into_out():
    vol = phantom_volume(3, N)
    sino = get_projector(TILTS, N, N, "sparse").forward(vol).transpose(1, 2, 0)  # (t, n, 3)
    block = np.ascontiguousarray(np.tile(sino, (1, 1, 24)))  # 72 slices: one chunk
    rec = reconstruct_stack(block, TILTS, "SIRT", 20, ncores=1, show_progressbar=False)
    single = reconstruct_slices(np.ascontiguousarray(sino[:, :, 1]), TILTS, "SIRT", 20)
    assert rel_l2(rec[1], single) < 1e-5
    assert rel_l2(rec[70], single) < 1e-5  # in the vector loop's tail
    out = np.full((3, N, N), np.nan, np.float32)
    got = reconstruct_slices(np.ascontiguousarray(sino), TILTS, "SIRT", 20, out=out)
    assert got is out
    np.testing.assert_allclose(out, reconstruct_slices(sino, TILTS, "SIRT", 20), atol=1e-6)
    assert rel_l2(out[1], vol[1]) < 0.4  # a reconstruction of the phantom (SIRT-20, ±70°: 0.32)


def test_the_per_projection_rows_are_built_once_for_every_thread_view():
    """SART's per-projection CSR rows live in the cache the ``with_threads`` views share
    (kept on each view, they were rebuilt at every call through a new view), and a sweep
    through a view equals ASTRA's strip matrix row by row."""
    proj = get_projector(TILTS, N, N, "sparse")
    first = proj.with_threads(2)._w
    assert proj.with_threads(3)._w is first and proj._w is first
    indptr, indices, data, n_rows = first
    pg = astra.create_proj_geom("parallel", 1.0, N, np.deg2rad(TILTS))
    vg = astra.create_vol_geom(N, N)
    pid = astra.create_projector("strip", pg, vg)
    ref = astra.matrix.get(astra.projector.matrix(pid)).tocsr()
    astra.projector.delete(pid)
    from scipy.sparse import csr_matrix
    ours = csr_matrix((data, indices, indptr), shape=(n_rows, N * N))
    assert abs(ours - ref).max() < 1e-4 * abs(ref).max()
