"""Block-by-block (lazy) reconstruction: same volume as the eager path, streamed to zspy."""

from __future__ import annotations

import hyperspy.api as hs
import numpy as np
import pytest

import etspy_widgets as etw
from etspy_widgets.engine.signals import LazyRecStack, LazyTomoStack


def reconstruct_lazy(stack, method, **kwargs):
    """The lazy path of ``reconstruct``: a LazyTomoStack reconstructs block by block."""
    lazy = stack if getattr(stack, "_lazy", False) else stack.as_lazy()
    assert isinstance(lazy, LazyTomoStack)
    return lazy.reconstruct(method, show_progressbar=False, **kwargs)


@pytest.fixture(scope="module")
def small_stack():
    stack = etw.datasets.get_catalyst_data(size=96, n_particles=10)
    return stack.isig[:, :]  # 90 x 96 x 96


def test_lazy_equals_eager(small_stack):
    eager = small_stack.reconstruct("SIRT", iterations=5, show_progressbar=False)
    lazy = reconstruct_lazy(small_stack, "SIRT", iterations=5, chunk_size=20)
    assert isinstance(lazy, LazyRecStack)
    assert lazy.data.numblocks[0] == 5  # 96 columns in blocks of 20
    np.testing.assert_allclose(np.asarray(lazy.data), eager.data, rtol=1e-5, atol=1e-5)
    assert lazy.axes_manager.signal_axes[1].name == "z"


def test_lazy_input_to_zspy_output(small_stack, tmp_path):
    src = small_stack.save(tmp_path / "series.zspy")
    lazy_stack = hs.load(src, lazy=True)
    assert isinstance(lazy_stack, LazyTomoStack)
    rec = reconstruct_lazy(lazy_stack, "FBP", chunk_size=32)
    out = rec.save(tmp_path / "vol.zspy", chunks=(32, 96, 96))
    back = hs.load(out)
    assert isinstance(back, etw.RecStack)
    expected = small_stack.reconstruct("FBP", show_progressbar=False)
    np.testing.assert_allclose(back.data, expected.data, rtol=1e-5, atol=1e-5)


def test_bad_chunk_size(small_stack):
    with pytest.raises(ValueError, match="chunk_size"):
        reconstruct_lazy(small_stack, "FBP", chunk_size=0)
    with pytest.raises(etw.UnknownMethodError):
        reconstruct_lazy(small_stack, "MAGIC")


@pytest.mark.slow
def test_lazy_on_two_process_cluster(small_stack):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = reconstruct_lazy(small_stack, "SIRT", iterations=3, chunk_size=24)
        result = client.compute(lazy.data).result()
        workers = client.run(lambda: 1)
    assert len(workers) == 2
    eager = small_stack.reconstruct("SIRT", iterations=3, show_progressbar=False, client=None)
    np.testing.assert_allclose(result, eager.data, rtol=1e-5, atol=1e-5)
