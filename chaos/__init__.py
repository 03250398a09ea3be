"""tier7's Chaos Toolkit extension: actions, probes and the history control, plus the fault proxy.

Activities act through the harness's target driver (``tier7.targets``); the target comes from the
experiment's configuration (``tier7_testbed_dir``, ``TIER7_TESTBED_DIR``). ``discover()`` lets
``chaos discover chaostoolkit-tier7`` list them. Nothing here imports chaoslib at import time (a process
that runs Locust must import locust first, see docs), only inside ``discover`` and the activities.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit discovery: every exported action and probe, and (optionally) the target's shape."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("chaostoolkit-tier7", __version__, "tier7")
    discovery["activities"].extend(discover_actions("chaos.actions"))
    discovery["activities"].extend(discover_probes("chaos.probes"))
    if discover_system:
        from .target import describe_system

        discovery["system"] = describe_system()
    return discovery
