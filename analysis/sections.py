"""The report's tables from an analysis (fault timeline, consensus latency, outage, election per kill):
rows of plain values, times as UTC clock strings, for the markdown report and any other reader."""

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
        rows.append({"start_utc": utc(w.get("start_wall")), "fault": w.get("fault"),
                     "target": " ".join(str(x) for x in (w.get("node"), w.get("group")) if isinstance(x, str) and x),
                     "duration_s": round(w["duration_s"], 3) if isinstance(w.get("duration_s"), float) else "",
                     "outcome": ("applied" if w.get("applied") else "failed") +
                                (f", healed by {w['healed_by']}" if isinstance(w.get("healed_by"), str) else "")})
    return rows


def election_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per applied fault: its targeted group's election (UTC times, seconds). Untargeted groups are
    left out: their "election" would be an unrelated term change, often tens of seconds later."""
    elections = analysis.tables.get("elections")
    if elections is None or elections.empty:
        return []
    offset = float(getattr(analysis.run, "offset_ns", 0.0) or 0.0)  # monotonic = wall * 1e9 + offset

    def wall_of(ns: Any) -> float | None:
        return (float(ns) - offset) / 1e9 if isinstance(ns, int | float) and ns == ns else None

    rows = []
    for e in elections[elections["targeted"].astype(bool)].to_dict("records"):
        row = {"fault": f"{e.get('fault_id')} {e.get('fault')}", "group": e.get("group"),
               "fault_start_utc": utc(wall_of(e.get("fault_start_time"))),
               "elected_utc": utc(wall_of(e.get("elected_time"))),
               "leader_before": e.get("leader_before"), "leader_after": e.get("leader_after"),
               "election_s": e.get("election_s"), "resolution_s": e.get("resolution_s")}
        for extra in ("uncertainty_s", "election_uncertainty_s"):  # newer election tables carry it
            if extra in e:
                row[extra] = e[extra]
        rows.append(_round(row))
    return rows[:ROW_LIMIT]


def _round(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) and v == v else ("" if isinstance(v, float) else v))
            for k, v in row.items()}


def _rounded(frame: Any) -> list[dict[str, Any]]:
    return [_round(row) for row in frame.head(ROW_LIMIT).to_dict("records")]


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
    outage = analysis.tables.get("outage")
    if outage is not None and not outage.empty:
        columns = [c for c in ("fault", "group", "targeted", "outage_s", "last_ok_before_s", "first_ok_after_s")
                   if c in outage.columns]
        sections["Outage per fault and group (s)"] = _rounded(outage[columns])
    elections = election_rows(analysis)
    if elections:
        sections["Election time per fault, targeted group (UTC, s)"] = elections
    distribution = analysis.summary.get("outage_distribution")
    if distribution:
        sections["Outage distribution over all faults (s)"] = [_round(dict(distribution))]
    return sections
