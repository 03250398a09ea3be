"""Rebalance metrics of the scaling phase (pandas), per operation (add / remove a group):

- ``rebalance_s``: the admin call (the driver's return) to the first ``GET /v1/rebalance`` answer that said
  ``finished`` for the new epoch; ``placement_s``: the admin call to the moment the harness's placement
  reads of every key agreed on every member of its owner group (both seconds, harness clock);
- ``keys_moved`` (the target's count) vs ``ideal_moves``: keys of the history whose owner differs between
  the ring before and after (both rings computed by the harness); ``moved_vs_ideal`` their ratio;
- keys per group before / after (harness ring over the history's keys): max and mean;
- acknowledged operations per group per second before the driver call and after the rebalance finished
  ([windows] context_s each side): max and mean over groups;
- throughput (acknowledged operations per second) and error rate (errored / completed,
  analysis.metrics.rates) of the load during the move (admin call -> finished) and before it.
Times in the history's clock (monotonic ns).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..scaling import keys_per_group, kv_writes, operation, ring_after, ring_before
from .rates import errored, event_time

OPERATIONS = ("add", "remove")
HARNESS_PROCESSES = ("verify-scaling-place-", "verify-final-")  # the harness's own reads: not load


def load_ops(ops: pd.DataFrame) -> pd.DataFrame:
    """Client operations except the harness's placement and final reads."""
    process = ops["process"].astype(object).fillna("").astype(str)
    return ops[~process.str.startswith(HARNESS_PROCESSES)]


def _rate(ops: pd.DataFrame, start: float, end: float) -> dict[str, Any]:
    """Acknowledged operations per second and error rate of ``ops`` that ended in [start, end) (ns)."""
    seconds = max((end - start) / 1e9, 1e-9)
    times = event_time(ops)
    inside = ops[(times >= start) & (times < end)]
    completed = int(len(inside))
    ok = int((inside["type"] == "ok").sum())
    errors = int(errored(inside).sum()) if completed else 0
    return {"seconds": round(seconds, 3), "completed": completed, "ok": ok, "ok_per_s": round(ok / seconds, 2),
            "errors": errors, "error_rate": round(errors / completed, 4) if completed else None}


def _per_group(ops: pd.DataFrame, start: float, end: float) -> dict[str, Any]:
    """Acknowledged operations per second per serving group in [start, end): the rates, max and mean."""
    times = event_time(ops)
    inside = ops[(times >= start) & (times < end) & (ops["type"] == "ok") & ops["group"].notna()]
    seconds = max((end - start) / 1e9, 1e-9)
    rates = (inside.groupby(inside["group"].astype(str)).size() / seconds).round(2).to_dict()
    values = list(rates.values())
    return {"ok_per_s": rates, "max": max(values) if values else None,
            "mean": round(float(np.mean(values)), 2) if values else None}


def _spread(counts: dict[str, int]) -> dict[str, Any]:
    values = list(counts.values())
    return {"per_group": counts, "max": max(values) if values else None,
            "mean": round(float(np.mean(values)), 2) if values else None}


def _seconds(later: Any, earlier: Any) -> float | None:
    if not isinstance(later, int | float) or not isinstance(earlier, int | float):
        return None
    return round((later - earlier) / 1e9, 3)


def operation_metrics(ops: pd.DataFrame, op: dict[str, Any], context_s: float,
                      load_end: float | None = None) -> dict[str, Any]:
    """The metrics of one scaling operation (see the module doc); ``load_end`` (ns): when the load stopped
    (the window after the move is cut there)."""
    admin = op.get("admin_time")
    rebalance = op.get("rebalance") or {}
    placement = op.get("placement") or {}
    finished = rebalance.get("finished_time")
    before, after = ring_before(op), ring_after(op)
    writes = kv_writes(ops)
    if isinstance(admin, int | float):
        writes = writes[writes["invoke_time"] < admin]
    keys = list(dict.fromkeys(zip(writes["tenant"].astype(str), writes["key"].astype(str), strict=True)))
    ideal = sum(1 for t, k in keys if before and after and before.group_for(t, k) != after.group_for(t, k))
    statuses = [s for s in rebalance.get("statuses") or [] if isinstance(s, dict)]
    last = statuses[-1] if statuses else {}
    moved = last.get("keys_moved") if isinstance(last.get("keys_moved"), int) else None
    load = load_ops(ops)
    context_ns = context_s * 1e9
    call, end = op.get("call_time"), op.get("end_time") or finished
    out: dict[str, Any] = {
        "action": op.get("action"), "group": op.get("group"), "outcome": rebalance.get("outcome"),
        "rebalance_s": _seconds(finished, admin), "placement_s": _seconds(placement.get("agreed_time"), admin),
        "driver_call_s": _seconds(admin, call), "keys_moved": moved, "keys_to_move": last.get("keys_to_move"),
        "bytes_moved": last.get("bytes_moved"), "ideal_moves": ideal, "history_keys": len(keys),
        "moved_vs_ideal": round(moved / ideal, 3) if moved is not None and ideal else None,
        "keys_before": _spread(keys_per_group(keys, before)), "keys_after": _spread(keys_per_group(keys, after)),
    }
    if isinstance(call, int | float) and isinstance(admin, int | float):
        out["load_before"] = _rate(load, call - context_ns, call)
        out["groups_before"] = _per_group(load, call - context_ns, call)
        move_end = finished if isinstance(finished, int | float) else end
        if isinstance(move_end, int | float):
            out["load_during"] = _rate(load, admin, max(move_end, admin + 1))
        if isinstance(move_end, int | float):
            after_end = move_end + context_ns
            if isinstance(load_end, int | float) and move_end < load_end < after_end:
                after_end = load_end
            out["groups_after"] = _per_group(load, move_end, after_end)
        if isinstance(end, int | float):
            out["load_during_operation"] = _rate(load, call, end)
    return out


def rebalance_metrics(ops: pd.DataFrame, facts: dict[str, Any] | None, context_s: float) -> list[dict[str, Any]]:
    """``operation_metrics`` of every scaling operation the phase recorded, in order."""
    load_end = ((facts or {}).get("load") or {}).get("stopped_time")
    return [operation_metrics(ops, op, context_s, load_end) for action in OPERATIONS
            if (op := operation(facts, action)) is not None]


def scaling_windows(facts: dict[str, Any] | None) -> pd.DataFrame:
    """One row per operation: action, group, start/end (monotonic ns: driver call -> operation's end or the
    rebalance's finish) for shading dashboards and restricting checks."""
    rows = []
    for action in OPERATIONS:
        op = operation(facts, action)
        if op is None or not isinstance(op.get("call_time"), int | float):
            continue
        end = op.get("end_time") or (op.get("rebalance") or {}).get("finished_time") or op.get("admin_time")
        rows.append({"action": action, "group": op.get("group"), "start_time": float(op["call_time"]),
                     "end_time": float(end or op["call_time"]),
                     "finished_time": (op.get("rebalance") or {}).get("finished_time")})
    return pd.DataFrame(rows, columns=["action", "group", "start_time", "end_time", "finished_time"])
