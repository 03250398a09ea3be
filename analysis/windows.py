"""Fault windows: when each fault was in force, on the history's clock (monotonic ns) and in wall time.

From the nemesis events (process ``nemesis``; invoke = the activity starts, ok/fail = it ends; a fault
starts at its ``injected_ns`` when the action reports one, else at its invoke). Recorded probes
(``value.activity == "probe"``) are skipped. Pairing rule (docs/analysis.md):

- an activity is a *heal* when its value says ``"heal": true`` or ``"phase": "rollback"|"rollbacks"|"heal"``,
  or its name starts with one of ``HEAL_PREFIXES`` (restart, resume, heal, recover, ...);
- a heal closes the open fault windows on its node (``value.node`` / ``value.target``), else those of its
  group, else every open window; the window then ends when the heal ends;
- a fault no heal closes ends when its own activity ends; one that never ended runs to the end of the
  history (``open``); a fault whose activity failed (``fail``, or ``"applied": false`` in its value, e.g. a
  kill that did not take effect) was not applied (``applied`` False): it opens no window and is kept for the
  failover check, which FAILs on it (``detail.error`` says why);
- a heal whose activity failed closes nothing: the fault stays in force.

Without nemesis events, windows come from the Chaos Toolkit journals the same way (method actions are
faults, rollback actions heals), mapped from wall to monotonic time with the history's own offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .frames import is_missing, pylist

HEAL_PREFIXES = ("heal", "restart", "start-node", "resume", "recover", "rollback", "unpause", "remove-latency",
                 "remove-toxic", "clear", "undo", "restore")
WINDOW_COLUMNS = ["fault_id", "fault", "node", "group", "start_time", "end_time", "start_wall", "end_wall",
                  "duration_s", "applied", "open", "healed_by", "origin", "detail"]


def is_heal(name: str | None, detail: dict[str, Any]) -> bool:
    if detail.get("heal") is True or str(detail.get("phase", "")).lower() in ("rollback", "rollbacks", "heal"):
        return True
    return bool(name) and str(name).lower().startswith(HEAL_PREFIXES)


def _detail(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values:
        if isinstance(value, dict):
            out.update({k: v for k, v in value.items() if not is_missing(v)})
    return out


def _node_group(detail: dict[str, Any], node_groups: dict[str, str]) -> tuple[str | None, str | None]:
    node = detail.get("node") or detail.get("target")
    node = node if isinstance(node, str) else None
    group = detail.get("group")
    group = group if isinstance(group, str) else node_groups.get(node or "")
    return node, group


def clock_offset_ns(events: pd.DataFrame) -> float:
    """Median of ``time - wall`` over the history (ns): monotonic = wall * 1e9 + offset."""
    if events.empty or "wall" not in events.columns:
        return 0.0
    both = events[["time", "wall"]].dropna()
    if both.empty:
        return 0.0
    return float(np.median(both["time"].to_numpy(float) - both["wall"].to_numpy(float) * 1e9))


def _build(activities: list[dict[str, Any]], history_end: float | None) -> pd.DataFrame:
    """Pair faults with heals. Each activity: name, start/end (ns, end may be None), start_wall/end_wall,
    status (ok | fail | info), node, group, detail, origin."""
    windows: list[dict[str, Any]] = []
    open_windows: list[dict[str, Any]] = []
    for act in sorted(activities, key=lambda a: a["start"]):
        end = act["end"] if act["end"] is not None else act["start"]
        if is_heal(act["name"], act["detail"]):
            if act["status"] == "fail":
                continue  # a heal that failed undid nothing: the faults it meant to close stay in force
            closing = [w for w in open_windows if act["node"] and w["node"] == act["node"]] \
                or [w for w in open_windows if act["group"] and w["group"] == act["group"]] \
                or list(open_windows)
            for window in closing:
                window["end_time"], window["end_wall"] = end, act["end_wall"] or act["start_wall"]
                window["healed_by"], window["open"] = act["name"], False
                open_windows.remove(window)
            continue
        applied = act["status"] != "fail" and act["detail"].get("applied") is not False
        window = {"fault": act["name"], "node": act["node"], "group": act["group"], "start_time": act["start"],
                  "start_wall": act["start_wall"], "applied": applied, "healed_by": None,
                  "origin": act["origin"], "detail": act["detail"], "open": act["end"] is None}
        if act["end"] is None:
            window["end_time"] = history_end if history_end is not None else act["start"]
            window["end_wall"] = None
        else:
            window["end_time"], window["end_wall"] = act["end"], act["end_wall"]
        windows.append(window)
        if applied:
            open_windows.append(window)
    frame = pd.DataFrame(windows, columns=WINDOW_COLUMNS)
    if frame.empty:
        return frame
    frame["fault_id"] = [f"F{i}" for i in range(1, len(frame) + 1)]
    frame["start_time"] = frame["start_time"].astype(float)
    frame["end_time"] = frame["end_time"].astype(float)
    frame["duration_s"] = (frame["end_time"] - frame["start_time"]) / 1e9
    return frame


def from_nemesis(nemesis: pd.DataFrame, node_groups: dict[str, str],
                 history_end: float | None = None) -> pd.DataFrame:
    """Fault windows from paired nemesis operations (``analysis.ops.nemesis_operations``)."""
    acts = []
    errors = pylist(nemesis["error"]) if "error" in nemesis.columns else [None] * len(nemesis)
    rows = zip(pylist(nemesis["f"]), nemesis["invoke_time"].tolist(), pylist(nemesis["complete_time"]),
               pylist(nemesis["invoke_wall"]), pylist(nemesis["complete_wall"]), nemesis["type"].tolist(),
               nemesis["value_in"].tolist(), nemesis["value_out"].tolist(), errors, strict=True)
    for name, start, end, start_wall, end_wall, kind, value_in, value_out, error in rows:
        detail = _detail(value_in, value_out, {"error": error} if kind == "fail" and error else None)
        if detail.get("activity") == "probe":
            continue  # a recorded probe observes; it is neither a fault nor a heal
        node, group = _node_group(detail, node_groups)
        injected = detail.get("injected_ns")
        if isinstance(injected, int) and start <= injected <= (end if end is not None else injected):
            if start_wall is not None:
                start_wall += (injected - start) / 1e9
            start = injected  # the action's own timestamp of the injection (monotonic ns, same clock)
        acts.append({"name": name, "start": float(start), "end": end, "start_wall": start_wall,
                     "end_wall": end_wall, "status": kind, "node": node, "group": group, "detail": detail,
                     "origin": "nemesis"})
    return _build(acts, history_end)


def from_journals(activity_frame: pd.DataFrame, offset_ns: float, node_groups: dict[str, str]) -> pd.DataFrame:
    """Fault windows from Chaos Toolkit journal actions (probes are ignored), on the history's clock."""
    acts = []
    for row in activity_frame[activity_frame["kind"] == "action"].to_dict("records"):
        detail = _detail(row["arguments"], {"phase": row["phase"] if row["phase"] == "rollback" else None,
                                            "error": row.get("error")})
        node, group = _node_group(detail, node_groups)
        start_wall, end_wall = row["start_wall"], row["end_wall"]
        if is_missing(start_wall):
            continue
        acts.append({"name": row["name"], "start": start_wall * 1e9 + offset_ns,
                     "end": None if is_missing(end_wall) else end_wall * 1e9 + offset_ns,
                     "start_wall": start_wall, "end_wall": None if is_missing(end_wall) else end_wall,
                     "status": "fail" if row["status"] == "failed" else "ok", "node": node, "group": group,
                     "detail": detail, "origin": f"journal:{row['experiment']}"})
    return _build(acts, None)


def applied(windows: pd.DataFrame) -> pd.DataFrame:
    """The windows of faults that took effect."""
    return windows[windows["applied"].astype(bool)] if not windows.empty else windows


def outside_faults(times: np.ndarray, windows: pd.DataFrame, grace_ns: float) -> np.ndarray:
    """For each time (monotonic ns), True when it falls outside every applied fault window, each window's
    end extended by ``grace_ns`` nanoseconds (the recovery the plan allows after a fault)."""
    faults = applied(windows)
    if faults.empty:
        return np.ones(len(times), dtype=bool)
    ends = faults["end_time"].to_numpy(float) + grace_ns
    return inside_any(times, faults["start_time"].to_numpy(float), ends) < 0


def inside_any(times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each time, the index of the first window [start, end] containing it, or -1 (vectorised)."""
    result = np.full(len(times), -1, dtype=int)
    for index in range(len(starts) - 1, -1, -1):  # few windows, many times: loop over windows
        result[(times >= starts[index]) & (times <= ends[index])] = index
    return result
