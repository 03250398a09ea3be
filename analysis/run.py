"""One analysis of a run folder: load it, compute the metrics, run every checker.

``analyze(run_dir)`` returns an ``Analysis``: the verdicts (``analysis.verdict.Verdict``) and the metric
frames (times in monotonic ns, durations in seconds, latencies in milliseconds, as their columns say).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checkers.client_errors import check_client_errors
from .checkers.experiments import check_experiments
from .checkers.failover import check_failover
from .checkers.isolation import check_isolation
from .checkers.linearizability import check_linearizability
from .checkers.logscan import check_logs
from .checkers.lost_writes import check_lost_writes
from .checkers.placement import check_placement
from .load import RunData, load_run
from .metrics.election import election_per_fault
from .metrics.latency import write_latency_ms
from .metrics.outage import outage_distribution, outage_per_fault
from .metrics.prom import commit_latency_ms
from .metrics.throughput import around_faults
from .metrics.timeseries import per_group
from .metrics.validity import load_gate
from .verdict import Verdict


@dataclass
class Analysis:
    run: RunData
    verdicts: list[Verdict]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(v.failed for v in self.verdicts)


def first_seen(topology: pd.DataFrame, ops: pd.DataFrame) -> dict[str, float]:
    """When each group was first seen (monotonic ns): its first topology sample or recorded operation."""
    seen: dict[str, float] = {}
    for frame, column in ((topology, "time"), (ops, "invoke_time")):
        if not frame.empty and "group" in frame:
            for group, first in frame.dropna(subset=["group"]).groupby("group", observed=True)[column].min().items():
                seen[str(group)] = min(seen.get(str(group), np.inf), float(first))
    return seen


def compute_metrics(run: RunData) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Every metric table of the run (see each module for units) and a small summary for analysis.json."""
    thresholds = run.thresholds
    groups = sorted({n["group"] for n in run.nodes if n.get("group")})
    born = first_seen(run.topology, run.ops)
    outages = outage_per_fault(run.ops, run.windows, groups, born)
    targeted = outages[outages["targeted"].astype(bool)] if not outages.empty else outages
    recovery = targeted.groupby("fault_id")["first_ok_time"].max() if not targeted.empty else None
    tables = {
        "windows": run.windows,
        "outage": outages,
        "elections": election_per_fault(run.topology, run.windows),
        "validity": load_gate(run.ops, run.windows, thresholds, run.start_time),
        "throughput": around_faults(run.ops, run.windows, float(thresholds["windows"]["context_s"]), recovery),
        "write_latency": write_latency_ms(run.ops),
        "commit_latency_metrics": commit_latency_ms(run.metrics),
        "timeseries": per_group(run.ops, run.start_time),
    }
    summary = {"outage_distribution": outage_distribution(outages),
               "operations": int(len(run.ops)), "events": int(len(run.events)),
               "faults": int(len(run.windows)), "topology_samples": int(run.topology["time"].nunique())}
    return tables, summary


def run_checkers(run: RunData, tables: dict[str, pd.DataFrame]) -> list[Verdict]:
    thresholds = run.thresholds
    return [
        check_linearizability(run.ops, float(thresholds["linearizability"]["time_budget_s"])),
        check_lost_writes(run.ops),
        check_placement(run.ops, run.ring),
        check_isolation(run.ops, run.windows, float(thresholds["windows"]["client_error_grace_s"])),
        check_failover(tables["outage"], tables["elections"], tables["validity"], run.windows, thresholds,
                       run.journals),
        check_logs(run.logs, run.windows, float(thresholds["windows"]["log_error_grace_s"]), run.offset_ns,
                   run.node_logs, run.known_nodes),
        check_client_errors(run.ops, run.windows, thresholds, run.locust_exceptions),
        check_experiments(run.journals),
    ]


def analyze(run_dir: str | Path) -> Analysis:
    """Load, measure and check one run folder (raises Tier7Error for a missing or malformed folder)."""
    seconds: dict[str, float] = {}
    started = time.monotonic()
    run = load_run(run_dir)
    seconds["load"] = time.monotonic() - started
    started = time.monotonic()
    tables, summary = compute_metrics(run)
    seconds["metrics"] = time.monotonic() - started
    started = time.monotonic()
    verdicts = run_checkers(run, tables)
    seconds["checkers"] = time.monotonic() - started
    return Analysis(run, verdicts, tables, summary, seconds)
