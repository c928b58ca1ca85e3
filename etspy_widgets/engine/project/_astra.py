"""Every call into ASTRA Toolbox: its projectors (CPU reference, CUDA) and system matrices.

Geometry from [`ParallelGeometry.to_astra`][etspy_widgets.engine.geometry.ParallelGeometry.to_astra]
(ETSpy's: ``create_proj_geom("parallel", 1.0, n_det, deg2rad(tilts))``,
``create_vol_geom((thickness, n_det))``). ASTRA's object managers are not thread-safe:
every call holds ``ASTRA_LOCK``.
"""

from __future__ import annotations

import threading

import astra
import numpy as np

from ._base import Projector

ASTRA_LOCK = threading.RLock()


def cuda_available() -> bool:
    """True when ASTRA was built with CUDA and sees a GPU."""
    try:
        return bool(astra.use_cuda())
    except Exception:  # pragma: no cover - depends on the ASTRA build
        return False


def astra_matrix(geometry, kernel):
    """ASTRA's own system matrix of ``kernel`` as float32 CSR arrays
    ``(indptr, indices, data, n_rows)`` (slow for big slices: ``astra.matrix.get`` copies
    element by element in Python)."""
    with ASTRA_LOCK:
        proj_geom, vol_geom = geometry.to_astra()
        pid = astra.create_projector(kernel, proj_geom, vol_geom)
        try:
            mid = astra.projector.matrix(pid)
            try:
                w = astra.matrix.get(mid)
            finally:
                astra.matrix.delete(mid)
        finally:
            astra.projector.delete(pid)
    w = w.tocsr()
    w.sort_indices()
    return (w.indptr.astype(np.int64), w.indices.astype(np.int32),
            w.data.astype(np.float32), w.shape[0])


class AstraProjector(Projector):
    """ASTRA's own 2D projectors, one slice at a time (CPU reference, or CUDA)."""

    backend = "astra"

    def __init__(self, geometry, n_det=None, thickness=None, kernel="strip", cuda=False):
        super().__init__(geometry, n_det, thickness, kernel)
        self.cuda = bool(cuda)
        if self.cuda:
            self.backend = "astra-cuda"
        self._ops = {}

    def _op(self, a=None, rebuild=False):
        key = a
        with ASTRA_LOCK:
            if rebuild:
                self._ops.pop(key, None)
            if key not in self._ops:
                geom = self.geometry if a is None else self.geometry.subset(slice(a, a + 1))
                proj_geom, vol_geom = geom.to_astra()
                kind = "cuda" if self.cuda else self.kernel
                pid = astra.create_projector(kind, proj_geom, vol_geom)
                self._ops[key] = (pid, astra.OpTomo(pid))
            return self._ops[key][1]

    def _apply(self, a, x, n_out, transpose):
        x = np.asarray(x, dtype=np.float32)
        out = np.empty((n_out, x.shape[1]), dtype=np.float32)
        with ASTRA_LOCK:
            op = self._op(a)
            for s in range(x.shape[1]):
                try:
                    res = op.BP(x[:, s]) if transpose else op.FP(x[:, s])
                except Exception:  # astra.clear() elsewhere freed our projector: rebuild
                    op = self._op(a, rebuild=True)
                    res = op.BP(x[:, s]) if transpose else op.FP(x[:, s])
                out[:, s] = np.asarray(res).ravel()
        return out

    def fp_cols(self, x):
        return self._apply(None, x, self.n_rays, False)

    def bp_cols(self, y):
        return self._apply(None, y, self.n_pix, True)

    def fp_angle_cols(self, a, x):
        return self._apply(a, x, self.n_det, False)

    def bp_angle_cols(self, a, y):
        return self._apply(a, y, self.n_pix, True)

    def __del__(self):  # free ASTRA's objects with the projector
        try:
            with ASTRA_LOCK:
                for pid, _ in self._ops.values():
                    astra.projector.delete(pid)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
