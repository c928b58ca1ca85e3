"""``etspy.utils`` is ``etspy_widgets.etspy.utils`` (names only)."""

from etspy import alias

alias("utils")
