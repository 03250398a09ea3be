"""Log scan of the nodes' logs (``analysis.logfiles``): JSON logs ``logs/<node>.log`` (``ts`` unix s,
``level``) and console captures ``logs/console/<node>.log`` (stdout and stderr, where tracebacks land).

Findings: every CRITICAL line (JSON or plain text, log or console) is a FAIL, fault or not. ERROR lines,
tracebacks and log lines that are not log entries ("unparseable") are FAIL outside fault windows. A window
runs from the fault's start to its end plus ``log_error_grace_s`` (analysis/plan.toml): a node that errs while
a fault is in force or settling is expected to, and such lines are listed, each attributed to its fault.
A finding without a time (console text; an unparseable line with no entry before or after it) cannot be
placed inside a window, so it counts as outside.

Evidence floor: every node the run knows about (``RunData.known_nodes``) must have a JSON log with at least
one entry. A missing or empty log is UNKNOWN, naming the nodes: the plan asks for "zero critical errors in
logs", and what a node never showed us cannot be counted as zero. (Not FAIL: a missing log is more often a
collection gap than a fault of the target, and the exit status is non-zero either way.) A FAIL found in the
logs that are present wins over the UNKNOWN. No logs at all: UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..frames import records
from ..logfiles import FINDING_COLUMNS, NodeLogs
from ..verdict import Status, Verdict
from ..windows import inside_any

NAME = "log-scan"
LINE_FIELDS = ["ts", "level", "node", "event", "msg", "file", "line"]
FINDING_FIELDS = ["kind", "node", "file", "line", "count", "text", "after_ts", "before_ts"]
ERROR_KINDS = ("unparseable", "traceback")


def window_walls(windows: pd.DataFrame, offset_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """Applied windows in unix seconds: start_wall / end_wall, from the monotonic times when a wall time is missing."""
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if faults.empty:
        return np.empty(0), np.empty(0)
    start = faults["start_wall"].astype(float).fillna((faults["start_time"] - offset_ns) / 1e9).to_numpy(float)
    end = faults["end_wall"].astype(float).fillna((faults["end_time"] - offset_ns) / 1e9).to_numpy(float)
    return start, end


def finding_windows(findings: pd.DataFrame, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each finding, the index of the window holding both its time bounds, else -1 (untimed: -1)."""
    if findings.empty:
        return np.empty(0, dtype=int)
    after = inside_any(findings["after_ts"].to_numpy(float), start, end)
    before = inside_any(findings["before_ts"].to_numpy(float), start, end)
    return np.where((after >= 0) & (after == before), after, -1)


def _attributed(inside_lines: pd.DataFrame, inside_findings: pd.DataFrame) -> list[dict]:
    """ERROR lines and findings inside windows, grouped per fault."""
    out = []
    ids = list(dict.fromkeys([*inside_lines.get("fault_id", []), *inside_findings.get("fault_id", [])]))
    for fid in ids:
        lines = inside_lines[inside_lines["fault_id"] == fid] if not inside_lines.empty else inside_lines
        found = inside_findings[inside_findings["fault_id"] == fid] if not inside_findings.empty else inside_findings
        item = {"fault_id": fid, "lines": records(lines[LINE_FIELDS], 10), "count": int(len(lines) + len(found))}
        if not found.empty:
            item["findings"] = records(found[FINDING_FIELDS], 10)
        out.append(item)
    return out


