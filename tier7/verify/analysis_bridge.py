"""Runs the offline analysis (package ``analysis``) on the verify run folder and writes its outputs
(analysis.json, analysis/*.csv, dashboard.html) so the evidence zip carries them."""

from __future__ import annotations

import time
from typing import Any

from analysis.plots import write_dashboard
from analysis.report import write_outputs
from analysis.run import Analysis, analyze
from analysis.verdict import Status, Verdict

from ..errors import Tier7Error
from .context import RunContext


def analyse(ctx: RunContext) -> Analysis | None:
    ctx.progress.set_phase("analysis: checkers and metrics")
    try:
        result = analyze(ctx.run_dir)
    except Tier7Error as exc:
        ctx.facts["analysis_error"] = str(exc)
        return None
    write_outputs(result)
    write_dashboard(result)
    ctx.facts["metrics"] = report_metrics(result)
    ctx.facts["fault_timeline"] = fault_timeline(result)
    return result


def fault_timeline(result: Analysis) -> list[dict[str, Any]]:
    windows = result.tables.get("windows")
    if windows is None or windows.empty:
        return []
    rows = []
    for w in windows.to_dict("records"):
        wall = w.get("start_wall")
        rows.append({"start_utc": time.strftime("%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1000):03d}"
                     if isinstance(wall, float) else "?", "fault": w.get("fault"),
                     "target": " ".join(str(x) for x in (w.get("node"), w.get("group")) if x),
                     "duration_s": round(w["duration_s"], 3) if isinstance(w.get("duration_s"), float) else "",
                     "outcome": ("applied" if w.get("applied") else "failed") +
                                (f", healed by {w['healed_by']}" if w.get("healed_by") else "")})
    return rows


def verdict_named(analysis: Analysis | None, name: str) -> Verdict | None:
    if analysis is None:
        return None
    return next((v for v in analysis.verdicts if v.name == name), None)


def report_metrics(result: Analysis) -> dict[str, Any]:
    """The report's metric tables (consensus latency, failover, commit latency from /metrics)."""
    sections: dict[str, Any] = {}
    latency = result.tables.get("write_latency")
    if latency is not None and not latency.empty:
        sections["Consensus latency: acknowledged writes per group (ms)"] = _rounded(latency)
    commit = result.tables.get("commit_latency_metrics")
    if commit is not None and not commit.empty:
        sections["Commit latency from the nodes' /metrics (ms)"] = _rounded(commit)
    outage = result.tables.get("outage")
    if outage is not None and not outage.empty:
        columns = [c for c in ("fault", "group", "targeted", "outage_s", "last_ok_before_s", "first_ok_after_s")
                   if c in outage.columns]
        sections["Outage per fault and group (s)"] = _rounded(outage[columns])
    elections = result.tables.get("elections")
    if elections is not None and not elections.empty:
        sections["Election time per fault (s)"] = _rounded(elections)
    distribution = result.summary.get("outage_distribution")
    if distribution:
        sections["Outage distribution over all faults (s)"] = [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in distribution.items()}]
    return sections



def _rounded(frame: Any) -> list[dict[str, Any]]:
    rows = frame.head(40).to_dict("records")
    return [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def from_analysis(analysis: Analysis | None, name: str, criterion_id: str,
                  not_run_reason: str = "analysis did not run") -> Verdict:
    """The analysis verdict ``name`` renamed for the criterion (UNKNOWN when analysis could not run)."""
    verdict = verdict_named(analysis, name)
    if verdict is None:
        return Verdict(criterion_id, Status.UNKNOWN, not_run_reason)
    return Verdict(criterion_id, verdict.status, verdict.reason, verdict.evidence, verdict.figures)
