"""Chaos Toolkit journals (``<run>/chaos/<experiment>/journal.json``, chaostoolkit-lib's journal format).

A journal has ``start``/``end`` (ISO 8601, UTC), ``status`` (completed | failed | aborted | interrupted),
``deviated``, ``steady_states.before|after.steady_state_met`` and the activities it ran: ``run`` (the
method) and ``rollbacks``, each ``{"activity": {"type": "action"|"probe", "name", "provider"}, "status",
"start", "end", "duration", "output", "exception"}``. ``tier7 chaos run`` adds its own verdict under the
``tier7`` key and in ``verdict.json`` beside the journal (verdict, problems, safety net).

chaoslib keeps ``status: completed`` when a method action failed (e.g. a kill that did not take effect),
so ``problems`` reads every activity's own status, not only the journal's. An experiment folder without a
journal (the run was killed before writing it) is kept as a placeholder whose only problem says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tier7.errors import Tier7Error

ACTIVITY_COLUMNS = ["experiment", "phase", "kind", "name", "status", "start_wall", "end_wall", "arguments", "error"]
NO_JOURNAL = "tier7_no_journal"  # key of the placeholder for an experiment folder without journal.json
VERDICT_FILE = "verdict.json"


def _read_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Tier7Error(f"{path} is not a valid {what}: {exc}") from None
    if not isinstance(data, dict):
        raise Tier7Error(f"{path} is not a {what} (not a JSON object)")
    return data


def read_journals(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every ``chaos/<experiment>/journal.json`` of a run, by experiment folder name, with the wrapper's
    ``verdict.json`` as its ``tier7`` key when the journal lacks one; a folder with a Chaos Toolkit log or a
    verdict but no journal becomes a placeholder (``NO_JOURNAL``)."""
    journals: dict[str, dict[str, Any]] = {}
    for folder in sorted(p for p in (run_dir / "chaos").glob("*") if p.is_dir()):
        path, verdict = folder / "journal.json", folder / VERDICT_FILE
        if path.is_file():
            data = _read_object(path, "Chaos Toolkit journal")
        elif verdict.is_file() or (folder / "chaostoolkit.log").is_file():
            data = {NO_JOURNAL: f"{folder.name}: the experiment started but wrote no journal.json "
                                "(killed or crashed before the end)", "status": None, "run": [], "rollbacks": []}
        else:
            continue
        if verdict.is_file() and not isinstance(data.get("tier7"), dict):
            data["tier7"] = _read_object(verdict, "tier7 chaos verdict")
        journals[folder.name] = data
    return journals


def _wall(text: Any) -> float | None:
    """Unix seconds of an ISO 8601 time (naive times are UTC, as chaoslib writes them)."""
    if not isinstance(text, str):
        return None
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.timestamp()


def _error(run: dict[str, Any]) -> str | None:
    """The last line of a failed activity's exception (chaoslib stores the traceback as a list of lines)."""
    if run.get("status") != "failed":
        return None
    lines = run.get("exception") or ["failed"]
    return str(lines[-1] if isinstance(lines, list) else lines).strip() or "failed"


def activities(journals: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per activity run: experiment, phase (method | rollback), kind (action | probe), name, status,
    start_wall / end_wall (unix s), the provider's arguments, the error of a failed one."""
    rows = []
    for experiment, journal in journals.items():
        for phase, key in (("method", "run"), ("rollback", "rollbacks")):
            for run in journal.get(key) or []:
                activity = run.get("activity") or {}
                rows.append({"experiment": experiment, "phase": phase, "kind": activity.get("type"),
                             "name": activity.get("name"), "status": run.get("status"),
                             "start_wall": _wall(run.get("start")), "end_wall": _wall(run.get("end")),
                             "arguments": (activity.get("provider") or {}).get("arguments") or {},
                             "error": _error(run)})
    return pd.DataFrame(rows, columns=ACTIVITY_COLUMNS)


def _declared_actions(journal: dict[str, Any]) -> int:
    method = (journal.get("experiment") or {}).get("method") or []
    return sum(1 for a in method if isinstance(a, dict) and a.get("type") == "action")


def problems(journal: dict[str, Any]) -> list[str]:
    """Why an experiment did not pass, from its journal alone (empty: it passed). One judgement for
    ``tier7 chaos run`` and the offline check: a hypothesis not met before or after the method, a deviation,
    a status other than completed, any method or rollback activity that failed, a method that declared
    actions but ran none."""
    if journal.get(NO_JOURNAL):
        return [str(journal[NO_JOURNAL])]
    found = []
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and not before.get("steady_state_met"):
        bad = [(p.get("activity") or {}).get("name") for p in before.get("probes", [])
               if not p.get("tolerance_met", True) or p.get("status") != "succeeded"]
        found.append("steady-state hypothesis not met BEFORE the method (target not healthy to begin with): "
                     + ", ".join(str(b) for b in bad))
    after = (journal.get("steady_states") or {}).get("after")
    if journal.get("deviated") or (after is not None and after.get("steady_state_met") is False):
        found.append("deviated: the steady-state hypothesis did not hold after the method")
    if journal.get("status") != "completed":
        found.append(f"status {journal.get('status')}")
    for phase, key in (("method", "run"), ("rollback", "rollbacks")):
        for run in journal.get(key) or []:
            if run.get("status") == "failed":
                found.append(f"{phase} activity {(run.get('activity') or {}).get('name')!r} failed: {_error(run)}")
    ran = [r for r in journal.get("run") or [] if (r.get("activity") or {}).get("type") == "action"]
    if journal.get("status") == "completed" and _declared_actions(journal) and not ran:
        found.append("the method declares actions but none ran: no fault was injected")
    return found


def summary(journals: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per experiment: title, status, deviated, whether the steady state held before and after, the failed
    activities, the wrapper's verdict (``tier7 chaos run``; None for a plain ``chaos run``) and every
    problem (``problems`` plus the wrapper's own, e.g. faults its safety net had to undo)."""
    out = []
    for experiment, journal in journals.items():
        states = journal.get("steady_states") or {}
        wrapper = journal.get("tier7") if isinstance(journal.get("tier7"), dict) else {}
        found = problems(journal)
        if wrapper.get("verdict") not in (None, "PASS"):
            found += [str(p) for p in wrapper.get("problems") or [] if str(p) not in found] \
                or [f"tier7 chaos run said {wrapper['verdict']}"]
        out.append({
            "experiment": experiment,
            "title": (journal.get("experiment") or {}).get("title"),
            "status": journal.get("status"),
            "deviated": bool(journal.get("deviated")),
            "steady_state_before": (states.get("before") or {}).get("steady_state_met"),
            "steady_state_after": (states.get("after") or {}).get("steady_state_met"),
            "failed_activities": [f"{phase}:{(r.get('activity') or {}).get('name')}"
                                  for phase, key in (("method", "run"), ("rollback", "rollbacks"))
                                  for r in journal.get(key) or [] if r.get("status") == "failed"],
            "wrapper_verdict": wrapper.get("verdict"),
            "problems": found,
            "start_wall": _wall(journal.get("start")), "end_wall": _wall(journal.get("end")),
        })
    return out
