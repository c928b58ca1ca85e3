"""``etspy.transform`` is ``etspy_widgets.etspy.transform`` (names only)."""

from etspy import alias

alias("transform")
