"""ETSpy's ``etspy.projmatch``: ``ProjMatch``, projection matching of one sinogram.

Behind ETSpy's class is this project's projection matching
(``etspy_widgets.engine.align._pm.projection_matching``, the ``"PM"`` method of
``stack_register``): the projections are registered to re-projections of their own SIRT
reconstruction, coarse to fine. ``ProjMatch`` aligns across the tilt axis (y) using one
column (``nslice``) of the series, as ETSpy's does; for a whole series use
``stack.stack_register("PM")``, which also refines the shifts along the axis.
"""

from __future__ import annotations

import numpy as np

from ..engine.align import _pm
from ..engine.errors import InvalidDataError

# the sinogram is repeated over this many columns so that every binning level of the
# coarse-to-fine search keeps a few; the volume is then constant along x and the
# registration along x finds nothing to do
_WIDTH_PER_LEVEL = 4


class ProjMatch:
    """Projection matching of the sinogram at column ``nslice`` (default the middle one).

    ``params`` are ETSpy's: ``levels`` (binning factors, coarse to fine, default
    ``[4, 2, 1]``), ``iterations`` (most rounds per level, default 6), ``recon_iterations``
    (SIRT iterations of a round, default 15); ETSpy's ``relax``, ``minstep`` and
    ``recon_algorithm`` tuned its own loop and are not needed. ``cuda`` is accepted and
    ignored (the CPU projectors run).
    """

    def __init__(self, stack, nslice: int | None = None, cuda: bool = False,
                 params: dict | None = None):
        self.stack = stack
        data = np.asarray(stack.data, dtype=np.float64)
        if data.ndim != 3:
            raise InvalidDataError(f"ProjMatch needs a tilt series (n, ny, nx); got shape "
                                   f"{data.shape}.")
        nslice = data.shape[2] // 2 if nslice is None else int(nslice)
        self.sino = data[:, :, nslice]
        self.tilts = np.asarray(stack.tilt_values, dtype=np.float64).reshape(-1)
        self.thetas = np.deg2rad(self.tilts)
        self.nangles, self.ny = self.sino.shape
        self.nx = None
        self.cuda = cuda
        params = dict(params or {})
        self.levels = [int(v) for v in params.get("levels", (4, 2, 1))]
        self.iterations = int(params.get("iterations", 6))
        self.recon_iterations = int(params.get("recon_iterations", 15))
        self.params = params
        self.total_shifts = np.zeros(self.nangles)
        self.history: list = []

    def calculate_shifts(self, show_progressbar: bool = False) -> np.ndarray:
        """The shift across the axis to apply to each projection, ``(n,)``; also
        ``self.total_shifts``."""
        width = _WIDTH_PER_LEVEL * max(self.levels)
        slab = np.repeat(self.sino[:, :, np.newaxis], width, axis=2).astype(np.float32)
        result = _pm.projection_matching(slab, self.tilts, initial=None, levels=self.levels,
                                         iterations=self.iterations,
                                         sirt_iterations=self.recon_iterations,
                                         max_size=max(320, self.ny))
        self.total_shifts = np.asarray(result["shifts"])[:, 0]
        self.history = result.get("history", [])
        return self.total_shifts

    def apply_shifts(self):
        """The stack with ``total_shifts`` applied across the axis (added to its shifts)."""
        shifts = np.zeros((self.nangles, 2))
        shifts[:, 0] = self.total_shifts
        return self.stack.apply_shifts(shifts)


__all__ = ["ProjMatch"]
