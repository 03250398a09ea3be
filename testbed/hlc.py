"""A hybrid logical clock (Kulkarni et al., 2014) for the LWW register's timestamps.

A timestamp is ``(physical_ms, logical, node)``; LWW order is lexicographic on that triple, so two writes
in the same millisecond are ordered by the logical counter and, last, by node name. The clock never runs
behind a timestamp it has received (``observe``), so a write that causally follows another (it saw it
through anti-entropy) always carries a greater timestamp.

TEST ONLY (``crdt_clock_ignores_causality``): ``skew_ms`` sets the node's physical clock that far behind
and ``ignore_received`` drops the receive rule, so a later write can carry a smaller timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Timestamp = tuple[int, int, str]


def wall_ms() -> int:
    """The machine's wall clock, whole milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class HybridClock:
    def __init__(self, node: str, now_ms: Callable[[], int] = wall_ms, skew_ms: int = 0,
                 ignore_received: bool = False) -> None:
        self.node = node
        self._now = now_ms
        self.skew_ms = skew_ms
        self.ignore_received = ignore_received
        self.l = 0  # ms: the greatest physical time seen
        self.c = 0  # logical counter within ``l``

    def physical(self) -> int:
        """This node's physical clock, ms (the machine's, minus the TEST-ONLY skew)."""
        return self._now() - self.skew_ms

    def tick(self) -> Timestamp:
        """A timestamp for a local write (HLC send/local-event rule)."""
        pt = self.physical()
        if pt > self.l:
            self.l, self.c = pt, 0
        else:
            self.c += 1
        return (self.l, self.c, self.node)

    def observe(self, ts: Timestamp) -> None:
        """HLC receive rule: move past a timestamp received from another replica."""
        if self.ignore_received:
            return
        ml, mc = int(ts[0]), int(ts[1])
        pt = self.physical()
        new_l = max(self.l, ml, pt)
        if new_l == self.l == ml:
            self.c = max(self.c, mc) + 1
        elif new_l == self.l:
            self.c += 1
        elif new_l == ml:
            self.c = mc + 1
        else:
            self.c = 0
        self.l = new_l

    def ms_until_past(self, ts: Timestamp) -> float:
        """Milliseconds to wait until this node's physical clock is past ``ts``'s millisecond (commit wait:
        a write invoked after the acknowledgement then gets a strictly greater timestamp on any node)."""
        return max(0.0, float(int(ts[0]) + 1 - self.physical()))
