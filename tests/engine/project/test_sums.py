"""The strip kernel's SIRT weights in closed form (``_sums.strip_sums``) against the sums of
the strip matrix: ours (exact areas) and ASTRA's own ``strip`` matrix."""

from __future__ import annotations

import numpy as np
import pytest

from etspy_widgets.engine.geometry import ParallelGeometry
from etspy_widgets.engine.project import get_projector
from etspy_widgets.engine.project._astra import astra_matrix
from etspy_widgets.engine.project._sums import strip_sums

GEOMETRIES = [
    (np.linspace(-70, 70, 31), 64, 64),
    (np.array([0.0, 45.0, 90.0, -90.0, 30.5, 179.0]), 33, 20),  # axis-aligned, odd, thin
    (np.linspace(-75, 75, 41), 48, 71),  # thicker than wide: corners off the detector
]


@pytest.mark.parametrize(("tilts", "n_det", "thickness"), GEOMETRIES)
def test_closed_form_sums_equal_the_strip_matrix_sums(tilts, n_det, thickness):
    geometry = ParallelGeometry(tilts, n_det, thickness)
    rows, cols = strip_sums(geometry, threads=2)
    indptr, indices, data, _ = astra_matrix(geometry, "strip")
    a_rows = np.add.reduceat(data.astype(np.float64), indptr[:-1]) * (np.diff(indptr) > 0)
    a_cols = np.bincount(indices, weights=data, minlength=geometry.n_pix)
    s_rows, s_cols = get_projector(tilts, n_det, thickness, "sparse").sums()
    for ours, ref, tol in ((rows, s_rows, 2e-6), (cols, s_cols, 2e-6),
                           (rows, a_rows, 1e-4), (cols, a_cols, 1e-4)):
        assert ours.shape == ref.shape
        assert np.abs(ours - ref).max() <= tol * np.abs(ref).max()
    # pixels that every projection sees whole weigh exactly the number of projections
    assert np.isclose(cols.max(), len(tilts))
    assert cols.min() < len(tilts) or thickness <= n_det


def test_matrix_free_sums_are_the_closed_form():
    tilts, n_det, thickness = GEOMETRIES[2]
    free = get_projector(tilts, n_det, thickness, "matrix-free")
    rows, cols = free.sums()
    s_rows, s_cols = get_projector(tilts, n_det, thickness, "sparse").sums()
    assert np.abs(rows - s_rows).max() <= 2e-6 * s_rows.max()
    assert np.abs(cols - s_cols).max() <= 2e-6 * s_cols.max()
