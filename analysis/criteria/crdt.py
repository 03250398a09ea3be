"""CRDT: 100 concurrent writers across regions, zero conflicts, all updates merged correctly.

Facts (facts/crdt.json, tier7/verify/criteria/crdt.py): the writers requested, the load's exit, the
region partition experiment (region, exit status), when the writers stopped (monotonic ns) and the final
read rounds. Judged with the CRDT checker over the history (``analysis.crdt_run``): every replica of every
key converged and equals the harness's merge of the acknowledged operations, no conflicting or
out-of-order register timestamp, no lost acknowledged operation. Also: at least [sizes] crdt_writers
distinct writers wrote in at least [sizes] regions; CRDT writes were acknowledged on both sides of the
partition ([crdt] partition_min_success, each side); the replicas converged within [crdt]
convergence_max_s of the writers' stop. Below the [evidence] crdt_* floors: UNKNOWN.
"""

from __future__ import annotations

from typing import Any

from .. import crdt_run
from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict, worst
from .result import CriterionResult, phase_outcome, result


def partition_sides(analysis: Any, facts: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per partition window and side (the cut-off region, the rest): writes invoked and acknowledged;
    and the reasons it is not evidence (no window)."""
    windows = crdt_run.partition_windows(analysis)
    if not windows and isinstance(facts.get("partition_start_time"), int | float) \
            and isinstance(facts.get("partition_end_time"), int | float):
        windows = [(float(facts["partition_start_time"]), float(facts["partition_end_time"]),
                    str(facts.get("partition_region", "?")))]
    if not windows:
        return [], ["no region partition was in force during the CRDT load"]
    ops = crdt_run.operations(analysis)
    rows = []
    for start, end, region in windows:
        region = region if region != "?" else str(facts.get("partition_region", "?"))
        inside = crdt_run.during(ops, start, end)
        cut = (inside["region"].astype(object) == region).to_numpy()
        for side, part in (("partitioned " + region, inside[cut]), ("other regions", inside[~cut])):
            rows.append({"side": side, "window_s": round((end - start) / 1e9, 3), "writes": int(len(part)),
                         "acknowledged": int((part["type"] == "ok").sum())})
    return rows, []


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["crdt"]
    plan = facts.plan
    crdt_plan, floors = plan["crdt"], plan["evidence"]
    writers_needed, regions_needed = int(plan["sizes"]["crdt_writers"]), int(plan["sizes"]["regions"])
    converge_max = float(crdt_plan["convergence_max_s"])
    min_success = float(crdt_plan["partition_min_success"])
    threshold = (f">= {writers_needed} writers in >= {regions_needed} regions, a region partitioned mid-run, "
                 f"0 conflicts, every replica = the harness's merge, converged <= {converge_max:g} s")
    recorded = facts.get(crdt_run.PHASE)
    if early := phase_outcome(criterion, recorded, crdt_run.PHASE, threshold, "facts/crdt.json"):
        return early
    if analysis is None:
        return result(criterion, Status.UNKNOWN, facts.analysis_error or "analysis did not run", threshold)
    checked = crdt_run.check(analysis)
    v = checked.verdict
    statuses = [Status.UNKNOWN if v.status is Status.NOT_APPLICABLE else v.status]
    reasons = [v.reason] if v.reason else []
    figures = dict(v.figures)
    sides, missing = partition_sides(analysis, recorded)
    figures["partition_sides"] = sides
    reasons += missing
    statuses += [Status.UNKNOWN] * len(missing)
    for side in sides:
        ratio = side["acknowledged"] / side["writes"] if side["writes"] else 0.0
        if ratio < min_success:
            statuses.append(Status.FAIL if side["writes"] else Status.UNKNOWN)
            reasons.append(f"during the partition, {side['side']}: {side['acknowledged']}/{side['writes']} CRDT "
                           f"writes acknowledged (< {min_success:.0%})")
    experiment = recorded.get("partition") or {}
    if experiment.get("exit_status") not in (0, None):
        statuses.append(Status.UNKNOWN)
        reasons.append(f"the partition experiment did not pass (exit {experiment.get('exit_status')}; "
                       "see harness/chaos-crdt-partition.log)")
    convergence, not_before = figures.get("convergence_s"), figures.get("convergence_not_before_s") or 0.0
    if isinstance(convergence, int | float) and not_before > converge_max:
        statuses.append(Status.FAIL)
        reasons.append(f"a replica still differed {not_before:.2f} s after the writers stopped (> {converge_max:g} s)")
    elif isinstance(convergence, int | float) and convergence > converge_max:
        statuses.append(Status.UNKNOWN)
        reasons.append(f"replicas converged between {not_before:.2f} s and {convergence:.2f} s after the writers "
                       f"stopped: the final reads were too slow to tell whether within {converge_max:g} s")
    elif convergence is None and v.status is Status.PASS:
        statuses.append(Status.UNKNOWN)
        reasons.append("no convergence time was measured (no final reads after the writers stopped)")
    shortfalls = []
    writers = int(figures.get("concurrent_writers", 0))
    regions = len(figures.get("acknowledged_per_region", {}))
    if writers < writers_needed:
        shortfalls.append(f"at most {writers} distinct writers wrote within one second (plan: {writers_needed} "
                          "concurrent writers)")
    if regions < regions_needed:
        shortfalls.append(f"acknowledged writes in {regions} region(s) (plan: {regions_needed})")
    if int(figures.get("acknowledged_writes", 0)) < int(floors["crdt_min_acknowledged_writes"]):
        shortfalls.append(f"{figures.get('acknowledged_writes', 0)} acknowledged CRDT writes, floor "
                          f"{floors['crdt_min_acknowledged_writes']}")
    if int(figures.get("keys", 0)) < int(floors["crdt_min_keys"]):
        shortfalls.append(f"{figures.get('keys', 0)} CRDT keys, floor {floors['crdt_min_keys']}")
    if recorded.get("error"):
        shortfalls.append(f"the crdt phase: {recorded['error']}")
    if shortfalls:
        statuses.append(Status.UNKNOWN)
        reasons.append("too little evidence: " + "; ".join(shortfalls))
    status = worst(statuses)
    reason = "; ".join(r for r in reasons if r) if status is not Status.PASS else ""
    measured = (f"{writers} concurrent writers in {regions} regions, {figures.get('acknowledged_writes', 0)} acknowledged "
                f"writes on {figures.get('keys', 0)} keys x {figures.get('replicas', 0)} replicas; "
                f"{figures.get('violations', 0)} violations; converged within "
                f"{convergence if convergence is not None else '?'} s")
    verdict = Verdict(criterion.id, status, reason or ("" if status is Status.PASS else status.value), v.evidence,
                      figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/crdt.json")
    out.evidence_doc = {"verdict": v.to_dict(), "keys": checked.keys, "convergence": checked.convergence,
                        "partition_sides": sides, "phase": recorded}
    return out
