"""ETSpy 1.3.0's modules on etspy-widgets: ``etspy.X`` is ``etspy_widgets.etspy.X``.

Code written against ETSpy changes its imports only::

    from etspy.align import align_to_other        # ETSpy
    from etspy_widgets.etspy.align import align_to_other

This layer (sources and compatibility) sits above the signals: it may import the engine,
never the widgets.
"""
