"""The shared judgement of one scaling operation (criteria ``scale-out``: add, ``scale-in``: remove) from
facts/scaling.json and the history (analysis.scaling, analysis.metrics.rebalance).

FAIL when: the nodes added (removed) are not [scaling] nodes of one new (the drained) group; the target's
ring after the operation is not the ring the harness computes; the rebalance ended ``failed``, or did not
finish within [scaling] rebalance_max_s of the admin call; a key is missing from, or stale on, a member of
the group the harness's ring names (placement check); the cluster was not healthy afterwards; (remove)
the driver could not stop the drained group, a removed node still answers, or a final read (``final-read``
phase, every key of the run) was served by a group other than the key's owner on the final ring. UNKNOWN: the phase did not
get that far, the placement check judged fewer than [evidence] scaling_min_placement_keys keys or left keys
unread, or fewer than [evidence] scaling_min_ok_during_move load operations were acknowledged during the
operation (not "under load"). NOT APPLICABLE (the target cannot scale) and NOT RUN come from the phase.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..metrics.rebalance import operation_metrics
from ..plan import CRITERIA_BY_ID
from ..scaling import PHASE, check_placement, expected_groups, operation, ring_after
from ..verdict import Status, Verdict, worst
from .result import CriterionResult, phase_outcome, result

FINAL_PROCESS = "verify-final-"  # the final-read phase's recording clients (tier7/verify/final_read.py)
WORDS = {"add": ("scale-out", "added", "+"), "remove": ("scale-in", "removed", "-")}


def node_change(op: dict[str, Any], action: str) -> tuple[list[str], list[str]]:
    """(nodes that changed, problems): the nodes added (add) or removed (remove) by the operation."""
    before = {n["name"]: n["group"] for n in op.get("nodes_before") or []}
    after = {n["name"]: n["group"] for n in op.get("nodes_after") or []}
    group = op.get("group")
    if action == "add":
        changed = sorted(set(after) - set(before))
        wrong = [n for n in changed if after[n] != group]
    else:
        changed = sorted(set(before) - set(after))
        wrong = [n for n in changed if before[n] != group]
        left = [n for n, g in after.items() if g == group]
        if left:
            return changed, [f"nodes of the drained group {group} still listed after it: {', '.join(left)}"]
    return changed, [f"nodes {', '.join(wrong)} are not in group {group}"] if wrong else []


def final_reads_elsewhere(ops: Any, op: dict[str, Any]) -> dict[str, Any] | None:
    """The final-read phase's linearizable reads after the operation (every key of the run, read through any
    node): how many were served (``group`` of the answer) by a group other than the key's owner on the ring
    after the operation; None when there are none."""
    ring = ring_after(op)
    end = op.get("end_time")
    process = ops["process"].astype(object).fillna("").astype(str)
    reads = ops[process.str.startswith(FINAL_PROCESS) & (ops["f"] == "get") & (ops["type"] == "ok")
                & ops["group"].notna()]
    if isinstance(end, int | float):
        reads = reads[reads["invoke_time"] > end]
    if ring is None or reads.empty:
        return None
    pairs = set(zip(reads["tenant"].fillna("").astype(str), reads["key"].astype(str), strict=True))
    owner = {k: ring.group_for(*k) for k in pairs}
    wrong = [(t, k, g) for t, k, g in zip(reads["tenant"].fillna("").astype(str), reads["key"].astype(str),
                                          reads["group"].astype(str), strict=True) if owner[(t, k)] != g]
    return {"reads": int(len(reads)), "wrong": len(wrong),
            "examples": [f"{t}/{k[:60]} served by {g}, owner {owner[(t, k)]}" for t, k, g in wrong[:5]]}


def judge_operation(criterion_id: str, action: str, facts: RunFacts, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID[criterion_id]
    plan, floors = facts.plan["scaling"], facts.plan["evidence"]
    name, verb, sign = WORDS[action]
    nodes_wanted, limit_s = int(plan["nodes"]), float(plan["rebalance_max_s"])
    threshold = (f"{sign}{nodes_wanted} nodes ({verb} as one group) under load; every key on the group the "
                 f"harness's ring names; rebalance finished <= {limit_s:g} s after the admin call; cluster healthy")
    recorded = facts.get(PHASE)
    if early := phase_outcome(criterion, recorded, PHASE, threshold, f"facts/{PHASE}.json"):
        return early
    op = operation(recorded, action)
    if op is None:
        why = recorded.get("stopped_early") or f"the scaling phase recorded no {name}"
        return result(criterion, Status.UNKNOWN, why, threshold, f"facts/{PHASE}.json")
    if analysis is None:
        return result(criterion, Status.UNKNOWN, facts.analysis_error or "analysis did not run", threshold)
    statuses: list[Status] = []
    reasons: list[str] = []

    def problem(status: Status, text: str) -> None:
        statuses.append(status)
        reasons.append(text)

    ops = analysis.run.ops
    metrics = operation_metrics(ops, op, float(facts.plan["windows"]["context_s"]),
                                (recorded.get("load") or {}).get("stopped_time"))
    changed, wrong_nodes = node_change(op, action)
    if "nodes_after" not in op:  # the phase stopped before listing the nodes (its reason is judged below)
        changed, wrong_nodes = [], []
    elif len(changed) != nodes_wanted:
        problem(Status.FAIL, f"{len(changed)} node(s) {verb} ({', '.join(changed) or 'none'}), plan: {nodes_wanted}")
    for text in wrong_nodes:
        problem(Status.FAIL, text)
    expected = expected_groups(op.get("ring_before"), action, op.get("group"))
    published = list((op.get("ring_after") or {}).get("groups") or [])
    if sorted(published) != sorted(expected):
        problem(Status.FAIL, f"the target's ring after the {name} has groups {published}; the harness expects "
                             f"{expected}")
    outcome, seconds = metrics["outcome"], metrics["rebalance_s"]
    if outcome == "failed":
        problem(Status.FAIL, "GET /v1/rebalance reported the rebalance failed")
    elif outcome == "interrupted":
        problem(Status.UNKNOWN, "the run was interrupted while the rebalance ran")
    elif outcome != "finished" or seconds is None:
        problem(Status.FAIL, f"the rebalance did not finish within {limit_s:g} s of the admin call ({outcome})")
    elif seconds > limit_s:
        problem(Status.FAIL, f"the rebalance took {seconds:.1f} s (> {limit_s:g} s)")
    if action == "remove":
        if op.get("finish_error"):
            problem(Status.FAIL, f"the driver could not stop the drained group: {op['finish_error']}")
        if op.get("still_answering"):
            problem(Status.FAIL, f"removed node(s) still answering: {', '.join(op['still_answering'])}")
    check = check_placement(ops, op, float(plan["settle_s"]))
    if check.wrong:
        problem(Status.FAIL, f"{len(check.wrong)} key replica(s) not where the ring puts them, or stale there "
                             f"(e.g. {check.wrong[0]['tenant']}/{check.wrong[0]['key']} on {check.wrong[0]['owner']}: "
                             f"{check.wrong[0]['problem']})")
    if check.unread:
        problem(Status.UNKNOWN, f"{len(check.unread)} key(s) were not read on every member of their owner group")
    if check.judged < int(floors["scaling_min_placement_keys"]):
        problem(Status.UNKNOWN, f"the placement check judged {check.judged} keys, floor "
                                f"{floors['scaling_min_placement_keys']}")
    served = final_reads_elsewhere(ops, op) if action == "remove" else None
    if served and served["wrong"]:
        problem(Status.FAIL, f"{served['wrong']} of {served['reads']} final reads were served by a group other than "
                             f"the key's owner on the final ring (e.g. {served['examples'][0]})")
    health = op.get("health") or {}
    if health.get("healthy") is not True:
        problem(Status.FAIL if health else Status.UNKNOWN,
                f"the cluster was not healthy after the {name}: unreachable {health.get('unreachable')}, "
                f"leaders {health.get('leaders')}" if health else f"no health check after the {name}")
    during = (metrics.get("load_during_operation") or {}).get("ok", 0)
    if during < int(floors["scaling_min_ok_during_move"]):
        problem(Status.UNKNOWN, f"{during} load operations acknowledged during the {name} (floor "
                                f"{floors['scaling_min_ok_during_move']}): not under load")
    status = worst(statuses) if statuses else Status.PASS
    figures = {**metrics, "placement": check.figures(), "nodes_changed": changed, "expected_groups": expected,
               "final_reads_on_other_groups": served}
    took = f"finished in {seconds:.1f} s" if seconds is not None else str(outcome)
    agreed = f"{metrics['placement_s']:.1f} s" if metrics["placement_s"] is not None else "?"
    measured = (f"{len(changed)} nodes {verb} ({op.get('group')}); rebalance {took}, placement agreed {agreed} "
                f"after the admin "
                f"call; {check.judged} keys judged ({check.busy} busy), {len(check.wrong)} misplaced; "
                f"moved {metrics['keys_moved']} / ideal {metrics['ideal_moves']}; "
                f"load {((metrics.get('load_during') or {}).get('ok_per_s'))} ok/s, error rate "
                f"{(metrics.get('load_during') or {}).get('error_rate')} during the move")
    verdict = Verdict(criterion.id, status, "; ".join(reasons) if status is not Status.PASS else "",
                      check.wrong[:50] + check.unread[:10], figures)
    out = CriterionResult(criterion, verdict, measured, threshold, f"evidence/{criterion.id}.json")
    out.evidence_doc = {"metrics": metrics, "placement": {**check.figures(), "wrong": check.wrong[:200],
                                                          "unread": check.unread[:50]},
                        "operation": {k: v for k, v in op.items() if k not in ("nodes_before", "nodes_after")}}
    return out
