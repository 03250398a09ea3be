"""Federation: consistent hash routes keys to correct Raft group (100% accuracy over 1000 writes).

Facts (facts/federation.json): the phase's tenant, the writes requested, each acknowledged write's entry
node, serving group and node, and which nodes' own replicas held each key. Judged with the harness's own
ring (target/ring.json, never the router's answer): (1) the group that acknowledged each write is the ring's
owner; (2) every member of the owner group holds the key and no member of any other group does.
Accuracy = keys right on both counts / keys requested; PASS needs [federation] min_accuracy (100%).
"""

from __future__ import annotations

from typing import Any

from tier7.ring import HarnessRing

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome, result


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["federation"]
    recorded = facts.get("federation")
    min_accuracy = float(facts.plan["federation"]["min_accuracy"])
    threshold = f"{min_accuracy:.0%} of {facts.sizes['federation_writes']} writes in the ring's group"
    if early := phase_outcome(criterion, recorded, "federation", threshold):
        return early
    if facts.ring is None or not facts.group_of:
        return result(criterion, Status.UNKNOWN, "the run folder has no target/ring.json or target/nodes.json",
                      threshold)
    ring = HarnessRing.from_contract(facts.ring)
    tenant, acked, replicas = recorded["tenant"], recorded["acked"], recorded["replicas"]
    group_of = facts.group_of
    wrong: list[dict[str, Any]] = []
    for key, info in sorted(acked.items()):
        owner = ring.group_for(tenant, key)
        holders = replicas.get(key, [])
        owner_members = sorted(n for n, g in group_of.items() if g == owner)
        if info["group"] != owner or sorted(holders) != owner_members:
            wrong.append({"key": key, "ring_group": owner, "acked_by_group": info["group"],
                          "acked_by_node": info["node"], "held_by": holders})
    requested = int(recorded["requested"])
    right = len(acked) - len(wrong)
    accuracy = right / requested if requested else 0.0
    doc = {"tenant": tenant, "requested": requested, "acknowledged": len(acked), "misplaced": wrong,
           "ring": facts.ring}
    measured = f"{right}/{requested} writes routed and stored in the ring's group ({accuracy:.2%})"
    figures = {"writes": requested, "acknowledged": len(acked), "misplaced": len(wrong), "accuracy": accuracy}
    if wrong:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(wrong)} key(s) not in the group the ring computes",
                          wrong, figures)
    elif requested < int(facts.sizes["federation_writes"]):
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"only {requested} writes of the plan's "
                          f"{facts.sizes['federation_writes']} were made", figures=figures)
    elif accuracy < min_accuracy:
        verdict = Verdict(criterion.id, Status.UNKNOWN,
                          f"only {len(acked)} of {requested} writes were acknowledged", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/federation.json")
    out.evidence_doc = doc
    return out
