"""The bundled reference cluster: the default target of the tier7 harness.

The harness never imports this package; it starts nodes with ``python -m testbed``.
"""
