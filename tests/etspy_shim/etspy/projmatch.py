"""``etspy.projmatch`` is ``etspy_widgets.etspy.projmatch`` (names only)."""

from etspy import alias

alias("projmatch")
