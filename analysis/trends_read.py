"""Read the figures ``tier7 trends`` follows from every run folder under a results directory.

A run folder is a verify folder (``facts/verify.json`` + ``verdicts.json``) or a soak folder (``soak.json``,
written by ``tier7 soak``). Figures (units in the names): ``outage_p50_s``/``outage_max_s`` (analysis.json's
outage distribution), ``election_max_s``, ``outage_max_s.<fault type>``, ``throughput_per_s`` (Locust's
aggregated requests per second), ``latency_p99_ms`` (Locust's aggregated 99th percentile, else the analysed
write latency), ``error_rate`` (failures / requests). Verdicts: criterion id -> status from verdicts.json.
A soak folder carries the same figures already combined over its windows (``soak.json`` ``figures``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER_TIME = re.compile(r"(\d{8}T\d{6}Z)")


@dataclass
class RunPoint:
    """One run's figures: ``when`` (unix s), ``kind`` (verify / soak), figures and criterion verdicts."""

    name: str
    path: Path
    when: float
    kind: str
    result: str
    figures: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _when(folder: Path, run: dict[str, Any]) -> float | None:
    """The run's start (unix s): run.json's ``started_wall``, else the UTC time in the folder's name."""
    value = run.get("started_wall")
    if isinstance(value, int | float):
        return float(value)
    found = FOLDER_TIME.search(folder.name)
    if found:
        return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    return None


def locust_figures(folder: Path) -> dict[str, float]:
    """Throughput (requests/s), p99 (ms) and error rate from Locust's aggregated row of ``locust/stats.csv``."""
    try:
        with (folder / "locust" / "stats.csv").open(encoding="utf-8", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    except OSError:
        return {}
    if not rows:
        return {}
    row, out = rows[-1], {}
    try:
        requests, failures = float(row["Request Count"]), float(row["Failure Count"])
        out["throughput_per_s"] = float(row["Requests/s"])
        if row.get("99%") not in (None, "", "N/A"):
            out["latency_p99_ms"] = float(row["99%"])
        if requests > 0:
            out["error_rate"] = failures / requests
    except (KeyError, ValueError):
        return {}
    return out


def analysis_figures(analysis: dict[str, Any]) -> dict[str, float]:
    """Outage/election figures (s) and write-latency p99 (ms) from an ``analysis.json`` document."""
    out: dict[str, float] = {}
    dist = (analysis.get("summary") or {}).get("outage_distribution") or {}
    for key, name in (("p50_s", "outage_p50_s"), ("max_s", "outage_max_s")):
        if isinstance(dist.get(key), int | float):
            out[name] = float(dist[key])
    metrics = analysis.get("metrics") or {}
    # only the targeted group's row is an election caused by the fault: another group's "election" is its
    # next leader change, whenever a later fault caused it (hundreds of seconds in a soak window)
    elections = [r.get("election_s") for r in metrics.get("elections") or []
                 if isinstance(r, dict) and r.get("targeted") is not False]
    elections = [float(e) for e in elections if isinstance(e, int | float)]
    if elections:
        out["election_max_s"] = max(elections)
    for row in metrics.get("outage") or []:
        if isinstance(row, dict) and isinstance(row.get("outage_s"), int | float) and row.get("fault"):
            key = f"outage_max_s.{row['fault']}"
            out[key] = max(out.get(key, 0.0), float(row["outage_s"]))
    for row in metrics.get("write_latency") or []:
        if isinstance(row, dict) and row.get("group") == "all" and isinstance(row.get("p99_ms"), int | float):
            out["latency_p99_ms"] = float(row["p99_ms"])
    return out


def verdicts_of(document: Any) -> tuple[str, dict[str, str]]:
    """(overall result, criterion id -> status) of a verdicts.json document."""
    if not isinstance(document, dict):
        return "", {}
    found = {str(c.get("id") or c.get("name")): str(c.get("status")) for c in document.get("criteria", [])
             if isinstance(c, dict) and c.get("status")}
    return str(document.get("result", "")), found


def read_run(folder: Path) -> RunPoint | None:
    """The run folder's point, None for a folder that is neither a verify nor a soak run."""
    soak = _json(folder / "soak.json")
    verify = (folder / "facts" / "verify.json").is_file()
    if not isinstance(soak, dict) and not verify:
        return None
    run = _json(folder / "run.json")
    run = run if isinstance(run, dict) else {}
    when = _when(folder, run)
    if when is None:
        return None
    if isinstance(soak, dict):
        result, verdicts = verdicts_of(soak.get("verdicts"))
        figures = {k: float(v) for k, v in (soak.get("figures") or {}).items() if isinstance(v, int | float)}
        return RunPoint(folder.name, folder, when, "soak", result or str(soak.get("result", "")), figures, verdicts)
    result, verdicts = verdicts_of(_json(folder / "verdicts.json"))
    analysis = _json(folder / "analysis.json")
    figures = analysis_figures(analysis) if isinstance(analysis, dict) else {}
    figures.update(locust_figures(folder))
    return RunPoint(folder.name, folder, when, "verify", result, figures, verdicts)


def read_results(results: Path) -> list[RunPoint]:
    """Every run folder directly under ``results`` (symlinks such as ``latest`` counted once), oldest first."""
    seen: set[Path] = set()
    points = []
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        real = folder.resolve()
        if real in seen:
            continue
        seen.add(real)
        point = read_run(folder)
        if point is not None:
            point.name = real.name
            points.append(point)
    return sorted(points, key=lambda p: (p.when, p.name))
