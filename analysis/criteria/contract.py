"""Contract (beyond the plan's list): the target answers as its contract document says under
property-based fuzzing of one node per group.

Facts (facts/contract.json, tier7/verify/criteria/contract.py): every request's operation, token kind,
the harness's expectation (ok / reject / any), the status and error code, and the problems the phase saw
in it (schema breaks need the answer body, which only the phase had); the documented statuses and the
secured operations of the document; nodes that stopped answering; the findings with curl reproductions.

Judge: FAIL on any 5xx, a status the document does not list for the operation, an answer that breaks
its schema, a data call with a token that is not the caller's own answered 2xx, bad input accepted or
valid input refused, a failed read-back, or a node that stopped answering. The 5xx, undocumented status
and foreign-token rules are re-derived here from the raw statuses, not taken from the phase's word.
UNKNOWN below the evidence floor (requests), or when a documented operation or a group went unfuzzed.
A 503/504 that a second attempt (after 1 s) answered otherwise is counted (``transient_unavailable``),
not judged: it says the group could not commit in time, not that the input was mishandled; a 5xx that
stays is a finding, and a 500 is never retried.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome

FOREIGN_KINDS = {"foreign", "forged", "swapped", "garbage", "basic", "empty", "none"}
EVIDENCE = "evidence/contract.json"


def observed_problems(facts: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(observation, problem) pairs: the phase's, plus the rules re-derived from raw statuses."""
    documented = {op: set(statuses) for op, statuses in facts.get("documented_statuses", {}).items()}
    secured = set(facts.get("secured_operations", []))
    out = []
    for o in facts.get("observations", []):
        found = set(o.get("problems", []))
        status = o.get("status")
        if isinstance(status, int):
            if status >= 500:
                found.add("server_error")
            elif o.get("op") in documented and status not in documented[o["op"]]:
                found.add("undocumented_status")
            if 200 <= status < 300 and o.get("token_kind") in FOREIGN_KINDS and o.get("op") in secured:
                found.add("foreign_token_accepted")
        out += [(o, problem) for problem in sorted(found)]
    return out


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["contract"]
    floor = int(facts.plan.get("evidence", {}).get("contract_min_requests", 2000))
    threshold = (f">= {floor} fuzz requests to one node per group: no 5xx, answers as documented, "
                 "no foreign token accepted, every node answering")
    recorded = facts.get("contract")
    if early := phase_outcome(criterion, recorded, "contract", threshold, EVIDENCE):
        return early
    observations = recorded.get("observations", [])
    pairs = observed_problems(recorded)
    down = recorded.get("down", {}) or {}
    counts = Counter(problem for _, problem in pairs)
    statuses = Counter(str(o.get("status")) for o in observations)
    fuzzed_ops = {o.get("op") for o in observations}
    unfuzzed = sorted(op for op in recorded.get("document_operations", []) if op not in fuzzed_ops)
    groups_fuzzed = {n.get("group") for n in recorded.get("nodes", [])}
    groups = set(recorded.get("groups", [])) or set(facts.group_of.values())
    missing_groups = sorted(groups - groups_fuzzed)
    findings = recorded.get("findings", [])
    reproduce = {(f.get("problem"), f.get("op"), f.get("status")): f.get("minimal_curl") or f.get("curl")
                 for f in findings}
    figures = {"requests": len(observations), "nodes": [n.get("name") for n in recorded.get("nodes", [])],
               "statuses": dict(sorted(statuses.items())), "problems": dict(counts),
               "nodes_down": sorted(down), "operations_unfuzzed": unfuzzed, "seed": recorded.get("seed"),
               "transient_unavailable": sum(1 for o in observations if o.get("transient"))}
    statuses_5xx = sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)
    measured = (f"{len(observations)} requests to {len(groups_fuzzed)} node(s) "
                f"({', '.join(figures['nodes'])}); {sum(counts.values())} problem(s), {statuses_5xx} 5xx")
    per_key = Counter((problem, o.get("op"), o.get("status")) for o, problem in pairs)
    listed: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for o, problem in pairs:
        key = (problem, o.get("op"), o.get("status"))
        if key in seen:
            continue
        seen.add(key)
        listed.append({"problem": problem, "op": o.get("op"), "status": o.get("status"), "code": o.get("code"),
                       "case": o.get("label"), "node": o.get("node"), "count": per_key[key],
                       "reproduce": reproduce.get(key, f"{o.get('method')} {o.get('path')} (token {o.get('token_kind')})")})
    listed += [{"problem": "node_down", "node": name, "detail": why} for name, why in sorted(down.items())]
    if listed:
        first = listed[0]
        reason = (f"{len(pairs) + len(down)} problem(s) ({', '.join(f'{k} {v}' for k, v in counts.most_common())}"
                  f"{', node down: ' + ', '.join(sorted(down)) if down else ''}); first: {first['problem']} on "
                  f"{first.get('op', first.get('node'))}")
        verdict = Verdict(criterion.id, Status.FAIL, reason, listed, figures)
    elif len(observations) < floor:
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"only {len(observations)} requests were answered and "
                          f"checked (evidence floor {floor}; skipped: {recorded.get('skipped')})", figures=figures)
    elif missing_groups:
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"group(s) {', '.join(missing_groups)} not fuzzed",
                          figures=figures)
    elif unfuzzed:
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"documented operation(s) never exercised: "
                          f"{', '.join(unfuzzed)}", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, EVIDENCE)
    out.evidence_doc = {"figures": figures, "problems": listed, "findings": findings,
                        "budget": recorded.get("budget"), "world": recorded.get("world"),
                        "document": recorded.get("document")}
    return out
