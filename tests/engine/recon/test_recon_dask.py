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
