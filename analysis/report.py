"""Writing an analysis: ``analysis.json`` (verdicts, metrics, thresholds), ``analysis/*.csv`` (one per metric
table, for anyone who wants pandas) and the verdict table printed by ``tier7 analyze``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .frames import jsonable, records
from .run import Analysis

JSON_TABLES = ("windows", "outage", "elections", "validity", "throughput", "write_latency", "commit_latency_metrics")
HEADLINE = {
    "linearizability": ("keys", "operations", "info_operations", "seconds"),
    "no-lost-writes": ("acknowledged_writes", "checked", "lost"),
    "placement": ("keys", "operations", "misplaced_operations"),
    "tenant-isolation": ("tenants", "cross_tenant_probes", "refused", "reads_checked"),
    "failover": ("faults", "worst_outage_s", "worst_election_s"),
    "log-scan": ("lines", "errors_inside_faults", "warnings"),
    "client-errors": ("operations", "error_rate_outside_faults", "unhandled_exceptions"),
    "chaos-experiments": ("experiments",),
}


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = [json.dumps(jsonable(v)) if isinstance(v, (dict, list)) else v for v in out[name].tolist()]
    return out


def write_outputs(analysis: Analysis, out_dir: Path | None = None) -> dict[str, Any]:
    """Write analysis.json and the CSVs into the run folder (or ``out_dir``); returns the JSON document."""
    folder = out_dir or analysis.run.path
    csv_dir = folder / "analysis"
    csv_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in analysis.tables.items():
        path = csv_dir / f"{name}.csv"
        _csv_ready(table).to_csv(path, index=False)
        written.append(str(path.relative_to(folder)))
    document = {
        "run": str(analysis.run.path),
        "analysed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "failed": analysis.failed,
        "verdicts": [v.to_dict() for v in analysis.verdicts],
        "summary": analysis.summary,
        "metrics": {name: records(analysis.tables[name]) for name in JSON_TABLES if name in analysis.tables},
        "thresholds": analysis.run.thresholds,
        "notes": analysis.run.notes,
        "seconds": {k: round(v, 3) for k, v in analysis.seconds.items()},
        "files": {"dashboard": "dashboard.html", "csv": written},
    }
    document = jsonable(document)
    (folder / "analysis.json").write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return document


def headline(name: str, figures: dict[str, Any]) -> str:
    parts = []
    for key in HEADLINE.get(name, tuple(figures)[:3]):
        value = figures.get(key)
        if value is None:
            continue
        parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def format_table(analysis: Analysis) -> str:
    """The verdicts as a fixed-width table: criterion, verdict, reason (or headline figures for a PASS)."""
    lines = [f"{'criterion':<20} {'verdict':<15} detail", f"{'-' * 20} {'-' * 15} {'-' * 40}"]
    for verdict in analysis.verdicts:
        detail = verdict.reason or headline(verdict.name, verdict.figures)
        lines.append(f"{verdict.name:<20} {verdict.status.value:<15} {detail}")
    distribution = analysis.summary.get("outage_distribution") or {}
    if distribution.get("count"):
        lines.append("")
        lines.append("outage per fault (targeted group, s): " + ", ".join(
            f"{k.removesuffix('_s')}={distribution[k]:.3f}" for k in ("min_s", "p50_s", "p90_s", "max_s")))
        outage = analysis.tables.get("outage")
        if outage is not None and not outage.empty:
            for row in outage[outage["targeted"].astype(bool)].itertuples(index=False):
                value = f"{row.outage_s:.3f} s" if row.recovered else "not recovered"
                lines.append(f"  {row.fault_id} {row.fault} on {row.group}: {value}")
    for note in analysis.run.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
