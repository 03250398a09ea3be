"""The report's tables from an analysis (fault timeline, consensus latency, outage, election per kill):
rows of plain values, times as UTC clock strings, for the markdown report and any other reader.

Every row names its fault by id (``F1``...), terms are whole numbers and a missing value is an empty
cell, never ``nan`` (issue 17)."""

from __future__ import annotations

import math
import time
from typing import Any

ROW_LIMIT = 40


def utc(wall: Any) -> str:
    """``HH:MM:SS.mmm`` (UTC) of a unix time in seconds; ``?`` when unknown."""
    if not isinstance(wall, int | float) or isinstance(wall, bool) or math.isnan(float(wall)):
        return "?"
    return time.strftime("%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1000):03d}"


def fault_timeline(analysis: Any) -> list[dict[str, Any]]:
    windows = analysis.tables.get("windows") if analysis is not None else None
    if windows is None or windows.empty:
        return []
    rows = []
    for w in windows.to_dict("records"):
        rows.append({"fault_id": w.get("fault_id") if isinstance(w.get("fault_id"), str) else "",
                     "start_utc": utc(w.get("start_wall")), "fault": w.get("fault"),
                     "target": " ".join(str(x) for x in (w.get("node"), w.get("group")) if isinstance(x, str) and x),
                     "duration_s": round(w["duration_s"], 3) if present(w.get("duration_s")) else "",
                     "outcome": ("applied" if w.get("applied") else "failed") +
                                (f", healed by {w['healed_by']}" if isinstance(w.get("healed_by"), str) else "")})
    return rows


def election_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per applied fault: its targeted group's election (UTC times, seconds). Untargeted groups are
    left out: their "election" would be an unrelated term change, often tens of seconds later."""
    elections = analysis.tables.get("elections")
    if elections is None or elections.empty:
        return []
    wall_of = wall_clock(analysis)
    rows = []
    for e in elections[elections["targeted"].astype(bool)].to_dict("records"):
        row = {"fault": f"{e.get('fault_id')} {e.get('fault')}", "group": e.get("group"),
               "fault_start_utc": utc(wall_of(e.get("fault_start_time"))),
               "elected_utc": utc(wall_of(e.get("elected_time"))),
               "leader_before": e.get("leader_before"), "leader_after": e.get("leader_after"),
               **({"term_before": e.get("term_before"), "term_after": e.get("term_after")} if "term_before" in e else {}),
               "election_s": e.get("election_s"), "resolution_s": e.get("resolution_s")}
        for extra in ("uncertainty_s", "election_uncertainty_s"):  # newer election tables carry it
            if extra in e:
                row[extra] = e[extra]
        rows.append(_round(row))
    return rows[:ROW_LIMIT]


def present(value: Any) -> bool:
    """A number that is there: not None, not NaN (pandas' missing)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def wall_clock(analysis: Any):
    """Unix seconds of a monotonic nanosecond time of this run (None when missing)."""
    offset = float(getattr(analysis.run, "offset_ns", 0.0) or 0.0)  # monotonic = wall * 1e9 + offset

    def wall_of(ns: Any) -> float | None:
        return (float(ns) - offset) / 1e9 if present(ns) else None

    return wall_of


def _value(key: str, value: Any) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # numpy scalar -> int / float / bool
    if value is None or (isinstance(value, float) and value != value) or str(value) == "NaT":
        return ""
    if isinstance(value, float):
        return int(value) if "term" in key else round(value, 3)  # a Raft term is a count: 7, not 7.0
    return value


def _round(row: dict[str, Any]) -> dict[str, Any]:
    """Plain values: floats to 3 decimals, terms whole, missing (None/NaN/NaT) as an empty cell."""
    return {k: _value(str(k), v) for k, v in row.items()}


def _rounded(frame: Any) -> list[dict[str, Any]]:
    return [_round(row) for row in frame.head(ROW_LIMIT).to_dict("records")]


def outage_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per (fault, group): fault id and name, the last ok before and the first ok after (UTC), the
    outage (s); an outage that never ended says so instead of a blank."""
    outage = analysis.tables.get("outage")
    if outage is None or outage.empty:
        return []
    wall_of = wall_clock(analysis)
    rows = []
    for o in outage.head(ROW_LIMIT).to_dict("records"):
        recovered = o.get("recovered")
        rows.append(_round({
            "fault_id": o.get("fault_id"), "fault": o.get("fault"), "group": o.get("group"),
            "targeted": bool(o.get("targeted")), "fault_start_utc": utc(wall_of(o.get("fault_start_time"))),
            "last_ok_utc": utc(wall_of(o.get("last_ok_time"))), "first_ok_utc": utc(wall_of(o.get("first_ok_time"))),
            "outage_s": o.get("outage_s") if present(o.get("outage_s")) else
            ("not recovered" if recovered is False or recovered == 0 else "")}))
    return rows


def report_metrics(analysis: Any) -> dict[str, Any]:
    """The report's metric tables (consensus latency, commit latency from /metrics, outage, elections)."""
    if analysis is None:
        return {}
    sections: dict[str, Any] = {}
    latency = analysis.tables.get("write_latency")
    if latency is not None and not latency.empty:
        sections["Consensus latency: acknowledged writes per group (ms)"] = _rounded(latency)
    commit = analysis.tables.get("commit_latency_metrics")
    if commit is not None and not commit.empty:
        sections["Commit latency from the nodes' /metrics (ms)"] = _rounded(commit)
    outage = outage_rows(analysis)
    if outage:
        sections["Outage per fault and group (UTC, s)"] = outage
    elections = election_rows(analysis)
    if elections:
        sections["Election time per fault, targeted group (UTC, s)"] = elections
    distribution = analysis.summary.get("outage_distribution")
    if distribution:
        sections["Outage distribution over all faults (s)"] = [_round(dict(distribution))]
    from .crdt_report import crdt_sections  # CRDT merge proofs, convergence, lag (issue 10)

    sections.update(crdt_sections(analysis))
    from .sql_report import sql_sections  # SQL queries, TLP, routing (issue 12)

    sections.update(sql_sections(analysis))
    return sections
