"""Multi-region write: same key updated in 2 regions, CRDT resolves without error.

Facts (facts/crdt.json ``multi_region``): rounds in which the harness wrote the same key at the same moment
through a node of each of two regions (us-east and eu-west), for a counter, an OR-set and a register. Judged
from the history with the CRDT checker restricted to those keys (``analysis.crdt_run``, prefix ``mrw-``):
both writes of a round acknowledged and concurrent (neither invoked after the other completed), every
replica of the key holding the same state, equal to the harness's merge (register: the greater timestamp
wins). PASS needs [crdt] mrw_min_rounds_per_type such rounds for each type; the proof (competing writes,
their timestamps, the winner, every replica's state) goes to the evidence file and the report's
"CRDT merge proofs" section.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import crdt_run
from ..facts import RunFacts
from ..frames import is_missing, jsonable
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome, result

TYPES = ("counter", "set", "register")


def _write(row: dict[str, Any]) -> dict[str, Any]:
    return jsonable({"op_id": row.get("op_id"), "region": row.get("region"), "node": row.get("node"),
                     "f": row.get("f"), "value": row.get("value_in"), "type": row.get("type"),
                     "timestamp": row.get("timestamp") if isinstance(row.get("timestamp"), list) else None,
                     "removed_tags": row.get("removed_tags") if isinstance(row.get("removed_tags"), list) else None,
                     "invoke_wall": row.get("invoke_wall"), "complete_wall": row.get("complete_wall")})


def _concurrent(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Neither was invoked after the other had completed (monotonic ns)."""
    end_a = a["complete_time"] if not is_missing(a["complete_time"]) else float("inf")
    end_b = b["complete_time"] if not is_missing(b["complete_time"]) else float("inf")
    return a["invoke_time"] < end_b and b["invoke_time"] < end_a


def proofs(analysis: Any, rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One proof per round: the competing writes, whether both were acknowledged and concurrent, the
    harness's expected merge (the winner) and every replica's final state (from the checker)."""
    checked = crdt_run.check(analysis, crdt_run.MRW_PREFIX)
    summary = {(k["crdt"], k["key"]): k for k in checked.keys}
    ops = crdt_run.operations(analysis)
    by_id: dict[str, dict[str, Any]] = {}
    if not ops.empty:
        wanted = {o for r in rounds for o in r.get("ops", [])}
        part = ops[ops["op_id"].isin(wanted).to_numpy()] if "op_id" in ops.columns else pd.DataFrame()
        by_id = {str(r["op_id"]): r for r in part.to_dict("records")}
    out = []
    for r in rounds:
        writes = [by_id[o] for o in r.get("ops", []) if o in by_id]
        key = summary.get((r.get("crdt"), r.get("key")), {})
        acked = len(writes) == 2 and all(w["type"] == "ok" for w in writes)
        regions = sorted({str(w.get("region")) for w in writes})
        out.append({"crdt": r.get("crdt"), "key": r.get("key"), "writes": [_write(w) for w in writes],
                    "both_acknowledged": acked, "regions": regions,
                    "concurrent": acked and _concurrent(writes[0], writes[1]),
                    "expected": key.get("expected"), "replicas": key.get("replicas_read", 0),
                    "converged": bool(key.get("converged")), "correct": bool(key.get("correct")),
                    "final": key.get("final")})
    return out


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["multi-region-write"]
    needed = int(facts.plan["crdt"]["mrw_min_rounds_per_type"])
    threshold = (f">= {needed} concurrent two-region rounds per type (counter, set, register), every replica "
                 "identical and equal to the harness's merge")
    recorded = facts.get(crdt_run.PHASE)
    if early := phase_outcome(criterion, recorded, crdt_run.PHASE, threshold, "facts/crdt.json"):
        return early
    rounds = (recorded.get("multi_region") or {}).get("rounds") or []
    if not rounds:
        return result(criterion, Status.UNKNOWN, "the crdt phase made no multi-region write rounds", threshold)
    if analysis is None:
        return result(criterion, Status.UNKNOWN, facts.analysis_error or "analysis did not run", threshold)
    checked = crdt_run.check(analysis, crdt_run.MRW_PREFIX)
    found = proofs(analysis, rounds)
    good = {t: sum(1 for p in found if p["crdt"] == t and p["concurrent"] and len(p["regions"]) == 2
                   and p["converged"] and p["correct"]) for t in TYPES}
    v = checked.verdict
    figures = {"rounds": len(found), "good_rounds_per_type": good, "violations": v.figures.get("violations", 0),
               "replicas": v.figures.get("replicas", 0)}
    if v.status is Status.FAIL:
        verdict = Verdict(criterion.id, Status.FAIL, v.reason, v.evidence, figures)
    elif v.status is not Status.PASS:
        verdict = Verdict(criterion.id, Status.UNKNOWN, v.reason or "the CRDT checker could not judge", v.evidence,
                          figures)
    elif any(n < needed for n in good.values()):
        short = ", ".join(f"{t} {n}" for t, n in good.items() if n < needed)
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"too few concurrent, acknowledged two-region rounds: {short} "
                          f"(need {needed} per type)", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    measured = (f"{len(found)} rounds ({', '.join(f'{t} {n}' for t, n in good.items())} concurrent, resolved); "
                f"{figures['violations']} violations over {figures['replicas']} replicas")
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/multi-region-write.json")
    out.evidence_doc = {"proofs": found, "checker": v.to_dict()}
    return out
