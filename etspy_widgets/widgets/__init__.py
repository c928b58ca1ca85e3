"""Interactive widgets (anywidget, ipympl, ipyvolume): state in traitlets, numerics in the engine."""
