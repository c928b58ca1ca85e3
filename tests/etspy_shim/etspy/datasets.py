"""``etspy.datasets`` is ``etspy_widgets.etspy.datasets`` (names only)."""

from etspy import alias

alias("datasets")
