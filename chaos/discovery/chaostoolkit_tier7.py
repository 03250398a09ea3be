"""Chaos Toolkit discovery for tier7's extension: ``chaos discover --no-install chaostoolkit-tier7``.

Experiments name the real modules (``chaos.actions``, ``chaos.probes``, ``chaos.controls``); this module
only hands ``chaos discover`` the extension's ``discover()``.
"""

from chaos import __version__, discover

__all__ = ["__version__", "discover"]
