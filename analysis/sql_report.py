"""The report's SQL tables (issue 12): per suite query its rows, time and verdict, the TLP checks, the queries
during the leader kill, and the routing figures (read-local share, writes naming a quorum), all from the run
folder's facts/sql.json through the sql judge (the same verdicts as the criterion's)."""

from __future__ import annotations

from typing import Any

from .facts import RunFacts


def sql_sections(analysis: Any) -> dict[str, Any]:
    """{} for a run without the sql phase."""
    path = getattr(getattr(analysis, "run", None), "path", None)
    if path is None:
        return {}
    facts = RunFacts(path)
    recorded = facts.get("sql")
    if not recorded or "queries" not in recorded:
        return {}
    from .criteria import sql  # late: the criteria package imports this module's neighbours

    doc = sql.judge(facts).evidence_doc or {}
    sections: dict[str, Any] = {}
    if doc.get("queries"):
        sections["Federated SQL: suite queries vs the harness's oracle (rows, s, verdict)"] = [
            {k: q.get(k, "") for k in ("query", "rows", "expected_rows", "seconds", "verdict", "why")}
            for q in doc["queries"]]
    if doc.get("tlp"):
        sections["Federated SQL: TLP partitions (p, NOT p, p IS NULL add up to the whole)"] = [
            {k: t.get(k, "") for k in ("predicate", "seconds", "verdict", "why")} for t in doc["tlp"]]
    if doc.get("kill"):
        sections["Federated SQL during a leader kill"] = [doc["kill"]]
    if doc.get("routing"):
        sections["Intelligent routing (read-local, write-quorum) from the harness's own record"] = [doc["routing"]]
    return sections
