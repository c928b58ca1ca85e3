"""``etspy.base`` is ``etspy_widgets.etspy.base`` (names only)."""

from etspy import alias

alias("base")
