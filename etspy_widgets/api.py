"""ETSpy's namespace on etspy-widgets: ``import etspy_widgets.api as etspy``.

Code written against ``import etspy.api as etspy`` keeps working::

    import etspy_widgets.api as etspy

    stack = etspy.load("HAADF.mrc")
    stack = etspy.datasets.get_catalyst_data(misalign=True)
    reg = stack.stack_register("PC")
    rec = reg.reconstruct("SIRT", iterations=50)

``etspy_path`` is this package's folder (ETSpy's is its own); ETSpy's test data are found
with ``etspy_widgets.engine.datapath.data_folder`` instead.
"""

from __future__ import annotations

from .etspy.api import *  # noqa: F403 -- the same namespace
from .etspy.api import __all__, etspy_path  # noqa: F401
