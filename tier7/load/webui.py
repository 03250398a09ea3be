"""What tier7 adds to Locust's web UI.

- Tab "Raft topology": first the simulated users running now per region (their entry node's region), then
  every group's leader, term and members from the run's ``topology.jsonl`` (the
  topology sampler writes it every 0.1 s), then the log of leader changes (time, group, old -> new leader,
  term), newest first.
- Tab "Faults": the nemesis events in the run's history (written by the chaos control, also when
  ``tier7 chaos run`` joined this run from another terminal): fault, target, start and end (UTC, ms),
  duration, outcome.
- A status line at the bottom of every page: the target, "setting up (tenants 412/1001)" while the run's
  tenants are created, the run folder, and after STOP where it is and the ``tier7 analyze`` command.
  While tenants are created the page shows that state instead of falling back to the start form.

Uses Locust 2.x's documented extension points: ``extended_tabs`` / ``extended_tables`` in the page's
template arguments and ``extended_stats`` added to ``/stats/requests`` answers (examples/extend_web_ui.py
in Locust's repository). Also served as JSON at ``/tier7/topology``, ``/tier7/faults`` and ``/tier7/run``.
Refreshed with the statistics (every ~2 s; the status line every 1 s).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
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
        {"key": "time", "title": "Time (UTC)"}]},
    {"key": FAULTS_TAB, "structure": [
        {"key": "fault", "title": "Fault"}, {"key": "target", "title": "Target"},
        {"key": "started", "title": "Started (UTC)"}, {"key": "ended", "title": "Ended (UTC)"},
        {"key": "duration", "title": "Duration"}, {"key": "outcome", "title": "Outcome"},
        {"key": "details", "title": "Details"}]},
]
NO_FAULT = "none injected so far"
LEADER_LOG_ROWS = 50  # leader changes shown (newest first)
SETUP_PHASES = ("starting", "setting up")


def utc_ms(wall: Any) -> str:
    """Unix seconds -> ``HH:MM:SS.mmm`` (UTC); empty when not a number."""
    try:
        seconds = float(wall)
    except (TypeError, ValueError):
        return ""
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


class JsonLines:
    """Complete JSON lines appended to a file since the last call (a torn tail waits for the next)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as source:
                source.seek(self.offset)
                chunk = source.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        found = []
        for raw in chunk[:end].splitlines():
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict):
                found.append(item)
        return found


class TopologyReader:
    """The latest topology sample of a run and the leader changes seen in all its samples."""

    def __init__(self, run_dir: Path) -> None:
        self.lines = JsonLines(run_dir / TOPOLOGY_FILE)
        self.last: dict[str, Any] | None = None
        self.leaders: dict[str, tuple[str | None, Any]] = {}  # group -> (last agreed leader, its term)
        self.changes: list[dict[str, Any]] = []

    def _add(self, sample: dict[str, Any]) -> None:
        self.last = sample
        for group, view in sorted((sample.get("groups") or {}).items()):
            leader, term = view.get("leader"), view.get("term")
            if not leader:
                continue  # no agreed leader in this sample (an election): the change shows when one wins
            if group in self.leaders and self.leaders[group][0] != leader:
                self.changes.append({"group": group, "old": self.leaders[group][0], "new": leader, "term": term,
                                     "wall": sample.get("wall")})
            self.leaders[group] = (leader, term)

    def rows(self) -> list[dict[str, Any]]:
        for sample in self.lines.new():
            self._add(sample)
        if self.last is None:
            return [{"group": "-", "leader": "no topology sample yet", "term": "", "members": "", "time": ""}]
        wall = self.last.get("wall")
        age = time.time() - float(wall or 0)
        stamp = f"sampled {utc_ms(wall)} ({age:.1f} s ago)"
        rows = []
        for group, view in sorted((self.last.get("groups") or {}).items()):
            members = ", ".join(f"{node} ({role})" for node, role in sorted((view.get("members") or {}).items()))
            rows.append({"group": group, "leader": view.get("leader") or "NONE (election?)",
                         "term": view.get("term"), "members": members, "time": stamp})
        rows.append({"group": "", "leader": "Leader changes (newest first):", "term": "", "members": "", "time": ""})
        for change in reversed(self.changes[-LEADER_LOG_ROWS:]):
            rows.append({"group": change["group"], "leader": f"{change['old']} → {change['new']}",
                         "term": change["term"], "members": "leader change", "time": utc_ms(change["wall"])})
        if not self.changes:
            rows.append({"group": "", "leader": "none so far", "term": "", "members": "", "time": ""})
        return rows


