"""Reading the nodes' logs from a run folder (docs/run-folder.md): each node's JSON log
``logs/<node>.log`` and its console capture ``logs/console/<node>.log`` (what the node printed on stdout
and stderr: where an uncaught exception's traceback lands). Nothing is judged here
(``analysis.checkers.logscan`` judges); times are unix seconds.

JSON log: every line must be a JSON object with a numeric ``ts`` and a ``level`` (docs/contract.md,
"Logs"). Consecutive lines that are not make one ``unparseable`` finding, timed by the entries around it:
written after ``after_ts`` (the entry before) and before ``before_ts`` (the entry after); NaN where there is
none. A last line without its newline that does not parse is a torn write (the node was still writing when
the log was copied): noted, not a finding.

Console capture: JSON log lines are read as entries; a traceback block (``log_patterns.toml``) is one
``traceback`` finding and a plain-text CRITICAL line one ``critical`` finding. Console text has no time
stamps, so these findings are untimed (NaN bounds): no fault window can excuse them.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LOG_DIR = "logs"  # logs/<node>.log (same names as tier7.runfolder writes)
CONSOLE_DIR = "logs/console"  # logs/console/<node>.log
PATTERNS_FILE = Path(__file__).with_name("log_patterns.toml")
ENTRY_COLUMNS = ["ts", "level", "node", "event", "msg", "file", "line"]
FINDING_COLUMNS = ["kind", "node", "file", "line", "count", "text", "after_ts", "before_ts"]
TEXT_LINES = 12  # lines of a finding kept as evidence
TEXT_CHARS = 1500


@dataclass
class NodeLogs:
    """Everything read from the run folder's node logs.

    ``entries``: parsed log entries (JSON log and JSON lines of console captures); ``findings``: lines that
    are not entries and must be judged (``kind``: unparseable | traceback | critical); ``log_entries``:
    node -> entries in its JSON log, for every JSON log present (0: present but empty); ``console_lines``:
    node -> lines in its console capture, for every capture present."""

    entries: pd.DataFrame
    findings: pd.DataFrame
    log_entries: dict[str, int] = field(default_factory=dict)
    console_lines: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_patterns(path: Path = PATTERNS_FILE) -> dict[str, list[re.Pattern[str]]]:
    """The console patterns of ``log_patterns.toml``, compiled."""
    console = tomllib.loads(path.read_text(encoding="utf-8"))["console"]
    return {name: [re.compile(p) for p in console[name]] for name in ("traceback_start", "traceback_continue",
                                                                         "critical")}


def as_entry(line: str) -> dict[str, Any] | None:
    """The line as a log entry (a JSON object with a numeric ``ts`` and a string ``level``), else None."""
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("level"), str):
        return None
    ts = entry.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    return entry


def _entry_row(entry: dict[str, Any], node: str, file: str, number: int) -> tuple[Any, ...]:
    return (float(entry["ts"]), entry["level"].upper(), entry.get("node") or node, entry.get("event"),
            entry.get("msg"), file, number)


def _text(lines: list[str]) -> str:
    return "\n".join(lines[:TEXT_LINES])[:TEXT_CHARS]


def _lines(path: Path) -> tuple[list[str], bool]:
    """The file's lines (no trailing empty one) and whether its last line lacks its newline (torn)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    torn = bool(text) and not text.endswith("\n")
    if not torn:
        lines = lines[:-1]
    return lines, torn


def read_json_log(path: Path, node: str, entries: list[tuple[Any, ...]], findings: list[dict[str, Any]],
                  notes: list[str]) -> int:
    """Read one JSON log into ``entries`` / ``findings``; returns its count of entries."""
    lines, torn = _lines(path)
    rel = f"{LOG_DIR}/{path.name}"
    if torn and lines and as_entry(lines[-1].strip()) is None:
        notes.append(f"{rel}: last line torn (written while the log was copied); not scanned")
        lines = lines[:-1]
    count = 0
    last_ts = np.nan
    block: dict[str, Any] | None = None
    block_lines: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        entry = as_entry(line)
        if entry is None:
            if block is None:
                block = {"kind": "unparseable", "node": node, "file": rel, "line": number, "count": 0,
                         "after_ts": last_ts, "before_ts": np.nan}
                block_lines = []
            block["count"] += 1
            block_lines.append(raw)
            continue
        last_ts = float(entry["ts"])
        if block is not None:
            findings.append({**block, "text": _text(block_lines), "before_ts": last_ts})
            block = None
        entries.append(_entry_row(entry, node, rel, number))
        count += 1
    if block is not None:
        findings.append({**block, "text": _text(block_lines)})
    return count


def read_console(path: Path, node: str, patterns: dict[str, list[re.Pattern[str]]],
                 entries: list[tuple[Any, ...]], findings: list[dict[str, Any]]) -> int:
    """Read one console capture into ``entries`` / ``findings``; returns its count of lines."""
    lines, _ = _lines(path)
    rel = f"{CONSOLE_DIR}/{path.name}"

    def matches(kind: str, line: str) -> bool:
        return any(p.match(line) for p in patterns[kind])

    index = 0
    while index < len(lines):
        raw = lines[index]
        entry = as_entry(raw.strip())
        if entry is not None:
            entries.append(_entry_row(entry, node, rel, index + 1))
        elif matches("traceback_start", raw):
            start = index
            index += 1
            while index < len(lines) and (not lines[index].strip() or lines[index][:1].isspace()
                                          or matches("traceback_continue", lines[index])):
                index += 1
            block = lines[start: index + 1]  # up to and including the exception line
            findings.append({"kind": "traceback", "node": node, "file": rel, "line": start + 1,
                             "count": len(block), "text": _text(block[:TEXT_LINES - 2] + block[-2:]
                                                                 if len(block) > TEXT_LINES else block),
                             "after_ts": np.nan, "before_ts": np.nan})
        elif matches("critical", raw):
            findings.append({"kind": "critical", "node": node, "file": rel, "line": index + 1, "count": 1,
                             "text": _text([raw]), "after_ts": np.nan, "before_ts": np.nan})
        index += 1
    return len(lines)


def read_node_logs(run_dir: Path) -> NodeLogs:
    """Every node's JSON log and console capture in ``run_dir`` (a missing folder reads as no logs)."""
    patterns = load_patterns()
    entries: list[tuple[Any, ...]] = []
    findings: list[dict[str, Any]] = []
    notes: list[str] = []
    log_entries = {path.stem: read_json_log(path, path.stem, entries, findings, notes)
                   for path in sorted((run_dir / LOG_DIR).glob("*.log"))}
    console_lines = {path.stem: read_console(path, path.stem, patterns, entries, findings)
                     for path in sorted((run_dir / CONSOLE_DIR).glob("*.log"))}
    frame = pd.DataFrame(entries, columns=ENTRY_COLUMNS)
    frame["ts"] = pd.to_numeric(frame["ts"], errors="coerce")
    found = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    for column in ("after_ts", "before_ts"):
        found[column] = pd.to_numeric(found[column], errors="coerce").astype(float)
    return NodeLogs(frame, found, log_entries, console_lines, notes)
