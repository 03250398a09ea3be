"""Throughput and success rate before / during / after each fault window.

Intervals (monotonic ns, half-open [start, end)): *before* = the ``context_s`` seconds before the fault
starts; *during* = from the fault's start to its window's end, or to the targeted group's recovery (first ok
after the fault) when that is later; *after* = the ``context_s`` seconds after *during*. Rates are per second;
``success_rate`` = 1 - errored / completed (``analysis.metrics.rates``), NaN when nothing completed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..owners import op_groups
from .rates import Counter

THROUGHPUT_COLUMNS = ["fault_id", "fault", "scope", "phase", "start_time", "end_time", "duration_s", "completed",
                      "ok", "errors", "ops_per_s", "ok_per_s", "success_rate"]


def phases(windows: pd.DataFrame, context_s: float, recovery: pd.Series | None = None) -> pd.DataFrame:
    """The three intervals of every applied fault: fault_id, fault, phase, start_time, end_time (ns)."""
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if faults.empty:
        return pd.DataFrame(columns=["fault_id", "fault", "phase", "start_time", "end_time"])
    start = faults["start_time"].to_numpy(float)
    end = faults["end_time"].to_numpy(float)
    if recovery is not None:
        rec = recovery.reindex(faults["fault_id"]).to_numpy(float)
        end = np.where(np.isnan(rec), end, np.maximum(end, rec))
    end = np.maximum(end, start + 1)  # never an empty interval
    context = context_s * 1e9
    parts = [("before", start - context, start), ("during", start, end), ("after", end, end + context)]
    return pd.concat([pd.DataFrame({"fault_id": faults["fault_id"].to_numpy(), "fault": faults["fault"].to_numpy(),
                                    "phase": name, "start_time": lo, "end_time": hi}) for name, lo, hi in parts],
                     ignore_index=True)


def around_faults(ops: pd.DataFrame, windows: pd.DataFrame, context_s: float,
                  recovery: pd.Series | None = None) -> pd.DataFrame:
    """Per fault, per scope (``all`` and each group), per phase: counts, ``ops_per_s``, ``ok_per_s`` (per
    second) and ``success_rate`` (0..1). ``recovery``: first-ok time (ns) of the targeted group, by fault_id."""
    intervals = phases(windows, context_s, recovery)
    if intervals.empty or ops.empty:
        return pd.DataFrame(columns=THROUGHPUT_COLUMNS)
    groups = op_groups(ops)
    slim = ops[["type", "status", "invoke_time", "complete_time"]]
    scopes = [("all", slim)] + [(str(g), part) for g, part in slim.groupby(groups, sort=True, observed=True)
                                if g != "-"]
    frames = []
    lo, hi = intervals["start_time"].to_numpy(float), intervals["end_time"].to_numpy(float)
    seconds = (hi - lo) / 1e9
    for scope, part in scopes:
        completed, ok, errors = Counter(part).count(lo, hi)
        frame = intervals.assign(scope=scope, completed=completed, ok=ok, errors=errors, duration_s=seconds)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["ops_per_s"] = table["completed"] / table["duration_s"]
    table["ok_per_s"] = table["ok"] / table["duration_s"]
    table["success_rate"] = 1.0 - table["errors"] / table["completed"].where(table["completed"] > 0)
    table["_fault"] = table["fault_id"].str[1:].astype(int)
    table["_phase"] = table["phase"].map({"before": 0, "during": 1, "after": 2})
    table["_scope"] = table["scope"] != "all"
    table = table.sort_values(["_fault", "_scope", "scope", "_phase"], kind="stable")
    return table.reset_index(drop=True)[THROUGHPUT_COLUMNS]
