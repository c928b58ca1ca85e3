"""The chunked Dask driver: threads and a two-process LocalCluster give the serial volume."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from recon_phantoms import TILTS, phantom_stack, rel_l2

from etspy_widgets.engine.recon import ReconstructionCancelled, reconstruct_slices
from etspy_widgets.engine.recon.stack import _chunks, reconstruct_stack


@pytest.fixture(scope="module")
def phantom():
    return phantom_stack(nx=10, n=48)


def serial(stack, method, **kw):
    data = np.ascontiguousarray(stack.data)
    return reconstruct_slices(data, TILTS, method, **kw)


def test_chunks_cover_every_column_once():
    for nx, size, cores in ((10, None, 2), (10, 3, 1), (1, None, 4), (100, None, 2)):
        chunks = _chunks(nx, size, cores)
        cols = np.concatenate([np.arange(a, b) for a, b in chunks])
        np.testing.assert_array_equal(cols, np.arange(nx))
    assert len(_chunks(10, None, 2)) == 2


@pytest.mark.parametrize(("method", "kw"), [("FBP", {}), ("SIRT", {"iterations": 15}),
                                            ("SART", {"iterations": 2}),
                                            ("TV", {"iterations": 10})])
def test_threads_equal_serial(phantom, method, kw):
    stack, _ = phantom
    ref = serial(stack, method, **kw)
    out = reconstruct_stack(stack.data, TILTS, method, chunk_size=3, ncores=2,
                            show_progressbar=True, **kw)
    assert out.shape == ref.shape
    assert rel_l2(out, ref) < 1e-5


def test_dart_is_reproducible_for_a_chunking(phantom):
    stack, _ = phantom
    kw = {"iterations": 3, "gray_levels": [0, 0.5, 1], "dart_iterations": 3}
    a = stack.reconstruct("DART", chunk_size=4, ncores=2, show_progressbar=False, **kw)
    b = stack.reconstruct("DART", chunk_size=4, ncores=1, show_progressbar=False, **kw)
    np.testing.assert_allclose(a.data, b.data, atol=1e-5)


def test_cancel_from_another_thread(phantom):
    stack, _ = phantom
    cancel = threading.Event()
    calls = []

    def press_cancel(alg):
        calls.append(alg.iteration)
        cancel.set()

    before = stack.data.copy()
    with pytest.raises(ReconstructionCancelled):
        stack.reconstruct("SIRT", iterations=500, chunk_size=2, ncores=2, cancel=cancel,
                          callbacks=[press_cancel], show_progressbar=False)
    assert 0 < len(calls) < 20  # stopped after the first iterations, not 5 × 500
    np.testing.assert_array_equal(stack.data, before)


@pytest.mark.slow
def test_local_cluster_two_processes_equal_serial(phantom):
    distributed = pytest.importorskip("distributed")
    stack, _ = phantom
    ref = serial(stack, "SIRT", iterations=10, constrain=True)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rec = stack.reconstruct("SIRT", iterations=10, constrain=True, client=client,
                                chunk_size=3, show_progressbar=False)
        auto = stack.reconstruct("FBP", client="auto", chunk_size=4, show_progressbar=False)
    assert rel_l2(rec.data, ref) < 1e-5
    assert rel_l2(auto.data, serial(stack, "FBP")) < 1e-5


def test_interrupt_leaves_nothing_half_written(phantom):
    """Ctrl-C (a KeyboardInterrupt from any chunk) stops the others and returns no volume."""
    stack, _ = phantom
    before = stack.data.copy()
    history = list(stack.history)
    seen = []

    def interrupt(alg):
        seen.append(alg.iteration)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stack.reconstruct("SIRT", iterations=300, chunk_size=2, ncores=2,
                          callbacks=[interrupt], show_progressbar=False)
    assert len(seen) < 30
    np.testing.assert_array_equal(stack.data, before)
    assert stack.history == history


def test_default_chunks_keep_each_method_within_its_working_memory(monkeypatch):
    """The default chunk is sized by the method's working memory per pixel
    (``CHUNK_WORK_BYTES``: measured, TV 4× SIRT's), so the running chunks hold about
    ``ncores × CHUNK_BYTES`` beyond the output, whatever the method. Measured with
    tracemalloc (NumPy reports its allocations to it) on a budget of 1 MiB a chunk:
    sized at 8 bytes a pixel for every method, as before, TV's two running chunks took
    5.5 MiB."""
    import tracemalloc

    from etspy_widgets.engine.project import get_projector
    from etspy_widgets.engine.recon import stack as stack_mod

    budget = 2**20
    monkeypatch.setattr(stack_mod, "CHUNK_BYTES", budget)
    stack, _ = phantom_stack(nx=48, n=64)
    data = np.ascontiguousarray(stack.data)
    for method, its in (("TV", 4), ("CGLS", 4), ("SIRT", 4)):
        chunks = _chunks(48, None, 2, 64 * 64, stack_mod.ITERATIVE_CHUNK,
                         bytes_per_pixel=stack_mod.chunk_bytes_per_pixel(method))
        assert max(b - a for a, b in chunks) * 64 * 64 * \
            stack_mod.chunk_bytes_per_pixel(method) <= budget
        get_projector(TILTS, 64, 64, "auto").sums()  # the geometry's own, not the chunks'
        reconstruct_stack(data[:, :, :4], TILTS, method, 1, ncores=2, client=None,
                          show_progressbar=False)  # warm: kernels, caches
        tracemalloc.start()
        try:
            out = reconstruct_stack(data, TILTS, method, its, ncores=2, client=None,
                                    show_progressbar=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        extra = peak - out.nbytes - data.nbytes  # beyond the output (and an input copy)
        assert extra <= 2 * budget * 1.25, (method, extra / 2**20)
        ref = reconstruct_slices(data, TILTS, method, its)
        assert rel_l2(out, ref) < 1e-4, method


def test_fewer_bigger_chunks_at_once_when_one_slice_is_over_the_budget():
    """A one-slice DART chunk of 4096² holds 0.63 GiB: two of them at once would exceed
    the two cores' 1 GiB, so one runs at a time (on both threads); TV (0.5 GiB) and SIRT
    keep two."""
    from etspy_widgets.engine.recon.stack import CHUNK_BYTES, running_chunks

    assert CHUNK_BYTES == 512 * 2**20
    assert running_chunks(2, 4096 * 4096, "DART") == 1
    assert running_chunks(2, 4096 * 4096, "TV") == 2
    assert running_chunks(2, 4096 * 4096, "SIRT") == 2
    assert running_chunks(2, 8192 * 8192, "TV") == 1
    assert running_chunks(16, 4096 * 4096, "DART") == 12  # 12 × 0.63 ≤ 16 × 0.5 GiB
