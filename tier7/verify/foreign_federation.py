"""The federation phase on a foreign target that federates on the client side (etcd: several independent
clusters, each key sent to the cluster the harness's ring names; tier7/targets/etcd_kv.py).

N keys (plan: ``federation_writes``) are written through the driver's recording client, each write recorded
with the cluster that acknowledged it (the one the harness sent it to and heard from); then every member's
own store is scanned (a serializable, member-local range over the phase's key prefix) for where each key
landed, polled until every key is on all members of one group or can no longer get there.
Facts: facts/federation.json in the testbed phase's shape (tenant, requested, acked, replicas), judged by
analysis/criteria/federation.py with the ring of target/ring.json, never with the router's answer.
"""

from __future__ import annotations

import threading
from typing import Any

from ..ring import HarnessRing
from . import lanes
from .context import RunContext
from .placement_wait import wait_for_placement

MAX_ATTEMPTS = 3            # per key, for writes that certainly did not apply (fail)
POLL_S = 0.2                # between two scans of every member's store (seconds)
LANES = 8                   # client threads writing


def run(ctx: RunContext, ring: HarnessRing | None = None) -> None:
    """``ring``: the clients' routing ring (default the target's own; tests pass a wrong one)."""
    count = int(ctx.sizes["federation_writes"])
    tenant = ctx.target.name
    prefix = f"fed{ctx.seed}-"
    keys = [f"{prefix}{i}" for i in range(count)]
    acked: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def write(client: Any, key: str) -> None:
        for attempt in range(MAX_ATTEMPTS):
            kind = client.put(key, f"{key}-v{attempt}")
            if kind == "ok":
                with lock:
                    acked[key] = {"entry": client.backend.node, "group": client.backend.group,
                                  "node": client.backend.node}
            if kind != "fail":
                break

    ctx.progress.set_phase(f"federation: {count} writes routed by the harness's ring")
    lanes.drain(keys, LANES, lambda i: ctx.target.kv_client(ctx.history, f"fed-{i}", i, ring=ring), write,
                join_timeout_s=300)
    ctx.progress.set_phase("federation: where each key landed (every member's own store)")
    replicas = replica_view(ctx, prefix, sorted(acked))
    ctx.record("federation", {"tenant": tenant, "requested": count, "acked": acked, "replicas": replicas,
                              "routing": "client-side (the harness's ring)", "prefix": prefix})


def replica_view(ctx: RunContext, prefix: str, keys: list[str]) -> dict[str, list[str]]:
    """Key -> members whose own store holds it, polled until each key is on every member of one group
    (replication done, whichever group that is: the judge, not this phase, compares it with the ring) or can
    no longer get there (tier7/verify/placement_wait.py): a key held by members of two groups is settled at
    once, a key no member holds after a short grace."""
    groups = [set(members) for members in ctx.target.groups().values()]

    def look(pending: list[str]) -> dict[str, list[str]]:
        wanted = set(pending)
        holders: dict[str, list[str]] = {k: [] for k in pending}
        for member, found in ctx.target.holders(prefix).items():
            for key in found or []:
                if key in wanted:
                    holders[key].append(member)
        return holders

    def still_coming(key: str, holders: list[str]) -> bool:
        return any(set(holders) < members for members in groups)

    return wait_for_placement(look, keys, still_coming, poll_s=POLL_S)
