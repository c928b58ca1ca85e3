"""``etspy.align`` is ``etspy_widgets.etspy.align`` (names only)."""

from etspy import alias

alias("align")
