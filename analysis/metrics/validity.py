"""The minimum-load validity gate: a fault measured while the load was too thin to see it is UNKNOWN.

For each applied fault and each group it targets, from the acknowledged operations on that group (serving
group, monotonic ns): the ok rate in the ``context_s`` before the fault (per second), the largest gap between
consecutive oks in that interval including the gap up to the fault start (seconds: the outage figure cannot
be finer), and for how long after the fault start operations were still invoked on the group (seconds; ring
owner when the operation failed without naming a group). Thresholds: ``[validity]`` in analysis/plan.toml.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..owners import op_groups
from .outage import ok_times_by_group

GATE_COLUMNS = ["fault_id", "fault", "group", "ok_before", "ok_per_s_before", "max_ok_gap_before_s",
                "load_after_s", "valid", "reason"]


def load_gate(ops: pd.DataFrame, windows: pd.DataFrame, thresholds: dict[str, dict[str, Any]],
              run_start: float | None = None) -> pd.DataFrame:
    """One row per (applied fault, targeted group) with the figures above, ``valid`` and why not."""
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if faults.empty:
        return pd.DataFrame(columns=GATE_COLUMNS)
    gate, context = thresholds["validity"], float(thresholds["windows"]["context_s"]) * 1e9
    times = ok_times_by_group(ops)
    groups = op_groups(ops)
    last_invoke = (ops["invoke_time"].astype(float).groupby(groups, observed=True).max().to_dict()
                   if not ops.empty else {})
    origin = run_start if run_start is not None else (float(ops["invoke_time"].min()) if not ops.empty else 0.0)
    all_groups = sorted(set(times) | {g for g in last_invoke if g != "-"})
    rows = []
    for fault in faults.itertuples(index=False):  # few faults; the work per fault is vectorised
        start = float(fault.start_time)
        targets = [fault.group] if isinstance(fault.group, str) else all_groups
        for group in targets:
            series = times.get(group, np.empty(0))
            lo = max(start - context, origin)
            inside = series[(series >= lo) & (series < start)]
            span_s = max((start - lo) / 1e9, 1e-9)
            gaps = np.diff(np.concatenate([[lo], inside, [start]])) / 1e9
            after_s = (last_invoke.get(group, -np.inf) - start) / 1e9
            reasons = []
            if inside.size / span_s < gate["min_ok_per_s_before"]:
                reasons.append(f"{inside.size / span_s:.1f} ok/s on {group} before the fault "
                               f"(< {gate['min_ok_per_s_before']})")
            if gaps.max() > gate["max_ok_gap_before_s"]:
                reasons.append(f"a {gaps.max():.2f} s gap between acknowledged operations on {group} before the "
                               f"fault (> {gate['max_ok_gap_before_s']} s)")
            if after_s < gate["min_load_after_s"]:
                reasons.append(f"load on {group} stopped {max(after_s, 0):.2f} s after the fault started "
                               f"(< {gate['min_load_after_s']} s)")
            rows.append({"fault_id": fault.fault_id, "fault": fault.fault, "group": group,
                         "ok_before": int(inside.size), "ok_per_s_before": inside.size / span_s,
                         "max_ok_gap_before_s": float(gaps.max()), "load_after_s": float(after_s),
                         "valid": not reasons, "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=GATE_COLUMNS)
