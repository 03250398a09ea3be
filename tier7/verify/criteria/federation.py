"""Federation: consistent hash routes keys to correct Raft group (100% accuracy over 1000 writes).

Run: a tenant of its own writes N keys (plan: 1000) through randomly chosen nodes, each write recorded.
Judge, with the harness's own ring (from the published parameters, never the router's answer):
(1) the group that acknowledged each write is the ring's owner; (2) every member of the owner group
holds the key in its local replica and no member of any other group does. Accuracy = keys right on both
counts / keys written; PASS needs 100% of the plan's count acknowledged and placed right.
"""

from __future__ import annotations

import time
from typing import Any

from analysis.verdict import Status, Verdict

from ...plan import CRITERIA_BY_ID
from ...replicas import ReplicaProbe
from ...ring import HarnessRing
from ...runfolder import write_json
from ..context import RunContext
from ..results import CriterionResult, phase_outcome

MAX_ATTEMPTS = 3          # per key, for writes that certainly did not apply (fail)
REPLICATION_WAIT_S = 30.0  # followers apply committed entries a moment later


def run(ctx: RunContext) -> None:
    count = int(ctx.sizes["federation_writes"])
    tenant = f"fed{ctx.seed}"
    admin = ctx.client(ctx.nodes()[0], ctx.target.admin_token(), "verify-fed-admin")
    created = admin.create_tenant(tenant)
    admin.close()
    if not created.ok:
        ctx.facts["federation"] = {"error": f"cannot create tenant: {created.error}"}
        return
    token = created.body["token"]
    ctx.tokens[tenant] = token
    nodes = ctx.nodes()
    plan = [(f"fed-{i}", ctx.rng.choice(nodes)) for i in range(count)]
    acked: dict[str, dict[str, Any]] = {}

    def write(item: tuple[str, Any]) -> None:
        key, node = item
        client = ctx.client(node, token, f"verify-fed-{key}")
        try:
            for attempt in range(MAX_ATTEMPTS):
                result = client.put(key, f"{key}-v{attempt}", tenant=tenant)
                if result.ok:
                    acked[key] = {"entry": node.name, "group": result.group, "node": result.node}
                    ctx.written.add((tenant, key))
                    return
                if result.type == "info":
                    ctx.written.add((tenant, key))
                    return
        finally:
            client.close()

    ctx.progress.set_phase(f"federation: {count} writes")
    ctx.each(write, plan)
    ctx.progress.set_phase("federation: replica placement")
    replicas = replica_view(ctx, tenant, token, list(acked))
    ctx.facts["federation"] = {"tenant": tenant, "requested": count, "acked": acked, "replicas": replicas}


def replica_view(ctx: RunContext, tenant: str, token: str, keys: list[str]) -> dict[str, list[str]]:
    """Key -> nodes whose own replica holds it, polled until every key is where the ring says (or timeout)."""
    ring = HarnessRing.from_contract(ctx.facts["ring"])
    group_of = {n.name: n.group for n in ctx.nodes()}
    probe = ReplicaProbe(ctx.nodes(), token)
    deadline = time.monotonic() + REPLICATION_WAIT_S
    holders: dict[str, list[str]] = {}
    pending = list(keys)
    while pending:
        holders.update(probe.holders(pending, tenant))
        pending = [k for k in pending
                   if set(holders[k]) != {n for n, g in group_of.items() if g == ring.group_for(tenant, k)}]
        if not pending or time.monotonic() > deadline:
            break
    return holders


def judge(ctx: RunContext, analysis: object = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["federation"]
    facts = ctx.facts.get("federation")
    threshold = f"100% of {ctx.sizes['federation_writes']} writes in the ring's group"
    if early := phase_outcome(criterion, facts, "federation", threshold):
        return early
    ring = HarnessRing.from_contract(ctx.facts["ring"])
    tenant, acked, replicas = facts["tenant"], facts["acked"], facts["replicas"]
    group_of = {n.name: n.group for n in ctx.nodes()}
    wrong: list[dict[str, Any]] = []
    for key, info in sorted(acked.items()):
        owner = ring.group_for(tenant, key)
        holders = replicas.get(key, [])
        owner_members = sorted(n for n, g in group_of.items() if g == owner)
        if info["group"] != owner or sorted(holders) != owner_members:
            wrong.append({"key": key, "ring_group": owner, "acked_by_group": info["group"],
                          "acked_by_node": info["node"], "held_by": holders})
    requested = facts["requested"]
    right = len(acked) - len(wrong)
    accuracy = right / requested if requested else 0.0
    write_json(ctx.evidence_path("federation.json"), {"tenant": tenant, "requested": requested,
                                                      "acknowledged": len(acked), "misplaced": wrong,
                                                      "ring": ctx.facts["ring"]})
    measured = f"{right}/{requested} writes routed and stored in the ring's group ({accuracy:.2%})"
    figures = {"writes": requested, "acknowledged": len(acked), "misplaced": len(wrong), "accuracy": accuracy}
    if wrong:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(wrong)} key(s) not in the group the ring computes",
                          wrong, figures)
    elif len(acked) < requested:
        verdict = Verdict(criterion.id, Status.UNKNOWN,
                          f"only {len(acked)} of {requested} writes were acknowledged", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    return CriterionResult(criterion, verdict, measured, threshold, "evidence/federation.json")
