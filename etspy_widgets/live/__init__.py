"""Live tomography: follow a folder while the microscope tilts, align and reconstruct as the
projections arrive.

>>> import etspy_widgets as etw                                              # doctest: +SKIP
>>> w = etw.watch("/data/session1", pattern="*.mrc", tilts="mdoc", settle=0)  # doctest: +SKIP
>>> w.wait_for(10, timeout=120); w.live.slice_images.shape                  # doctest: +SKIP

* ``watch`` / ``Watcher``: the growing ``TomoStack`` (``.stack``), ``wait_for``,
  ``stop``, a callback per projection, the offline script of the files used (``.code``);
* ``LiveReconstructor``: pairwise registration to the neighbour in tilt and running
  FBP sums (or warm-started SIRT, ``method="SIRT"``) of three slices and a binned volume;
* ``LiveQuality``: the live quality strip (``stack.quality()``'s measures and flags,
  computed as the projections arrive);
* ``Acquisition`` / ``simulate_acquisition``: write a series into a folder as SerialEM
  does (temporary name, rename, growing ``.mdoc``).
"""

from ._quality import LiveQuality
from ._recon import LiveFrame, LiveReconstructor
from ._simulator import (
    FAULT_REASONS,
    FAULTS,
    SCHEMES,
    Acquisition,
    Written,
    acquisition_order,
    fault_image,
    load_dataset,
    simulate_acquisition,
)
from ._tilts import NAME_TILT, name_tilt
from ._watcher import ProjectionEvent, Watcher, WatchTimeout, load_registered, watch

__all__ = [
    "FAULTS", "FAULT_REASONS", "NAME_TILT", "SCHEMES", "Acquisition", "LiveFrame",
    "LiveQuality", "LiveReconstructor", "ProjectionEvent", "WatchTimeout", "Watcher",
    "Written", "acquisition_order", "fault_image", "load_dataset", "load_registered",
    "name_tilt", "simulate_acquisition", "watch",
]
