"""``etspy.io`` is ``etspy_widgets.etspy.io`` (names only)."""

from etspy import alias

alias("io")
