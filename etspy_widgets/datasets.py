"""Example tilt series, under ETSpy's names: a simulated catalyst and the experimental needle.

>>> import etspy_widgets as etw
>>> stack = etw.datasets.get_catalyst_data(misalign=True)                  # doctest: +SKIP
>>> truth = etw.datasets.get_catalyst_data(misalign=True, return_truth=True)  # doctest: +SKIP
>>> truth.shifts[:2]            # the (dy, dx) shifts applied, exactly      # doctest: +SKIP
"""

from __future__ import annotations

from .etspy.datasets import fetch_test_data, get_catalyst_data, get_needle_data

__all__ = ["fetch_test_data", "get_catalyst_data", "get_needle_data"]
