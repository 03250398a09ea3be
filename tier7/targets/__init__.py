"""Target drivers: how the harness reaches a cluster and operates it (kill, pause, restart, logs...)."""

from .base import Capability, NodeInfo, NotApplicable, Target

__all__ = ["Capability", "NodeInfo", "NotApplicable", "Target"]
