"""Log scan of the nodes' JSON logs (``logs/<node>.log``: ``ts`` unix s, ``level``).

PASS: no CRITICAL line anywhere and no ERROR line outside a fault window. A window, for this purpose, runs
from the fault's start to its end plus ``log_error_grace_s`` (thresholds.toml): a node that errs while a
fault is in force or settling is expected to. FAIL: the evidence lists the CRITICAL lines and the ERROR
lines outside windows; ERROR lines inside windows are listed too, each attributed to its fault. UNKNOWN:
the run folder has no node logs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..frames import records
from ..verdict import Status, Verdict
from ..windows import inside_any

NAME = "log-scan"
LINE_FIELDS = ["ts", "level", "node", "event", "msg", "file", "line"]


def window_walls(windows: pd.DataFrame, offset_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """Applied windows in unix seconds: start_wall / end_wall, from the monotonic times when a wall time is missing."""
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if faults.empty:
        return np.empty(0), np.empty(0)
    start = faults["start_wall"].astype(float).fillna((faults["start_time"] - offset_ns) / 1e9).to_numpy(float)
    end = faults["end_wall"].astype(float).fillna((faults["end_time"] - offset_ns) / 1e9).to_numpy(float)
    return start, end


def check_logs(logs: pd.DataFrame, windows: pd.DataFrame, grace_s: float, offset_ns: float = 0.0) -> Verdict:
    if logs.empty:
        return Verdict(NAME, Status.UNKNOWN, "no node logs (logs/<node>.log) in the run folder")
    critical = logs[logs["level"].isin(["CRITICAL", "FATAL"])]
    errors = logs[logs["level"] == "ERROR"]
    start, end = window_walls(windows, offset_ns)
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    which = inside_any(errors["ts"].to_numpy(float), start, end + grace_s)
    outside = errors[which < 0]
    inside = errors[which >= 0].assign(fault_id=faults["fault_id"].to_numpy()[which[which >= 0]] if len(faults) else [])
    figures = {"lines": int(len(logs)), "nodes": int(logs["node"].nunique()), "critical": int(len(critical)),
               "errors": int(len(errors)), "errors_outside_faults": int(len(outside)),
               "errors_inside_faults": int(len(inside)), "warnings": int((logs["level"] == "WARNING").sum())}
    attributed = [{"fault_id": fid, "lines": records(part[LINE_FIELDS], 10), "count": int(len(part))}
                  for fid, part in inside.groupby("fault_id", sort=False)] if not inside.empty else []
    if critical.empty and outside.empty:
        return Verdict(NAME, Status.PASS, "", attributed, figures)
    evidence = []
    if not critical.empty:
        evidence.append({"problem": "CRITICAL log lines", "lines": records(critical[LINE_FIELDS], 20)})
    if not outside.empty:
        evidence.append({"problem": "ERROR log lines outside every fault window",
                         "lines": records(outside[LINE_FIELDS], 20)})
    return Verdict(NAME, Status.FAIL, f"{len(critical)} CRITICAL line(s), {len(outside)} ERROR line(s) outside fault "
                   "windows", evidence + attributed, figures)
