"""``etspy.visualize`` is ``etspy_widgets.etspy.visualize`` (names only)."""

from etspy import alias

alias("visualize")
