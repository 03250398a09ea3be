"""Window summaries (checkpoint verdicts) and the whole soak's verdict, combined from the summaries alone.

A window summary comes from the window's own run folder: ``analysis.json`` (written by ``tier7 analyze``:
the checkers' verdicts and metrics), Locust's ``stats.csv`` and each fault's ``chaos/*/verdict.json``.
The whole-run verdict is the worst status of every check over the windows, plus ``faults-rolled-back``
(every fault's wrapper verdict PASS and the final ``tier7 chaos heal`` found nothing left).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from analysis.trends_read import analysis_figures, locust_figures
from analysis.verdict import Status, worst


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def decided(statuses: list[Status]) -> Status:
    """The worst status, NOT APPLICABLE left out when something else decided (a window without a fault has
    failover NOT APPLICABLE; that must not outweigh the windows that measured it)."""
    real = [s for s in statuses if s is not Status.NOT_APPLICABLE]
    return worst(real or statuses)


def window_summary(folder: Path, judged: list[str] | None = None) -> dict[str, Any]:
    """Checkpoint verdicts and figures of one window folder (UNKNOWN when its analysis is missing).

    ``judged``: the checks that decide the verdicts (the profile's); the others go to ``not_judged``. A
    judged check missing from the analysis is UNKNOWN: nothing is excused by being absent."""
    analysis = _json(folder / "analysis.json")
    verdicts: dict[str, str] = {}
    figures: dict[str, float] = {}
    if isinstance(analysis, dict):
        verdicts = {str(v["name"]): str(v["status"]) for v in analysis.get("verdicts", []) if isinstance(v, dict)}
        figures = analysis_figures(analysis)
    else:
        verdicts["analysis"] = Status.UNKNOWN.value
    not_judged: dict[str, str] = {}
    if judged is not None and isinstance(analysis, dict):
        not_judged = {k: v for k, v in verdicts.items() if k not in judged}
        verdicts = {name: verdicts.get(name, Status.UNKNOWN.value) for name in judged}
    figures.update(locust_figures(folder))
    stats = folder / "locust" / "stats.csv"
    faults = []
    for path in sorted((folder / "chaos").glob("*/verdict.json")):
        doc = _json(path) or {}
        faults.append({"experiment": doc.get("experiment", path.parent.name), "verdict": doc.get("verdict", "UNKNOWN"),
                       "problems": doc.get("problems", []), "vars": {k: v for k, v in (doc.get("vars") or {}).items()
                                                                     if not k.startswith("tier7_")}})
    statuses = [Status(s) for s in verdicts.values()] + [
        Status.PASS if f["verdict"] == "PASS" else Status.FAIL for f in faults]
    return {"folder": folder.name, "verdict": decided(statuses).value if statuses else Status.UNKNOWN.value,
            "verdicts": verdicts, "not_judged": not_judged, "figures": figures, "faults": faults, "has_locust_stats": stats.is_file()}


def combine(windows: list[dict[str, Any]], heal: dict[str, Any] | None, complete: bool) -> dict[str, Any]:
    """The soak's verdicts (worst per check) and figures (max of worst-case figures, median/mean of rates)."""
    checks: dict[str, list[Status]] = {}
    for w in windows:
        for name, status in w["verdicts"].items():
            checks.setdefault(name, []).append(Status(status))
    faults = [f for w in windows for f in w["faults"]]
    rolled = [Status.PASS if f["verdict"] == "PASS" else Status.FAIL for f in faults]
    if heal is None:
        rolled.append(Status.UNKNOWN)
    else:
        rolled.append(Status.PASS if heal.get("exit_code") == 0 else Status.FAIL)
    checks["faults-rolled-back"] = rolled
    criteria = [{"id": name, "name": name, "status": decided(found).value} for name, found in sorted(checks.items())]
    figures: dict[str, float] = {}
    for key in {k for w in windows for k in w["figures"]}:
        values = [w["figures"][key] for w in windows if key in w["figures"]]
        if key.startswith(("outage_max_s", "election_max_s", "latency_p99_ms")):
            figures[key] = max(values)
        elif key == "throughput_per_s":
            figures[key] = statistics.mean(values)
        else:
            figures[key] = statistics.median(values)
    statuses = [Status(c["status"]) for c in criteria]
    result = decided(statuses).value if complete else ("FAIL" if Status.FAIL in statuses else "INCOMPLETE")
    return {"result": result, "criteria": criteria, "figures": figures, "faults": len(faults)}
