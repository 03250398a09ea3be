"""The replicated state machine of one Raft group: a tenant-scoped strong KV.

Each mutation is a pysyncobj ``@replicated`` command, applied in log order on every member, so all
members hold the same data. ``revision`` counts applied mutations (like etcd's revision); a key's
``version`` is the revision of its last write.
"""

from __future__ import annotations

from typing import Any

from pysyncobj import SyncObjConsumer, replicated

from .rebalance_state import RebalanceState
from .ring import point

SYSTEM_TENANT = "_system"
# Results of writes applied under an op id (``once``): kept for the newest OPS_REMEMBERED of them, within
# OPS_REMEMBERED_BYTES. A forwarder retries a write within its retry deadline (3 s), i.e. a few thousand
# writes later at most on this machine; evicting by count and size (both computed from replicated data) keeps
# every member's table identical.
OPS_REMEMBERED = 16_384
OPS_REMEMBERED_BYTES = 16 * 2 ** 20
WRITE_COMMANDS = {"put", "cas", "delete", "create_if_absent"}


def selected(label: str, fraction: float) -> bool:
    """Deterministic choice of about ``fraction`` of labels (the same on every node)."""
    return fraction > 0 and (point("fault:" + label) % 100_000) < fraction * 100_000


class KVState(RebalanceState, SyncObjConsumer):
    # The node process's own group and TEST-ONLY rebalance switch, set by testbed/api.py before the Raft
    # member (which builds this state) starts: one node per process, and class attributes are never
    # replicated or snapshotted.
    node_group = ""
    node_routes_early = False

    def __init__(self, lose_write_fraction: float = 0.0, group: str | None = None,
                 routes_early: bool | None = None) -> None:
        # TEST ONLY (test_faults.lose_write_fraction): acknowledge some puts without storing them.
        # Set before SyncObjConsumer.__init__ so it is configuration, not replicated state.
        self.lose_write_fraction = float(lose_write_fraction)
        self.group = KVState.node_group if group is None else group  # which keys it serves in a rebalance
        # TEST ONLY (rebalance_routes_early), see rebalance_state.py
        self.routes_early = bool(KVState.node_routes_early if routes_early is None else routes_early)
        super().__init__()
        # Attributes set after SyncObjConsumer.__init__ are the replicated, snapshotted state.
        self.data: dict[str, dict[str, list[Any]]] = {}
        self.revision = 0
        self.ring_view: dict[str, Any] | None = None  # rebalancing (rebalance_state.py); None: never rescaled
        self.mig: dict[str, Any] | None = None
        # Contract v5 (testbed/sql*.py): the append-only events of this group, per tenant (rows are tuples in
        # testbed.sql_model.EVENT_COLUMNS order) and the ids seen, so an append is applied at most once per id.
        self.events: dict[str, list[tuple]] = {}
        self.event_ids: dict[str, set[int]] = {}
        # op id -> (result, size) of the writes applied through ``once``, oldest first (dicts keep order)
        self.applied_ops: dict[str, tuple[Any, int]] = {}
        self.applied_ops_bytes = 0

    # -- replicated commands (deterministic: they run on every member in log order) --

    @replicated
    def put(self, tenant: str, key: str, value: str) -> dict[str, Any]:
        if (elsewhere := self.placement(tenant, key)) is not None:
            return elsewhere
        self.revision += 1
        space = self.data.setdefault(tenant, {})
        previous = space.get(key)
        if not selected(f"{tenant}/{key}/{value}", self.lose_write_fraction):
            space[key] = [value, self.revision]
        return {"version": self.revision, "previous": previous[0] if previous else None}

    @replicated
    def cas(self, tenant: str, key: str, expected: str | None, value: str) -> dict[str, Any]:
        if (elsewhere := self.placement(tenant, key)) is not None:
            return elsewhere
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
        if (elsewhere := self.placement(tenant, key)) is not None:
            return elsewhere
        space = self.data.get(tenant, {})
        existed = space.pop(key, None) is not None
        if existed:
            self.revision += 1
        return {"deleted": existed, "version": self.revision}

    @replicated
    def read(self, tenant: str, key: str) -> dict[str, Any] | None:
        """A read through the log: linearizable because it is ordered with every write."""
        if (elsewhere := self.placement(tenant, key)) is not None:
            return elsewhere
        entry = self.data.get(tenant, {}).get(key)
        return {"value": entry[0], "version": entry[1]} if entry else None

    @replicated
    def create_if_absent(self, tenant: str, key: str, value: str) -> dict[str, Any]:
        if (elsewhere := self.placement(tenant, key)) is not None:
            return elsewhere
        space = self.data.setdefault(tenant, {})
        if key in space:
            return {"created": False, "value": space[key][0]}
        self.revision += 1
        space[key] = [value, self.revision]
        return {"created": True, "value": value}

    @replicated
    def once(self, op_id: str, command: str, args: tuple) -> Any:
        """Apply the write ``command(*args)`` at most once per ``op_id``: a write retried after an unknown
        outcome (its answer lost on the way back) returns the first application's result instead of
        applying again (the Raft dissertation's client sessions, section 6.3). A redirect (the key is served
        elsewhere: not applied) is not remembered, so a retry is judged afresh."""
        if command not in WRITE_COMMANDS:
            raise ValueError(f"not a write command: {command}")
        if op_id in self.applied_ops:
            return self.applied_ops[op_id][0]
        result = getattr(self, command)(*args, _doApply=True)
        if isinstance(result, dict) and "route" in result:
            return result
        size = len(op_id) + len(repr(result))
        self.applied_ops[op_id] = (result, size)
        self.applied_ops_bytes += size
        while len(self.applied_ops) > OPS_REMEMBERED or self.applied_ops_bytes > OPS_REMEMBERED_BYTES:
            oldest = next(iter(self.applied_ops))
            self.applied_ops_bytes -= self.applied_ops.pop(oldest)[1]
        return result

    @replicated
    def append_events(self, tenant: str, rows: list[tuple]) -> dict[str, Any]:
        """Append event rows (contract v5); a row whose id this tenant already has is skipped (a retried
        batch never doubles rows). Returns rows stored and duplicates skipped."""
        table = self.events.setdefault(tenant, [])
        ids = self.event_ids.setdefault(tenant, set())
        fresh = []
        for row in rows:
            if row[0] not in ids:
                ids.add(row[0])
                fresh.append(tuple(row))
        table.extend(fresh)
        return {"stored": len(fresh), "duplicates": len(rows) - len(fresh)}

    @replicated
    def barrier(self) -> int:
        """A no-op through the log: once it is applied here, this replica holds every earlier commit
        (the SQL coordinator's per-group read fence)."""
        return self.revision

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

    def local_tables(self, tenant: str) -> tuple[dict[str, list[Any]], list[tuple]]:
        """Copies of a tenant's KV (key -> [value, version]) and events in this replica (C-level copies,
        atomic under the GIL while pysyncobj's thread applies commands)."""
        return dict(self.data.get(tenant, {})), list(self.events.get(tenant, ()))
