"""The replicated state machine of one Raft group: a tenant-scoped strong KV.

Each mutation is a pysyncobj ``@replicated`` command, applied in log order on every member, so all
members hold the same data. ``revision`` counts applied mutations (like etcd's revision); a key's
``version`` is the revision of its last write.
"""

from __future__ import annotations

from typing import Any

from pysyncobj import SyncObjConsumer, replicated

from .ring import point

SYSTEM_TENANT = "_system"


def selected(label: str, fraction: float) -> bool:
    """Deterministic choice of about ``fraction`` of labels (the same on every node)."""
    return fraction > 0 and (point("fault:" + label) % 100_000) < fraction * 100_000


class KVState(SyncObjConsumer):
    def __init__(self, lose_write_fraction: float = 0.0) -> None:
        # TEST ONLY (test_faults.lose_write_fraction): acknowledge some puts without storing them.
        # Set before SyncObjConsumer.__init__ so it is configuration, not replicated state.
        self.lose_write_fraction = float(lose_write_fraction)
        super().__init__()
        # Attributes set after SyncObjConsumer.__init__ are the replicated, snapshotted state.
        self.data: dict[str, dict[str, list[Any]]] = {}
        self.revision = 0

    # -- replicated commands (deterministic: they run on every member in log order) --

    @replicated
    def put(self, tenant: str, key: str, value: str) -> dict[str, Any]:
        self.revision += 1
        space = self.data.setdefault(tenant, {})
        previous = space.get(key)
        if not selected(f"{tenant}/{key}/{value}", self.lose_write_fraction):
            space[key] = [value, self.revision]
        return {"version": self.revision, "previous": previous[0] if previous else None}

    @replicated
    def cas(self, tenant: str, key: str, expected: str | None, value: str) -> dict[str, Any]:
        space = self.data.setdefault(tenant, {})
        current = space.get(key)
        current_value = current[0] if current else None
        if current_value != expected:
            return {"swapped": False, "current": current_value, "version": current[1] if current else None}
        self.revision += 1
        space[key] = [value, self.revision]
        return {"swapped": True, "current": value, "version": self.revision}

    @replicated
    def delete(self, tenant: str, key: str) -> dict[str, Any]:
        space = self.data.get(tenant, {})
        existed = space.pop(key, None) is not None
        if existed:
            self.revision += 1
        return {"deleted": existed, "version": self.revision}

    @replicated
    def read(self, tenant: str, key: str) -> dict[str, Any] | None:
        """A read through the log: linearizable because it is ordered with every write."""
        entry = self.data.get(tenant, {}).get(key)
        return {"value": entry[0], "version": entry[1]} if entry else None

    @replicated
    def create_if_absent(self, tenant: str, key: str, value: str) -> dict[str, Any]:
        space = self.data.setdefault(tenant, {})
        if key in space:
            return {"created": False, "value": space[key][0]}
        self.revision += 1
        space[key] = [value, self.revision]
        return {"created": True, "value": value}

    # -- local reads (this member's replica; may be stale) --

    def local_get(self, tenant: str, key: str) -> dict[str, Any] | None:
        entry = self.data.get(tenant, {}).get(key)
        return {"value": entry[0], "version": entry[1]} if entry else None

    def key_count(self) -> int:
        """Keys in this replica. Called from the HTTP thread while pysyncobj's thread applies commands:
        ``list(...values())`` copies in one C call (no bytecode runs, so the GIL is not released inside it),
        and ``len`` of each tenant's dict is atomic, so a concurrent apply that adds a tenant cannot raise
        "dictionary changed size during iteration" here (issue 17); the count may be one apply stale."""
        return sum(len(space) for space in list(self.data.values()))