def _target_of(value: Any, fields: dict[str, Any]) -> str:
    """The node / group / region a fault acted on, from its completion or its arguments."""
    node, group, region = fields.get("node"), fields.get("group"), fields.get("region")
    for source in (value, value.get("arguments") if isinstance(value, dict) else None):
        if not isinstance(source, dict):
            continue
        node, group, region = node or source.get("node"), group or source.get("group"), region or source.get("region")
    if node:
        return f"{node}" + (f" (group {group})" if group else "")
    parts = [f"group {group}" if group else "", f"region {region}" if region else ""]
    return ", ".join(p for p in parts if p) or "whole cluster"


class FaultReader:
    """Nemesis events read incrementally from ``<run>/history/*.jsonl`` (processes ``nemesis`` and
    ``nemesis-*``); one row per fault activity (its invoke and its completion). Files of the load's clients
    are skipped after their first line (they never hold nemesis events)."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = run_dir / HISTORY_DIR
        self.files: dict[Path, JsonLines] = {}
        self.skip: set[Path] = set()
        self.faults: dict[tuple[Any, Any, Any], dict[str, Any]] = {}

    def _scan(self, path: Path) -> None:
        lines = self.files.setdefault(path, JsonLines(path))
        for event in lines.new():
            if not str(event.get("process", "")).startswith("nemesis"):  # nemesis, nemesis-safety-net
                if not path.name.startswith("nemesis"):
                    self.skip.add(path)  # a client's history: never holds nemesis events
                    return
                continue
            self._add(path.name, event)

    def _add(self, source: str, event: dict[str, Any]) -> None:
        key = (source, event.get("process"), event.get("op"))
        fault = self.faults.setdefault(key, {"f": event.get("f"), "start": None, "end": None, "type": None,
                                             "value": {}, "fields": {}, "error": None})
        value = event.get("value") if isinstance(event.get("value"), dict) else {}
        if event.get("type") == "invoke":
            fault["start"], fault["value"] = event.get("wall"), {**value, **fault["value"]}
        else:
            fault["end"], fault["type"], fault["error"] = event.get("wall"), event.get("type"), event.get("error")
            fault["value"] = {**fault["value"], **value}
            fault["fields"] = {k: event.get(k) for k in ("node", "group", "region") if event.get(k)}

    @staticmethod
    def _row(fault: dict[str, Any]) -> dict[str, Any]:
        value = fault["value"]
        kind = fault["type"]
        if kind is None:
            outcome = "in progress"
        elif kind == "ok":
            outcome = "applied" if value.get("applied", True) else "not applied"
        elif kind == "fail":
            outcome = f"FAILED: {fault['error'] or 'failed'}"
        else:
            outcome = f"unknown ({fault['error'] or kind})"
        duration = ""
        if fault["start"] is not None and fault["end"] is not None:
            duration = f"{float(fault['end']) - float(fault['start']):.3f} s"
        elif fault["start"] is not None:
            duration = f"{time.time() - float(fault['start']):.1f} s so far"
        details = [str(value.get("phase") or ""), str(value.get("name") or "")]
        if value.get("heal"):
            details.append("heal")
        return {"fault": fault["f"], "target": _target_of(value, fault["fields"]), "started": utc_ms(fault["start"]),
                "ended": utc_ms(fault["end"]), "duration": duration, "outcome": outcome,
                "details": ": ".join(d for d in details if d)}

    def rows(self) -> list[dict[str, Any]]:
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.jsonl")):
                if path not in self.skip:
                    self._scan(path)
        ordered = sorted(self.faults.values(), key=lambda f: float(f["start"] or f["end"] or 0))
        rows = [self._row(fault) for fault in ordered]
        return rows or [{"fault": NO_FAULT, "target": "", "started": "", "ended": "", "duration": "",
                         "outcome": "", "details": ""}]


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it (shorter to copy), else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (OSError, ValueError):
        return str(path)


def status(session: Any) -> dict[str, Any]:
    """The status line's content: phase, one message, the run folder and the analyze command."""
    phase = session.phase
    target = session.target
    where = f"{target.source} ({len(target.nodes)} nodes)" if target is not None else "?"
    run_dir = shown_path(session.run_dir) if session.run_dir is not None else None
    analyze = f"tier7 analyze {run_dir}" if run_dir else None
    if session.error:
        message = f"tier7: error: {session.error}" + (f" — run folder {run_dir}" if run_dir else "")
    elif phase == "idle":
        message = f"tier7: target {where}. START opens a new run folder under results/ (or --run-dir)."
    elif phase == "starting":
        message = f"tier7: starting: opening the run folder on {where}"
    elif phase == "setting up":
        done, total = session.setup_progress or (0, 0)
        message = f"tier7: setting up (tenants {done}/{total}) — run folder {run_dir}"
    elif phase == "running":
        message = (f"tier7: running on {where} — run folder {run_dir} — a fault from another terminal "
                   "(`tier7 chaos run kill-raft-leader --var group=g1`) joins this run")
    elif phase == "finishing":
        message = f"tier7: stopped; finishing run folder {run_dir} (final read, logs, metrics)..."
    else:
        message = f"tier7: run finished — run folder {run_dir} — analyze it: {analyze}"
    return {"phase": phase, "message": message, "run_dir": run_dir, "analyze": analyze,
            "setup": list(session.setup_progress) if session.setup_progress else None, "error": session.error,
            "target": target.describe() if target is not None else None}


