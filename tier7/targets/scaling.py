"""The ``scale`` capability (issue 11; docs/contract.md "Scaling (v3)"): a driver that can add a Raft group of
new nodes and drain one away. The harness never waits through the driver for a rebalance to finish: it
polls ``GET /v1/rebalance`` itself and checks placement with its own ring (tier7.ring).

A target without the capability makes the scaling criteria NOT APPLICABLE, never PASS.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .base import Capability


@runtime_checkable
class Scaling(Protocol):
    def scale_out(self, n: int = 3) -> str:
        """Start ``n`` new nodes as a new group (one per region), wait for its leader, then ask the cluster
        (``POST /v1/admin/rebalance`` add) to move keys to it; returns the group's name. Does not wait for
        the rebalance to finish."""
        ...

    def scale_in(self, group: str) -> None:
        """Ask the cluster to drain ``group`` (``POST /v1/admin/rebalance`` remove); does not wait."""
        ...

    def finish_scale_in(self, group: str, timeout: float) -> None:
        """Wait (``timeout`` seconds) until the drain of ``group`` finished, then stop its nodes cleanly and
        forget them (``nodes()`` no longer lists them)."""
        ...


def scaling_of(target: Any) -> Scaling | None:
    """The target as a ``Scaling`` driver when it declares the ``scale`` capability and implements it, else
    None (the caller reports NOT APPLICABLE)."""
    if Capability.SCALE not in getattr(target, "capabilities", frozenset()):
        return None
    return target if isinstance(target, Scaling) else None
