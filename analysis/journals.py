"""Chaos Toolkit journals (``<run>/chaos/<experiment>/journal.json``, chaostoolkit-lib's journal format).

A journal has ``start``/``end`` (ISO 8601, UTC), ``status`` (completed | failed | aborted | interrupted),
``deviated``, ``steady_states.before|after.steady_state_met`` and the activities it ran: ``run`` (the
method) and ``rollbacks``, each ``{"activity": {"type": "action"|"probe", "name", "provider"}, "status",
"start", "end", "duration", "output"}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tier7.errors import Tier7Error

ACTIVITY_COLUMNS = ["experiment", "phase", "kind", "name", "status", "start_wall", "end_wall", "arguments"]


def read_journals(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every ``chaos/<experiment>/journal.json`` of a run, by experiment folder name."""
    journals: dict[str, dict[str, Any]] = {}
    for path in sorted((run_dir / "chaos").glob("*/journal.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise Tier7Error(f"{path} is not a valid Chaos Toolkit journal: {exc}") from None
        if not isinstance(data, dict):
            raise Tier7Error(f"{path} is not a Chaos Toolkit journal (not a JSON object)")
        journals[path.parent.name] = data
    return journals


def _wall(text: Any) -> float | None:
    """Unix seconds of an ISO 8601 time (naive times are UTC, as chaoslib writes them)."""
    if not isinstance(text, str):
        return None
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.timestamp()


def activities(journals: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per activity run: experiment, phase (method | rollback), kind (action | probe), name, status,
    start_wall / end_wall (unix s), the provider's arguments."""
    rows = []
    for experiment, journal in journals.items():
        for phase, key in (("method", "run"), ("rollback", "rollbacks")):
            for run in journal.get(key) or []:
                activity = run.get("activity") or {}
                rows.append({"experiment": experiment, "phase": phase, "kind": activity.get("type"),
                             "name": activity.get("name"), "status": run.get("status"),
                             "start_wall": _wall(run.get("start")), "end_wall": _wall(run.get("end")),
                             "arguments": (activity.get("provider") or {}).get("arguments") or {}})
    return pd.DataFrame(rows, columns=ACTIVITY_COLUMNS)


def summary(journals: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per experiment: title, status, deviated, and whether the steady state held before and after."""
    out = []
    for experiment, journal in journals.items():
        states = journal.get("steady_states") or {}
        out.append({
            "experiment": experiment,
            "title": (journal.get("experiment") or {}).get("title"),
            "status": journal.get("status"),
            "deviated": bool(journal.get("deviated")),
            "steady_state_before": (states.get("before") or {}).get("steady_state_met"),
            "steady_state_after": (states.get("after") or {}).get("steady_state_met"),
            "start_wall": _wall(journal.get("start")), "end_wall": _wall(journal.get("end")),
        })
    return out
