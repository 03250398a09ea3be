"""Operations from events: each invoke joined with its completion (same source file, process and ``op``).

One row per operation, vectorised (a merge, no per-row loop). Times: ``invoke_time`` / ``complete_time`` in
monotonic ns (``complete_time`` is NaN when the operation never completed: its outcome is unknown, so its
``type`` is ``info``); ``invoke_wall`` / ``complete_wall`` in unix seconds; ``latency_s`` in seconds.
"""

from __future__ import annotations

import pandas as pd

from .frames import column, flag

KEYS = ["source", "process", "op"]
INVOKE_FIELDS = ["f", "key", "tenant", "region", "value", "cross_tenant", "consistency"]
COMPLETE_FIELDS = ["type", "time", "wall", "value", "node", "group", "protocol", "error", "status", "latency_ms",
                   "exception"]
OP_COLUMNS = ["source", "process", "op", "f", "key", "tenant", "region", "cross_tenant", "consistency", "type",
              "invoke_time", "complete_time", "invoke_wall", "complete_wall", "latency_s", "value_in", "value_out",
              "node", "group", "protocol", "error", "status", "exception", "completed"]


def is_nemesis(events: pd.DataFrame) -> pd.Series:
    """Rows written by the fault injector (process ``nemesis`` or ``nemesis-*``)."""
    return column(events, "process").astype(str).str.startswith("nemesis")


def _with_sequence(events: pd.DataFrame) -> pd.DataFrame:
    """Fill a missing ``op`` from the order of events: with one operation outstanding per process, a
    completion belongs to the process's latest invoke."""
    frame = events.copy()
    frame["source"] = column(frame, "source").fillna("")
    if "op" in frame.columns and frame["op"].notna().all():
        return frame
    derived = (frame["type"] == "invoke").astype(int).groupby([frame["source"], frame["process"]]).cumsum()
    frame["op"] = column(frame, "op").astype(float).fillna(-derived.astype(float))
    return frame


def pair(events: pd.DataFrame) -> pd.DataFrame:
    """Operations (one row per invoke) from a merged event frame; see the module doc for the columns."""
    if events.empty or "type" not in events.columns:
        return pd.DataFrame(columns=OP_COLUMNS)
    frame = _with_sequence(events)
    frame["op"] = frame["op"].astype(float)
    invokes = frame[frame["type"] == "invoke"]
    done = frame[frame["type"].isin(["ok", "fail", "info"])].drop_duplicates(KEYS, keep="first")
    left = pd.DataFrame({k: invokes[k] for k in KEYS})
    for name in INVOKE_FIELDS:
        left[name] = column(invokes, name)
    left["invoke_time"] = invokes["time"]
    left["invoke_wall"] = column(invokes, "wall")
    right = pd.DataFrame({k: done[k] for k in KEYS})
    for name in COMPLETE_FIELDS:
        right[name if name not in ("time", "wall", "value") else f"c_{name}"] = column(done, name)
    ops = left.merge(right, on=KEYS, how="left", sort=False)
    ops = ops.rename(columns={"value": "value_in", "c_value": "value_out", "c_time": "complete_time",
                              "c_wall": "complete_wall"})
    ops["completed"] = ops["type"].notna()
    ops["type"] = ops["type"].fillna("info")
    ops["cross_tenant"] = flag(ops, "cross_tenant")
    ops["invoke_time"] = ops["invoke_time"].astype("int64")
    ops["complete_time"] = ops["complete_time"].astype(float)
    ops["latency_s"] = (ops["complete_time"] - ops["invoke_time"]) / 1e9
    ops["status"] = pd.to_numeric(ops["status"], errors="coerce")
    return ops.sort_values("invoke_time", kind="stable").reset_index(drop=True)[OP_COLUMNS]


def client_operations(events: pd.DataFrame) -> pd.DataFrame:
    """Operations of the load (everything but the nemesis)."""
    if events.empty:
        return pair(events)
    return pair(events[~is_nemesis(events)])


def nemesis_operations(events: pd.DataFrame) -> pd.DataFrame:
    """Fault activities: invoke = the fault starts, completion = the activity ends."""
    if events.empty:
        return pair(events)
    return pair(events[is_nemesis(events)])
