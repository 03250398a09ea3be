"""Zero data loss during scaling operations.

Facts: facts/scaling.json (the phase's start, its ``add`` and ``remove`` operations) and the history.
The keys judged are the strong-KV keys written from the phase's start to the end of the scale-in (the
phase's seed keys, the load's hot and write-once keys, every shape); each key's whole history is taken,
final reads included (``final-read`` phase). Over those keys: the no-lost-writes checker (set-full per
key: every acknowledged write is read back at the end or was overwritten by a later or concurrent write;
write-once keys cannot hide a loss) and the linearizability checker ([scaling] linearizability_budget_s);
plus both placement checks (analysis.scaling): every judged key's replicas on its owner group held a value
the key may hold. FAIL: a lost write, a key with no linearization, a key missing or stale on its owner.
UNKNOWN: an operation did not complete, writes not covered by a final read, the search budget ran out,
or fewer than [evidence] scaling_min_acknowledged_writes / scaling_min_keys.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..checkers.linearizability import check_linearizability
from ..checkers.lost_writes import check_lost_writes
from ..facts import RunFacts
from ..frames import column
from ..metrics.rebalance import OPERATIONS
from ..plan import CRITERIA_BY_ID
from ..scaling import PHASE, check_placement, kv_writes, operation
from ..verdict import Status, Verdict, worst
from .result import CriterionResult, phase_outcome, result

PLACE_PREFIX = "verify-scaling-place-"


def scaling_ops(ops: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """Every operation (placement reads excluded) on the keys written between ``start`` and ``end`` (ns)."""
    writes = kv_writes(ops)
    inside = writes[(writes["invoke_time"] >= start) & (writes["invoke_time"] <= end)]
    keys = pd.MultiIndex.from_arrays([inside["tenant"].astype(str), inside["key"].astype(str)]).unique()
    tenant = ops["tenant"].astype(object).fillna("").astype(str)
    mine = pd.MultiIndex.from_arrays([tenant, ops["key"].astype(object).astype(str)]).isin(keys)
    process = column(ops, "process").astype(object).fillna("").astype(str)
    return ops[mine & ~process.str.startswith(PLACE_PREFIX)]


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["scaling-data-loss"]
    plan, floors = facts.plan["scaling"], facts.plan["evidence"]
    threshold = ("0 acknowledged writes lost and every key linearizable over the keys written while scaling "
                 f"(>= {floors['scaling_min_acknowledged_writes']} acknowledged writes, >= "
                 f"{floors['scaling_min_keys']} keys read back); every key on its owner group after each operation")
    recorded = facts.get(PHASE)
    if early := phase_outcome(criterion, recorded, PHASE, threshold, f"facts/{PHASE}.json"):
        return early
    if analysis is None:
        return result(criterion, Status.UNKNOWN, facts.analysis_error or "analysis did not run", threshold)
    done = [op for a in OPERATIONS if (op := operation(recorded, a)) is not None]
    starts = [recorded.get("started_time")] + [op.get("call_time") for op in done]
    ends = [op.get("end_time") or op.get("admin_time") for op in done]
    starts = [s for s in starts if isinstance(s, int | float)]
    ends = [e for e in ends if isinstance(e, int | float)]
    if not starts or not ends:
        return result(criterion, Status.UNKNOWN, recorded.get("stopped_early") or "no scaling operation was "
                      "recorded", threshold, f"facts/{PHASE}.json")
    start, end = min(starts), max(ends)
    subset = scaling_ops(analysis.run.ops, start, end)
    lost = check_lost_writes(subset)
    linear = check_linearizability(subset, float(plan["linearizability_budget_s"]))
    statuses, reasons, evidence = [], [], []
    for verdict in (lost, linear):
        status = Status.UNKNOWN if verdict.status is Status.NOT_APPLICABLE else verdict.status
        if status is not Status.PASS:
            statuses.append(status)
            reasons.append(f"{verdict.name}: {verdict.reason}")
            evidence += [{"check": verdict.name, **e} for e in verdict.evidence[:20]]
    misplaced = 0
    for op in done:
        check = check_placement(analysis.run.ops, op, float(plan["settle_s"]))
        if check.wrong:
            misplaced += len(check.wrong)
            statuses.append(Status.FAIL)
            reasons.append(f"after the {op.get('action')} of {op.get('group')}: {len(check.wrong)} key replica(s) "
                           "missing or stale on the owner group")
            evidence += [{"check": f"placement-{op.get('action')}", **w} for w in check.wrong[:20]]
    finished = [op for op in done if (op.get("rebalance") or {}).get("outcome") == "finished"]
    if len(finished) < len(OPERATIONS):
        statuses.append(Status.UNKNOWN)
        reasons.append(f"{len(finished)} of {len(OPERATIONS)} scaling operations finished "
                       f"({recorded.get('stopped_early') or 'see facts/scaling.json'})")
    f = lost.figures
    acked, read_back = int(f.get("acknowledged_writes", 0)), int(f.get("keys_with_final_read", 0))
    if acked < int(floors["scaling_min_acknowledged_writes"]) or read_back < int(floors["scaling_min_keys"]):
        statuses.append(Status.UNKNOWN)
        reasons.append(f"too little evidence: {acked} acknowledged writes (floor "
                       f"{floors['scaling_min_acknowledged_writes']}), {read_back} keys read back (floor "
                       f"{floors['scaling_min_keys']})")
    final = facts.get("final-read") or {}
    if final.get("unread"):
        statuses.append(Status.UNKNOWN)
        reasons.append(f"{len(final['unread'])} written keys could not be read back at the end")
    status = worst(statuses) if statuses else Status.PASS
    figures = {"window_s": round((end - start) / 1e9, 3), "operations": int(len(subset)), "lost": f.get("lost"),
               "acknowledged_writes": acked, "keys_read_back": read_back, "write_once_keys": f.get("write_once_keys"),
               "keys_illegal": linear.figures.get("keys_illegal"), "keys": linear.figures.get("keys"),
               "misplaced_replicas": misplaced}
    measured = (f"{f.get('lost', '?')} lost of {acked} acknowledged writes on {linear.figures.get('keys', '?')} keys "
                f"written while scaling ({f.get('write_once_keys', 0)} write-once); "
                f"{linear.figures.get('keys_illegal', '?')} keys not linearizable; {misplaced} replicas missing/stale")
    verdict = Verdict(criterion.id, status, "; ".join(reasons) if status is not Status.PASS else "", evidence,
                      figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/scaling-data-loss.json")
    out.evidence_doc = {"lost_writes": lost.to_dict(), "linearizability": linear.to_dict(), "figures": figures}
    return out
