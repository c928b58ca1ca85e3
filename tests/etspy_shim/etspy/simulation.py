"""``etspy.simulation`` is ``etspy_widgets.etspy.simulation`` (names only)."""

from etspy import alias

alias("simulation")
