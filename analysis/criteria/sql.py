"""Cross-region SQL query returns correct federated results.

Facts (facts/sql.json, tier7/verify/criteria/sql.py): the event rows loaded and the ingest answers; each
suite query with its answer (rows or error), time and the rows the harness's oracle computed from its own
record; TLP answers (per predicate: whole/true/false/null counts and sums of id); the queries run while a
group's leader was killed; routing evidence (quorum of each KV write, region of each local read).

FAIL: a suite query answered wrong or with an error (healthy cluster), a TLP union that does not add up, a
query during the kill answered 200 with wrong rows, or one answered with no explicit error (no status or no
``error.code``). UNKNOWN: event batches never acknowledged (the record is uncertain), or fewer than the
[evidence] sql_* floors. Compare rules: analysis/sql_compare.py, tolerances in [sql].
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..sql_compare import compare, tlp_check
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome

PHASE = "sql"


def _explicit_error(answer: dict[str, Any]) -> bool:
    error = answer.get("error")
    return isinstance(answer.get("status"), int) and answer["status"] >= 400 and isinstance(error, dict) \
        and isinstance(error.get("code"), str)


def routing(recorded: dict[str, Any], group_of: dict[str, str]) -> dict[str, Any]:
    """Read-local and write-quorum figures from the harness's own record (reported, not judged)."""
    reads = [r for r in recorded.get("local_reads", []) if r.get("status") == 200]
    in_region = sum(1 for r in reads if r.get("served_region") == r.get("entry_region"))
    writes = recorded.get("kv_writes", [])

    def majority(write: dict[str, Any]) -> bool:
        q = write.get("quorum") or {}
        members = q.get("members") or []
        group = [n for n, g in group_of.items() if g == write.get("group")]
        return bool(group) and set(members) <= set(group) and len(set(members)) > len(group) // 2
    with_quorum = sum(1 for w in writes if majority(w))
    return {"local_reads": len(recorded.get("local_reads", [])), "local_reads_ok": len(reads),
            "local_reads_in_region": in_region,
            "local_in_region_share": in_region / len(reads) if reads else None,
            "writes_acknowledged": len(writes), "writes_naming_majority_quorum": with_quorum,
            "quorum_share": with_quorum / len(writes) if writes else None}


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["sql"]
    cfg, floors = facts.plan["sql"], facts.plan["evidence"]
    rel, absolute = float(cfg["float_rel_tol"]), float(cfg["float_abs_tol"])
    threshold = ("every suite query = the harness's oracle (floats within "
                 f"{rel:g} rel / {absolute:g} abs), TLP partitions add up, during a leader kill right or an error")
    recorded = facts.get(PHASE)
    if early := phase_outcome(criterion, recorded, PHASE, threshold, "facts/sql.json"):
        return early
    failures: list[dict[str, Any]] = []
    unknown: list[str] = []
    report = []
    for q in recorded.get("queries", []):
        if q.get("status") != 200 or q.get("rows") is None:
            ok, why = False, f"answered {q.get('status')}: {q.get('error')}"
        else:
            ok, why = compare(q["expected"], q["rows"], q["kinds"], q["ordered"], rel, absolute)
        report.append({"query": q["name"], "rows": len(q["rows"]) if isinstance(q.get("rows"), list) else None,
                       "expected_rows": len(q["expected"]), "seconds": q.get("seconds"),
                       "verdict": "PASS" if ok else "FAIL", **({} if ok else {"why": why})})
        if not ok:
            failures.append({"query": q["name"], "sql": q["sql"], "why": why})
    tlp_report = []
    for t in recorded.get("tlp", []):
        ok, why = (tlp_check(t["rows"]) if t.get("status") == 200
                   else (False, f"answered {t.get('status')}: {t.get('error')}"))
        tlp_report.append({"predicate": t["predicate"], "verdict": "PASS" if ok else "FAIL",
                           "seconds": t.get("seconds"), **({} if ok else {"why": why})})
        if not ok:
            failures.append({"tlp": t["predicate"], "why": why})
    kill = recorded.get("kill") or {}
    kill_report: dict[str, Any] = {}
    if "not_applicable" in kill or "error" in kill or not kill:
        unknown.append(f"no query during a leader kill: {kill.get('not_applicable') or kill.get('error') or 'none'}")
    else:
        right = errors = 0
        for index, a in enumerate(kill.get("answers", [])):
            if a.get("status") == 200 and a.get("rows") is not None:
                ok, why = compare(kill["expected"], a["rows"], kill["kinds"], False, rel, absolute)
                right += ok
                if not ok:
                    failures.append({"kill_query": index, "entry": a.get("entry"), "why": why})
            elif _explicit_error(a):
                errors += 1
            else:
                failures.append({"kill_query": index, "entry": a.get("entry"),
                                 "why": f"neither a result nor an explicit error: status {a.get('status')}, "
                                        f"{a.get('error')!r}"})
        kill_report = {"victim": kill.get("victim"), "group": kill.get("group"), "queries": len(kill["answers"]),
                       "right": right, "explicit_errors": errors}
        if right + errors < int(floors["sql_min_kill_queries"]):
            unknown.append(f"{right + errors} queries answered during the leader kill "
                           f"(< {floors['sql_min_kill_queries']})")
    loaded = int(recorded.get("rows_loaded", 0))
    if recorded.get("ingest_unacknowledged"):
        unknown.append(f"{recorded['ingest_unacknowledged']} event batch(es) never acknowledged: the harness's "
                       "record of the rows is uncertain")
    if loaded < int(floors["sql_min_rows"]):
        unknown.append(f"{loaded} event rows loaded (< {floors['sql_min_rows']})")
    if len(report) < int(floors["sql_min_queries"]):
        unknown.append(f"{len(report)} suite queries answered (< {floors['sql_min_queries']})")
    if len(tlp_report) < int(floors["sql_min_tlp"]):
        unknown.append(f"{len(tlp_report)} TLP predicates (< {floors['sql_min_tlp']})")
    passed = sum(1 for r in report if r["verdict"] == "PASS")
    figures = {"queries": len(report), "queries_right": passed, "tlp": len(tlp_report),
               "tlp_right": sum(1 for r in tlp_report if r["verdict"] == "PASS"), "rows_loaded": loaded,
               "kill": kill_report, "routing": routing(recorded, facts.group_of)}
    if failures:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(failures)} wrong SQL answer(s)", failures, figures)
    elif unknown:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "; ".join(unknown), figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    measured = (f"{passed}/{len(report)} suite queries right over {loaded} event rows, "
                f"{figures['tlp_right']}/{len(tlp_report)} TLP checks, "
                f"kill: {kill_report.get('right', 0)} right + {kill_report.get('explicit_errors', 0)} explicit errors")
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/sql.json")
    out.evidence_doc = {"queries": report, "tlp": tlp_report, "kill": kill_report, "routing": figures["routing"],
                        "failures": failures}
    return out
