"""Operations from events: each invoke joined with its completion (same source file, process and ``op``).

One row per operation, vectorised (a merge, no per-row loop). Times: ``invoke_time`` / ``complete_time`` in
monotonic ns (``complete_time`` is NaN when the operation never completed: its outcome is unknown, so its
``type`` is ``info``); ``invoke_wall`` / ``complete_wall`` in unix seconds; ``latency_s`` in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frames import column, flag

KEYS = ["source", "process", "op"]
CATEGORICAL = ["type", "f", "group", "node", "error", "region", "protocol", "source"]
INVOKE_FIELDS = ["f", "key", "tenant", "region", "value", "cross_tenant", "caller", "consistency", "once"]
COMPLETE_FIELDS = ["type", "time", "wall", "value", "node", "group", "protocol", "error", "status", "latency_ms",
                   "exception"]
OP_COLUMNS = ["source", "process", "op", "f", "key", "tenant", "region", "cross_tenant", "caller", "consistency", "once",
              "type",
              "invoke_time", "complete_time", "invoke_wall", "complete_wall", "latency_s", "value_in", "value_out",
              "node", "group", "protocol", "error", "status", "exception", "completed"]


def is_nemesis(events: pd.DataFrame) -> pd.Series:
    """Rows written by the fault injector (process ``nemesis`` or ``nemesis-*``); decided once per distinct
    process name, not per row."""
    codes, names = pd.factorize(column(events, "process"))
    hits = np.array([str(name).startswith("nemesis") for name in names] + [False], dtype=bool)
    return pd.Series(hits[codes], index=events.index)  # code -1 (missing) picks the trailing False


def _keys(frame: pd.DataFrame) -> pd.Series:
    """One int64 per (source, process, op). A missing ``op`` is taken from the order of events: with one
    operation outstanding per process, a completion belongs to the process's latest invoke."""
    writer = frame.groupby([column(frame, "source").fillna(""), column(frame, "process").fillna("")],
                           sort=False, dropna=False).ngroup().astype("int64")
    op = pd.to_numeric(column(frame, "op"), errors="coerce")
    if op.isna().any():
        derived = (frame["type"] == "invoke").astype("int64").groupby(writer).cumsum()
        op = op.fillna(-derived.astype(float))
    return writer * (1 << 32) + (op.astype("int64") + (1 << 31))


def pair(events: pd.DataFrame, rows: pd.Series | None = None, invoke_extra: tuple[str, ...] = (),
         complete_extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Operations (one row per invoke) from a merged event frame (optionally only ``rows``, a boolean mask);
    see the module doc for the columns. Joined on one int64 key, so a million events pair in about a second.
    ``invoke_extra`` / ``complete_extra``: further fields taken from the invoke / the completion (appended as
    columns of those names; missing fields are None)."""
    out_columns = OP_COLUMNS + [c for c in dict.fromkeys(invoke_extra + complete_extra) if c not in OP_COLUMNS]
    if events.empty or "type" not in events.columns:
        return pd.DataFrame(columns=out_columns)
    wanted = [c for c in dict.fromkeys(KEYS + INVOKE_FIELDS + COMPLETE_FIELDS + list(invoke_extra)
                                       + list(complete_extra)) if c in events.columns]
    frame = events.loc[rows, wanted] if rows is not None else events[wanted]
    if frame.empty:
        return pd.DataFrame(columns=out_columns)
    key = _keys(frame)
    kind = frame["type"]
    is_invoke = (kind == "invoke").to_numpy()
    is_done = kind.isin(["ok", "fail", "info"]).to_numpy()
    invokes = frame[is_invoke]
    left = pd.DataFrame({"_key": key[is_invoke].to_numpy()}, index=invokes.index)
    for name in KEYS + INVOKE_FIELDS + list(invoke_extra):
        left[name] = column(invokes, name)
    left["invoke_time"] = invokes["time"]
    left["invoke_wall"] = column(invokes, "wall")
    done = frame[is_done]
    done_key = key[is_done]
    first = ~done_key.duplicated(keep="first").to_numpy()
    done, done_key = done[first], done_key[first]
    right = pd.DataFrame({"_key": done_key.to_numpy()}, index=done.index)
    for name in COMPLETE_FIELDS:
        right[name if name not in ("time", "wall", "value") else f"c_{name}"] = column(done, name)
    for name in complete_extra:
        if name not in invoke_extra:
            right[name] = column(done, name)
    ops = left.merge(right, on="_key", how="left", sort=False)
    ops = ops.rename(columns={"value": "value_in", "c_value": "value_out", "c_time": "complete_time",
                              "c_wall": "complete_wall"})
    ops["source"] = ops["source"].fillna("")
    ops["completed"] = ops["type"].notna()
    ops["type"] = ops["type"].fillna("info")
    ops["cross_tenant"] = flag(ops, "cross_tenant")
    ops["once"] = flag(ops, "once")  # a write-once key's only write (the load's set-full share)
    ops["invoke_time"] = ops["invoke_time"].astype("int64")
    ops["complete_time"] = ops["complete_time"].astype(float)
    ops["latency_s"] = (ops["complete_time"] - ops["invoke_time"]) / 1e9
    ops["status"] = pd.to_numeric(ops["status"], errors="coerce")
    ops["op"] = pd.to_numeric(ops["op"], errors="coerce").astype("Int64")
    for name in CATEGORICAL:  # few distinct values: comparisons and group-bys on codes, not strings
        ops[name] = ops[name].astype("category")
    return ops.sort_values("invoke_time", kind="stable").reset_index(drop=True)[out_columns]


def client_operations(events: pd.DataFrame, nemesis: pd.Series | None = None) -> pd.DataFrame:
    """Operations of the load (everything but the nemesis; ``nemesis`` = ``is_nemesis(events)`` if known)."""
    if events.empty:
        return pair(events)
    return pair(events, ~(nemesis if nemesis is not None else is_nemesis(events)))


def nemesis_operations(events: pd.DataFrame, nemesis: pd.Series | None = None) -> pd.DataFrame:
    """Fault activities: invoke = the fault starts, completion = the activity ends."""
    if events.empty:
        return pair(events)
    return pair(events, nemesis if nemesis is not None else is_nemesis(events))


CRDT_INVOKE_FIELDS = ("crdt", "op_id", "final")
CRDT_COMPLETE_FIELDS = ("timestamp", "removed_tags", "version_vector")


def crdt_operations(events: pd.DataFrame) -> pd.DataFrame:
    """The CRDT operations (``f`` starting with ``crdt_``) paired like ``pair``, with the CRDT fields
    (``crdt``, ``op_id``, ``final`` from the invoke; ``timestamp``, ``removed_tags``, ``version_vector``
    from the completion). Empty (with those columns) for a history without CRDT operations."""
    if events.empty or "f" not in events.columns:
        return pair(events.iloc[0:0], None, CRDT_INVOKE_FIELDS, CRDT_COMPLETE_FIELDS)
    codes, names = pd.factorize(events["f"])
    hits = np.array([str(name).startswith("crdt_") for name in names] + [False], dtype=bool)
    rows = pd.Series(hits[codes], index=events.index)
    if not rows.any():
        return pair(events.iloc[0:0], None, CRDT_INVOKE_FIELDS, CRDT_COMPLETE_FIELDS)
    return pair(events, rows & ~is_nemesis(events), CRDT_INVOKE_FIELDS, CRDT_COMPLETE_FIELDS)
