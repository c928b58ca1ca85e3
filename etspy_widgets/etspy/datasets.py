"""ETSpy's ``etspy.datasets``: the needle (ETSpy's published data) and the simulated catalyst.

``fetch_test_data()`` downloads the data (``etspy-widgets data fetch``).
"""

from __future__ import annotations

from ..datasets import fetch_test_data, get_catalyst_data, get_needle_data

__all__ = ["fetch_test_data", "get_catalyst_data", "get_needle_data"]
