"""1000 tenants: create, write, read for each, verify isolation.

Facts (facts/tenants.json): the tenant names, which were created, each tenant's write and read-back, every
cross-tenant attempt (read and overwrite of the next tenant's key with the attacker's own token) and the
re-read after the attempts, plus the latencies of the tenants' operations (ms).
Judge: every tenant created, its write acknowledged and read back unchanged, and every cross-tenant
attempt refused (401/403) with the victim's value intact. The plan spot-checks 10 tenants; all are checked.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(v for v in values if v is not None)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["tenants"]
    recorded = facts.get("tenants")
    threshold = f"{facts.sizes['tenants']} tenants; every cross-tenant attempt refused"
    if early := phase_outcome(criterion, recorded, "tenants", threshold):
        return early
    names: list[str] = recorded["names"]
    value_of = recorded.get("value_of", {})
    problems: list[dict[str, Any]] = []
    for name in names:
        expected = value_of.get(name, f"{name}-data")
        if not recorded["created"].get(name):
            problems.append({"tenant": name, "problem": "not created"})
        elif not recorded["wrote"].get(name):
            problems.append({"tenant": name, "problem": "write not acknowledged"})
        elif recorded["read"].get(name) != expected:
            problems.append({"tenant": name, "problem": "read back differs", "read": recorded["read"].get(name)})
        elif recorded.get("after", {}).get(name) != expected:
            problems.append({"tenant": name, "problem": "value changed after other tenants' attempts",
                             "read": recorded["after"].get(name)})
    cross = recorded["cross"]
    leaks = [c for c in cross if not (c["type"] == "fail" and c["status"] in (401, 403))]
    refused = len(cross) - len(leaks)
    p50, p99 = percentile(recorded["latency_ms"], 0.5), percentile(recorded["latency_ms"], 0.99)
    count = len(names)
    figures = {"tenants": count, "created": len(recorded["created"]), "cross_tenant_attempts": len(cross),
               "refused": refused, "latency_p50_ms": round(p50, 1), "latency_p99_ms": round(p99, 1)}
    measured = (f"{len(recorded['created'])}/{count} created, written, read; {refused}/{len(cross)} "
                f"cross-tenant attempts refused; p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if leaks:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(leaks)} cross-tenant attempt(s) not refused", leaks,
                          figures)
    elif problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} tenant(s) failed: {problems[0]['problem']}",
                          problems, figures)
    elif count < int(facts.sizes["tenants"]):
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"only {count} tenants of the plan's "
                          f"{facts.sizes['tenants']} were tried", figures=figures)
    elif len(cross) < 2 * count:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "not every tenant's isolation was exercised",
                          figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/tenants.json")
    out.evidence_doc = {"figures": figures, "problems": problems, "leaks": leaks, "cross_tenant_sample": cross[:50]}
    return out
