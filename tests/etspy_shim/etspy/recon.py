"""``etspy.recon`` is ``etspy_widgets.etspy.recon`` (names only)."""

from etspy import alias

alias("recon")
