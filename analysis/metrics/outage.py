"""Outage per fault, per Raft group: from the last acknowledged operation on the group before the fault
started to the first acknowledged one after it (seconds). This is the unavailability users see (the figure
CockroachDB's engineers ask for instead of worst-case latency), not a latency percentile.

"After the fault" means *invoked* at or after the fault's start: an operation already in flight when a
leader is killed may still be acknowledged a few milliseconds later (it was committed before the kill),
which says nothing about the group's availability after it. "Before" is by completion time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTAGE_COLUMNS = ["fault_id", "fault", "group", "targeted", "fault_start_time", "last_ok_time", "first_ok_time",
                  "outage_s", "recovered"]


def ok_times_by_group(ops: pd.DataFrame) -> dict[str, np.ndarray]:
    """Sorted completion times (monotonic ns) of acknowledged operations, per serving group."""
    ok = ops.loc[(ops["type"] == "ok") & ops["group"].notna(), ["group", "complete_time"]]
    return {str(g): np.sort(part.to_numpy(float)) for g, part in ok.groupby("group", observed=True)["complete_time"]}


def first_ok_invoked_after(ops: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per serving group: acknowledged operations' invoke times (sorted, ns) and, for each position, the
    earliest completion among the operations invoked at or after it (a suffix minimum)."""
    ok = ops.loc[(ops["type"] == "ok") & ops["group"].notna(), ["group", "invoke_time", "complete_time"]]
    out = {}
    for group, part in ok.groupby("group", observed=True):
        part = part.sort_values("invoke_time", kind="stable")
        completes = part["complete_time"].to_numpy(float)
        out[str(group)] = (part["invoke_time"].to_numpy(float), np.minimum.accumulate(completes[::-1])[::-1])
    return out


def outage_per_fault(ops: pd.DataFrame, windows: pd.DataFrame, groups: list[str] | None = None,
                     born: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per (applied fault, group): ``outage_s`` = the first ok completion of an operation invoked at or
    after the fault start, minus the last ok completion before the start, in seconds. ``recovered`` is False
    (and ``outage_s`` NaN) when no such ok came. ``targeted`` marks the fault's own group (every group when
    the fault names none). ``born``: when each group was first seen (monotonic ns: its first topology sample
    or recorded operation); a group first seen after a fault that names no group started (one a later
    scale-out added) has no row for that fault. A fault's own named group always keeps its row."""
    times = ok_times_by_group(ops)
    after = first_ok_invoked_after(ops)
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    names = sorted(set(groups or []) | set(times))
    if faults.empty or not names:
        return pd.DataFrame(columns=OUTAGE_COLUMNS)
    starts = faults["start_time"].to_numpy(float)
    parts = []
    for group in names:
        series = times.get(group, np.empty(0))
        index = np.searchsorted(series, starts, side="left")
        last = series[np.maximum(index - 1, 0)] if len(series) else np.full(len(starts), np.nan)
        last = np.where(index > 0, last, np.nan)
        invokes, suffix_first = after.get(group, (np.empty(0), np.empty(0)))
        position = np.searchsorted(invokes, starts, side="left")
        first = suffix_first[np.minimum(position, len(invokes) - 1)] if len(invokes) else np.full(len(starts), np.nan)
        first = np.where(position < len(invokes), first, np.nan)
        parts.append(pd.DataFrame({
            "fault_id": faults["fault_id"].to_numpy(), "fault": faults["fault"].to_numpy(), "group": group,
            "targeted": (faults["group"].isna() | (faults["group"] == group)).to_numpy(),
            "named": (faults["group"] == group).to_numpy(),
            "fault_start_time": starts, "last_ok_time": last, "first_ok_time": first,
        }))
    frame = pd.concat(parts, ignore_index=True)
    if born:
        unborn = (frame["fault_start_time"] < frame["group"].map(born).fillna(np.inf)) & ~frame["named"]
        frame = frame[~unborn]
    frame["outage_s"] = (frame["first_ok_time"] - frame["last_ok_time"]) / 1e9
    frame["recovered"] = frame["first_ok_time"].notna()
    return frame.sort_values(["fault_start_time", "group"], kind="stable").reset_index(drop=True)[OUTAGE_COLUMNS]


def outage_distribution(outages: pd.DataFrame) -> dict[str, float | int | None]:
    """Distribution over the run's faults of the targeted groups' outages (seconds): count, min, p50, p90,
    max, mean, and how many faults never saw an ok again (``unrecovered``)."""
    targeted = outages[outages["targeted"].astype(bool)] if not outages.empty else outages
    values = targeted["outage_s"].dropna() if not targeted.empty else pd.Series(dtype=float)
    unrecovered = int((~targeted["recovered"].astype(bool)).sum()) if not targeted.empty else 0
    if values.empty:
        return {"count": 0, "unrecovered": unrecovered}
    return {"count": int(values.size), "unrecovered": unrecovered, "min_s": float(values.min()),
            "p50_s": float(values.quantile(0.5)), "p90_s": float(values.quantile(0.9)),
            "max_s": float(values.max()), "mean_s": float(values.mean())}
