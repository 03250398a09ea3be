"""Two tabs in Locust's web UI: "Raft topology" (every group's leader, term and members, from the run's
``topology.jsonl`` that the topology sampler writes every 0.1 s) and "Faults" (the nemesis events in the
run's history files, written by the chaos control). Refreshed with the statistics (every ~2 s).

Uses Locust 2.x's documented extension points: ``extended_tabs`` / ``extended_tables`` in the page's
template arguments and ``extended_stats`` added to ``/stats/requests`` answers (examples/extend_web_ui.py
in Locust's repository). Also served as JSON at ``/tier7/topology`` and ``/tier7/faults``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flask import jsonify, request

from ..history import HISTORY_DIR
from ..sampler import TOPOLOGY_FILE

TOPOLOGY_TAB = "tier7-topology"
FAULTS_TAB = "tier7-faults"
TABS = [{"title": "Raft topology", "key": TOPOLOGY_TAB}, {"title": "Faults", "key": FAULTS_TAB}]
TABLES = [
    {"key": TOPOLOGY_TAB, "structure": [
        {"key": "group", "title": "Raft group"}, {"key": "leader", "title": "Leader"},
        {"key": "term", "title": "Term"}, {"key": "members", "title": "Members (role)"},
        {"key": "age", "title": "Sampled (s ago)"}]},
    {"key": FAULTS_TAB, "structure": [
        {"key": "fault", "title": "Fault"}, {"key": "started", "title": "Started (UTC)"},
        {"key": "ended", "title": "Ended (UTC)"}, {"key": "outcome", "title": "Outcome"},
        {"key": "details", "title": "Details"}]},
]


def last_line(path: Path, block: int = 65536) -> str | None:
    """The last complete line of a file (reads only its tail)."""
    try:
        with open(path, "rb") as source:
            source.seek(0, 2)
            size = source.tell()
            source.seek(max(0, size - block))
            lines = source.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.strip().endswith(b"}"):
            return line.decode("utf-8", errors="replace")
    return None


def topology_rows(run_dir: Path) -> list[dict[str, Any]]:
    line = last_line(run_dir / TOPOLOGY_FILE)
    if not line:
        return [{"group": "-", "leader": "no topology sample yet", "term": "", "members": "", "age": ""}]
    sample = json.loads(line)
    age = round(time.time() - float(sample.get("wall", 0)), 1)
    rows = []
    for group, view in sorted(sample.get("groups", {}).items()):
        members = ", ".join(f"{node} ({role})" for node, role in sorted(view.get("members", {}).items()))
        rows.append({"group": group, "leader": view.get("leader") or "NONE", "term": view.get("term"),
                     "members": members, "age": age})
    return rows


class FaultReader:
    """Reads nemesis events incrementally from ``<run>/history/*.jsonl`` (only files holding nemesis events;
    processes ``nemesis`` and ``nemesis-*``); one row per fault activity (invoke + its completion)."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = run_dir / HISTORY_DIR
        self.offsets: dict[Path, int] = {}
        self.skip: set[Path] = set()
        self.faults: dict[tuple[Any, Any], dict[str, Any]] = {}

    def _scan(self, path: Path) -> None:
        with open(path, "rb") as source:
            source.seek(self.offsets.get(path, 0))
            chunk = source.read()
        end = chunk.rfind(b"\n") + 1  # only complete lines; a torn tail waits for the next poll
        self.offsets[path] = self.offsets.get(path, 0) + end
        for raw in chunk[:end].splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not str(event.get("process", "")).startswith("nemesis"):  # nemesis, nemesis-safety-net
                if not path.name.startswith("nemesis"):
                    self.skip.add(path)  # a client's history: never holds nemesis events
                    return
                continue
            self._add(path.name, event)

    def _add(self, source: str, event: dict[str, Any]) -> None:
        key = (source, event.get("process"), event.get("op"))
        row = self.faults.setdefault(key, {"fault": event.get("f"), "started": "", "ended": "",
                                           "outcome": "running", "details": "", "wall": event.get("wall") or 0})
        stamp = _utc(event.get("wall"))
        if event.get("type") == "invoke":
            row["started"], row["wall"] = stamp, event.get("wall") or 0
        else:
            row["ended"], row["outcome"] = stamp, event.get("type")
        details = event.get("value")
        if details not in (None, "", {}):
            row["details"] = details if isinstance(details, str) else json.dumps(details, default=str)[:300]

    def rows(self) -> list[dict[str, Any]]:
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.jsonl")):
                if path not in self.skip:
                    try:
                        self._scan(path)
                    except OSError:
                        continue
        ordered = sorted(self.faults.values(), key=lambda r: float(r["wall"] or 0))
        rows = [{k: v for k, v in row.items() if k != "wall"} for row in ordered]
        return rows or [{"fault": "none injected so far", "started": "", "ended": "", "outcome": "", "details": ""}]


def _utc(wall: Any) -> str:
    try:
        return time.strftime("%H:%M:%S", time.gmtime(float(wall)))
    except (TypeError, ValueError):
        return ""


def install_tab(environment: Any, session: Any) -> None:
    """Add the tabs and their data to ``environment.web_ui`` (master or local process)."""
    web_ui = environment.web_ui
    faults = FaultReader(session.run_dir)

    def extended_stats() -> list[dict[str, Any]]:
        try:
            topology = topology_rows(session.run_dir)
        except (OSError, ValueError) as exc:
            topology = [{"group": "-", "leader": f"cannot read topology: {exc}", "term": "", "members": "", "age": ""}]
        return [{"key": TOPOLOGY_TAB, "data": topology}, {"key": FAULTS_TAB, "data": faults.rows()}]

    web_ui.template_args["extended_tabs"] = TABS
    web_ui.template_args["extended_tables"] = TABLES

    @web_ui.app.after_request
    def add_extended_stats(response: Any) -> Any:
        if not request.path.endswith("/stats/requests") or response.status_code != 200 or not response.is_json:
            return response
        payload = response.get_json()
        payload["extended_stats"] = extended_stats()
        response.set_data(json.dumps(payload))
        return response

    @web_ui.app.route("/tier7/topology")
    def tier7_topology() -> Any:
        return jsonify(extended_stats()[0]["data"])

    @web_ui.app.route("/tier7/faults")
    def tier7_faults() -> Any:
        return jsonify(faults.rows())