def check_logs(logs: pd.DataFrame, windows: pd.DataFrame, grace_s: float, offset_ns: float = 0.0,
               scan: NodeLogs | None = None, nodes: Iterable[str] = ()) -> Verdict:
    """Judge the log entries ``logs`` (and, when given, ``scan``'s findings and file presence) against the
    applied fault windows. ``nodes``: every node the run knows about (each needs a non-empty log)."""
    findings = scan.findings if scan is not None else pd.DataFrame(columns=FINDING_COLUMNS)
    present = (dict(scan.log_entries) if scan is not None
               else {str(n): int(c) for n, c in logs.groupby("node").size().items()} if not logs.empty else {})
    consoles = scan.console_lines if scan is not None else {}
    expected = sorted(set(nodes) | set(present))
    if not present and not consoles:
        why = f" (expected logs of {len(expected)} node(s): {', '.join(expected[:10])})" if expected else ""
        return Verdict(NAME, Status.UNKNOWN, f"no node logs (logs/<node>.log) in the run folder{why}")
    missing = [n for n in expected if n not in present]
    empty = [n for n in expected if present.get(n) == 0]
    critical = logs[logs["level"].isin(["CRITICAL", "FATAL"])]
    errors = logs[logs["level"] == "ERROR"]
    critical_found = findings[findings["kind"] == "critical"]
    error_found = findings[findings["kind"].isin(ERROR_KINDS)]
    start, end = window_walls(windows, offset_ns)
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    fault_ids = faults["fault_id"].to_numpy() if len(faults) else np.empty(0, dtype=object)
    which = inside_any(errors["ts"].to_numpy(float), start, end + grace_s)
    outside = errors[which < 0]
    inside = errors[which >= 0].assign(fault_id=fault_ids[which[which >= 0]])
    found_which = finding_windows(error_found, start, end + grace_s)
    found_outside = error_found[found_which < 0] if len(error_found) else error_found
    found_inside = (error_found[found_which >= 0].assign(fault_id=fault_ids[found_which[found_which >= 0]])
                    if len(error_found) else error_found)
    figures = {"lines": int(len(logs)), "nodes": len(present), "nodes_expected": len(expected),
               "missing_logs": missing, "empty_logs": empty, "console_captures": len(consoles),
               "console_lines": int(sum(consoles.values())),
               "critical": int(len(critical) + len(critical_found)),
               "errors": int(len(errors)), "tracebacks": int((findings["kind"] == "traceback").sum()),
               "unparseable": int((findings["kind"] == "unparseable").sum()),
               "errors_outside_faults": int(len(outside) + len(found_outside)),
               "errors_inside_faults": int(len(inside) + len(found_inside)),
               "warnings": int((logs["level"] == "WARNING").sum())}
    attributed = _attributed(inside, found_inside)
    evidence = []
    if not critical.empty:
        evidence.append({"problem": "CRITICAL log lines", "lines": records(critical[LINE_FIELDS], 20)})
    if not critical_found.empty:
        evidence.append({"problem": "CRITICAL lines in console output", "findings":
                         records(critical_found[FINDING_FIELDS], 20)})
    if not outside.empty:
        evidence.append({"problem": "ERROR log lines outside every fault window",
                         "lines": records(outside[LINE_FIELDS], 20)})
    for kind, problem in (("traceback", "tracebacks outside every fault window (console text has no time)"),
                          ("unparseable", "log lines that are not log entries, outside every fault window")):
        part = found_outside[found_outside["kind"] == kind] if len(found_outside) else found_outside
        if len(part):
            evidence.append({"problem": problem, "findings": records(part[FINDING_FIELDS], 20)})
    gaps = []
    if missing:
        gaps.append(f"no log of node(s) {', '.join(missing)}")
    if empty:
        gaps.append(f"empty log of node(s) {', '.join(empty)}")
    if evidence:
        reason = (f"{figures['critical']} CRITICAL line(s), {figures['errors_outside_faults']} ERROR line(s), "
                  "traceback(s) or unparseable line(s) outside fault windows")
        if gaps:
            evidence.append({"problem": "nodes not scanned: " + "; ".join(gaps)})
        return Verdict(NAME, Status.FAIL, reason, evidence + attributed, figures)
    if gaps:
        return Verdict(NAME, Status.UNKNOWN, "; ".join(gaps) + ": cannot tell whether they logged errors",
                       [{"problem": g} for g in gaps] + attributed, figures)
    return Verdict(NAME, Status.PASS, "", attributed, figures)