def users_row(users_by_region: Counter[str]) -> dict[str, Any]:
    """The topology tab's first row: the simulated users running now per region (the region of each user's
    entry node; this process's users: in distributed mode each worker counts its own)."""
    live = {region: n for region, n in sorted(users_by_region.items()) if n > 0}
    text = " · ".join(f"{region} {n}" for region, n in live.items()) if live else "none running"
    return {"group": "users", "leader": f"per region: {text}", "term": "", "members": f"{sum(live.values())} in all",
            "time": ""}


def setup_state(session: Any, state: str) -> str:
    """The runner state the page shows: while the run's folder is opened and its tenants created, Locust's
    runner still says ``ready`` (or ``stopped``) and the page would show the start form again."""
    # Locust may already say "spawning" while the test_start listener is still creating tenants: no user
    # runs before the setup ends, so the setup is what the page shows.
    if session.phase in SETUP_PHASES and not session.error and state in ("ready", "stopped", "spawning"):
        done, total = session.setup_progress or (0, 0)
        return f"setting up (tenants {done}/{total})" if total else "setting up"
    return state


BANNER = """
<div id="tier7-status" style="position:fixed;left:0;right:0;bottom:0;z-index:2000;padding:6px 14px;
 font:13px monospace;background:#16324f;color:#fff;white-space:pre-wrap">tier7: loading status...</div>
<script>
(function () {
  var base = window.location.pathname.replace(/\\/$/, "");
  function poll() {
    fetch(base + "/tier7/run").then(function (r) { return r.json(); }).then(function (s) {
      var box = document.getElementById("tier7-status");
      box.textContent = s.message;
      box.style.background = s.error ? "#7a1f1f" : (s.phase === "finished" ? "#1f5a2e" : "#16324f");
    }).catch(function () {});
  }
  poll();
  setInterval(poll, 1000);
})();
</script>
"""


def install_tab(environment: Any, session: Any) -> None:
    """Add the tabs, their data and the status line to ``environment.web_ui`` (master or local process);
    the readers follow ``session.run_dir`` (a new one per START)."""
    web_ui = environment.web_ui
    readers: dict[str, Any] = {}

    def reader(kind: str) -> Any:
        run_dir = session.run_dir
        if run_dir is None:
            return None
        current = readers.get(kind)
        if current is None or readers.get(kind + "-dir") != run_dir:
            current = readers[kind] = (TopologyReader if kind == "topology" else FaultReader)(run_dir)
            readers[kind + "-dir"] = run_dir
        return current

    def topology() -> list[dict[str, Any]]:
        found = reader("topology")
        if found is None:
            return [{"group": "-", "leader": "no run yet: press START", "term": "", "members": "", "time": ""}]
        try:
            return [users_row(session.users_by_region), *found.rows()]
        except (OSError, ValueError, TypeError) as exc:
            return [{"group": "-", "leader": f"cannot read topology: {exc}", "term": "", "members": "", "time": ""}]

    def faults() -> list[dict[str, Any]]:
        found = reader("faults")
        if found is None:
            return [{"fault": NO_FAULT, "target": "", "started": "", "ended": "", "duration": "", "outcome": "",
                     "details": "no run yet"}]
        return found.rows()

    web_ui.template_args["extended_tabs"] = TABS
    web_ui.template_args["extended_tables"] = TABLES

    @web_ui.app.after_request
    def tier7_additions(response: Any) -> Any:
        path = request.path
        if response.status_code != 200:
            return response
        if path.endswith("/stats/requests") and response.is_json:
            payload = response.get_json()
            payload["extended_stats"] = [{"key": TOPOLOGY_TAB, "data": topology()},
                                         {"key": FAULTS_TAB, "data": faults()}]
            payload["state"] = setup_state(session, str(payload.get("state", "")))
            response.set_data(json.dumps(payload))
        elif response.mimetype == "text/html" and not path.startswith("/tier7") and "/stats" not in path:
            page = response.get_data(as_text=True)
            if "</body>" in page and "tier7-status" not in page:
                response.set_data(page.replace("</body>", BANNER + "</body>", 1))
        return response

    @web_ui.app.route("/tier7/topology")
    def tier7_topology() -> Any:
        return jsonify(topology())

    @web_ui.app.route("/tier7/faults")
    def tier7_faults() -> Any:
        return jsonify(faults())

    @web_ui.app.route("/tier7/run")
    def tier7_run() -> Any:
        return jsonify(status(session))
