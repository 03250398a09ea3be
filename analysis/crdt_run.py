"""The CRDT checker applied to one analysed run folder, once per key subset: shared by the ``crdt`` and
``multi-region-write`` judges and the report's CRDT sections (``analysis.sections``).

Inputs, all from the folder: the history's CRDT operations (``analysis.ops.crdt_operations``), the replicas
(``target/nodes.json``), and from ``facts/crdt.json`` the moment the writers stopped (monotonic ns) and the
multi-region rounds. Partition windows come from the analysis's fault windows (nemesis events).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import pandas as pd

from .checkers.crdt import WRITE_FUNCTIONS, CrdtCheck, check_crdt
from .facts import facts_path
from .ops import crdt_operations

PHASE = "crdt"
MRW_PREFIX = "mrw-"  # keys of the multi-region-write rounds (tier7/verify/criteria/crdt.py)
_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def phase_facts(analysis: Any) -> dict[str, Any]:
    """``facts/crdt.json`` of the analysed folder ({} when absent or unreadable)."""
    try:
        data = json.loads(facts_path(analysis.run.path, PHASE).read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def _memo(analysis: Any) -> dict[str, Any]:
    """Results kept for the life of ``analysis`` (none for an object that takes no weak reference)."""
    try:
        return _CACHE.setdefault(analysis, {})
    except TypeError:
        return {}


def operations(analysis: Any) -> pd.DataFrame:
    """The run's CRDT operations (paired once per analysis)."""
    memo = _memo(analysis)
    if "ops" not in memo:
        events = getattr(getattr(analysis, "run", None), "events", None)
        memo["ops"] = crdt_operations(events if isinstance(events, pd.DataFrame) else pd.DataFrame())
    return memo["ops"]


def check(analysis: Any, prefix: str | None = None) -> CrdtCheck:
    """The checker over every CRDT key (``prefix`` None) or the keys starting with ``prefix``."""
    memo = _memo(analysis)
    name = f"check:{prefix}"
    if name not in memo:
        ops = operations(analysis)
        if prefix is not None and not ops.empty:
            ops = ops[ops["key"].astype(object).fillna("").str.startswith(prefix).to_numpy()]
        stopped = phase_facts(analysis).get("writers_stopped_time")
        plan = getattr(analysis.run, "thresholds", {}) or {}
        window = float((plan.get("crdt") or {}).get("concurrency_window_s", 5.0))
        memo[name] = check_crdt(ops, analysis.run.nodes,
                                float(stopped) if isinstance(stopped, int | float) else None, window)
    return memo[name]


def partition_windows(analysis: Any) -> list[tuple[float, float, str]]:
    """(start, end, region) in monotonic ns of every applied partition fault of the run."""
    windows = analysis.tables.get("windows") if analysis is not None else None
    if windows is None or windows.empty:
        return []
    rows = []
    for w in windows.to_dict("records"):
        if "partition" in str(w.get("fault", "")) and w.get("applied"):
            detail = w.get("detail") if isinstance(w.get("detail"), dict) else {}
            rows.append((float(w["start_time"]), float(w["end_time"]), str(detail.get("region", "?"))))
    return rows


def during(ops: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """CRDT writes invoked inside [start, end] (monotonic ns)."""
    writes = ops[ops["f"].isin(WRITE_FUNCTIONS).to_numpy()]
    return writes[((writes["invoke_time"] >= start) & (writes["invoke_time"] <= end)).to_numpy()]
