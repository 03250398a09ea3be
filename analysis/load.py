"""Loading a run folder (docs/run-folder.md) into frames. Nothing is fetched from the target.

``load_run`` reads everything once: the merged history (``tier7.history.load_history``), client operations
and nemesis activities paired (``analysis.ops``), fault windows (``analysis.windows``), topology samples,
the ring and node list the runner saved, Chaos Toolkit journals, node logs and ``/metrics`` scrapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from tier7.errors import Tier7Error
from tier7.history import COLUMNS, HISTORY_DIR, load_history
from tier7.sampler import TOPOLOGY_FILE

from . import journals as journal_mod
from . import ops as ops_mod
from . import windows as windows_mod
from .logfiles import ENTRY_COLUMNS, NodeLogs, read_node_logs
from .owners import owner_groups, ring_from
from .plan import run_plan
from .scaling import owners_across_scaling

TOPOLOGY_COLUMNS = ["time", "wall", "half_width", "group", "leader", "term", "down"]
LOG_COLUMNS = ENTRY_COLUMNS


@dataclass
class RunData:
    """Everything analysis needs from one run folder. Times: ``*_time`` monotonic ns, ``*wall``/``ts`` unix s."""

    path: Path
    events: pd.DataFrame
    ops: pd.DataFrame
    nemesis: pd.DataFrame
    windows: pd.DataFrame
    topology: pd.DataFrame
    nodes: list[dict[str, Any]]
    ring: dict[str, Any] | None
    config: dict[str, Any] | None
    journals: dict[str, dict[str, Any]]
    logs: pd.DataFrame
    metrics: dict[str, str]
    locust_exceptions: pd.DataFrame
    thresholds: dict[str, dict[str, Any]]
    offset_ns: float = 0.0
    notes: list[str] = field(default_factory=list)
    node_logs: NodeLogs | None = None  # JSON logs and console captures with their findings
    topology_members: list[str] = field(default_factory=list)

    @property
    def node_groups(self) -> dict[str, str]:
        return {n["name"]: n["group"] for n in self.nodes if n.get("name") and n.get("group")}

    @property
    def known_nodes(self) -> list[str]:
        """Every node the run knows about: the node list saved at the start (``target/nodes.json``), the
        topology sampler's nodes and every node that served an acknowledged operation (nodes added during
        the run). The log scan requires a log of each."""
        names = {str(n["name"]) for n in self.nodes if n.get("name")} | set(self.topology_members)
        if not self.ops.empty and "node" in self.ops:
            names |= {str(n) for n in self.ops.loc[self.ops["type"] == "ok", "node"].dropna().unique()}
        return sorted(names)

    @property
    def start_time(self) -> float:
        """First event (monotonic ns); the origin of every plot's time axis."""
        times = [self.events["time"].min()] if not self.events.empty else []
        if not self.topology.empty:
            times.append(self.topology["time"].min())
        return float(min(times)) if times else 0.0


def _json_file(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Tier7Error(f"{path} is not valid JSON: {exc}") from None


def read_history(run_dir: Path) -> pd.DataFrame:
    """The run's merged history, as ``tier7.history.load_history`` returns it (same columns, order and
    ``source``), parsed per file in one JSON call instead of line by line (several times faster on large
    runs). Any file that does not parse whole (a torn last line, a corrupt line) is left to
    ``load_history``, which skips a torn last line and reports any other bad line precisely."""
    files = sorted((run_dir / HISTORY_DIR).glob("*.jsonl"))
    events: list[Any] = []
    sources: list[str] = []
    for path in files:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
        try:
            parsed = orjson.loads(b"[" + b",".join(lines) + b"]")
        except orjson.JSONDecodeError:
            parsed = None
        if parsed is None:
            _check_history_lines(path, lines)  # a corrupt line (not a torn last one) is named here
            return load_history(run_dir)
        _check_events(path, parsed)
        events.extend(parsed)
        sources.extend([path.name] * len(parsed))
    if not events:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(events)
    frame["source"] = sources
    extra = sorted(set(frame.columns) - set(COLUMNS))
    for name in COLUMNS:
        if name not in frame.columns:
            frame[name] = None
    return frame[COLUMNS + extra].sort_values("time", kind="stable").reset_index(drop=True)


HISTORY_FIELDS = ("time", "type", "process")  # what every history event has (tier7/history.py)


def _check_events(path: Path, events: list[Any], first_line: int = 1) -> None:
    """Every event of a history file is an object with the history's fields; else a one-line error naming
    the file, the line and what is missing (a foreign file in history/, a file of another version)."""
    for number, event in enumerate(events, first_line):
        if not isinstance(event, dict):
            raise Tier7Error(f"{path}:{number}: not a history event (a JSON {type(event).__name__}, not an object); "
                             f"is it a foreign file in {HISTORY_DIR}/?")
        missing = [name for name in HISTORY_FIELDS if name not in event]
        if missing:
            raise Tier7Error(f"{path}:{number}: not a history event (no {', '.join(missing)}); a foreign file "
                             f"in {HISTORY_DIR}/ or a history of another version?")


def _check_history_lines(path: Path, lines: list[bytes]) -> None:
    """Line by line: a line that is not JSON is an error naming it, unless it is the last (torn by a
    crash mid-write, skipped as ``tier7.history.read_events`` does)."""
    events = []
    for number, line in enumerate(lines, 1):
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            if number == len(lines):
                break
            raise Tier7Error(f"{path}:{number}: not a JSON history line (truncated or corrupt)") from None
    _check_events(path, events)


def read_topology(run_dir: Path) -> pd.DataFrame:
    """``topology.jsonl`` in long form: one row per (sample, group) with its leader (None when the group had
    no agreed leader), term and the number of members seen down. ``time`` is the sample's stamp (monotonic
    ns, the observation's midpoint) and ``half_width`` its uncertainty (ns); NaN for files written before
    samples carried ``half_width_ns`` (their stamp was the start of the observation)."""
    path = run_dir / TOPOLOGY_FILE
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line; samples are independent
            for group, view in (sample.get("groups") or {}).items():
                members = view.get("members") or {}
                rows.append((sample.get("time"), sample.get("wall"), sample.get("half_width_ns"), group,
                             view.get("leader"), view.get("term"),
                             sum(1 for role in members.values() if role == "down")))
    frame = pd.DataFrame(rows, columns=TOPOLOGY_COLUMNS)
    frame["time"] = frame["time"].astype(float)
    frame["half_width"] = pd.to_numeric(frame["half_width"], errors="coerce").astype(float)
    return frame.sort_values(["time", "group"], kind="stable").reset_index(drop=True)


def read_logs(run_dir: Path) -> tuple[pd.DataFrame, int]:
    """Node log entries (JSON logs and console captures, ``analysis.logfiles``) as one frame, and the count
    of lines that were not log entries (each is judged by the log scan, see ``read_node_logs``)."""
    node_logs = read_node_logs(run_dir)
    return node_logs.entries, int(node_logs.findings["count"].sum()) if not node_logs.findings.empty else 0


def topology_members(run_dir: Path) -> list[str]:
    """The node names of the first topology sample (the sampler asks the same nodes every time)."""
    path = run_dir / TOPOLOGY_FILE
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                sample = json.loads(line)
            except json.JSONDecodeError:
                continue
            groups = sample.get("groups") if isinstance(sample, dict) else None
            if isinstance(groups, dict):
                return sorted({str(n) for view in groups.values() if isinstance(view, dict)
                               for n in (view.get("members") or {})})
    return []


def read_metrics(run_dir: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted((run_dir / "metrics").glob("*.prom"))}


def read_locust_exceptions(run_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted((run_dir / "locust").glob("*exceptions*.csv")) if p.stat().st_size]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def node_list(run_dir: Path, ops: pd.DataFrame) -> list[dict[str, Any]]:
    """``target/nodes.json``, else the (node, group) pairs seen in acknowledged operations."""
    nodes = _json_file(run_dir / "target" / "nodes.json")
    if isinstance(nodes, list):
        return [n for n in nodes if isinstance(n, dict)]
    seen = ops.loc[ops["type"] == "ok", ["node", "group"]].dropna().drop_duplicates()
    return [{"name": n, "group": g} for n, g in zip(seen["node"], seen["group"], strict=True)]


def check_folder(run_dir: Path) -> None:
    if not run_dir.exists():
        raise Tier7Error(f"run folder {run_dir} does not exist")
    if not run_dir.is_dir():
        raise Tier7Error(f"{run_dir} is not a folder")
    markers = [HISTORY_DIR, TOPOLOGY_FILE, "run.json", "chaos", "target"]
    if not any((run_dir / m).exists() for m in markers):
        raise Tier7Error(f"{run_dir} is not a run folder (none of {', '.join(markers)}; see docs/run-folder.md)")
    check_complete(run_dir)


# Phases of a verification run that record operations in history/ (tier7/verify/criteria/*, final read)
HISTORY_PHASES = ("federation", "tenants", "failover", "scaling", "load", "final-read")


def check_complete(run_dir: Path) -> None:
    """A verification run folder has what its own record (facts/verify.json) says it made: a one-line
    error naming what is missing (the record unreadable, history/ absent while phases that write it ran)."""
    record_path = run_dir / "facts" / "verify.json"
    if not record_path.exists():
        return
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Tier7Error(f"incomplete run folder: {record_path} is unreadable ({str(exc).splitlines()[0]})") from None
    if not isinstance(record, dict) or not isinstance(record.get("ran", []), list):
        raise Tier7Error(f"{record_path} is not a tier7 verify record (another version?): no list 'ran'")
    wrote = [phase for phase in record.get("ran", []) if phase in HISTORY_PHASES]
    if wrote and not any((run_dir / HISTORY_DIR).glob("*.jsonl")):
        raise Tier7Error(f"incomplete run folder {run_dir}: {HISTORY_DIR}/*.jsonl is missing, but the run's "
                         f"record says the {', '.join(wrote)} phase(s) ran and wrote it")


def load_run(run_dir: str | Path) -> RunData:
    """Read a run folder; raises Tier7Error (one line) when it is missing or malformed."""
    path = Path(run_dir)
    check_folder(path)
    try:
        events = read_history(path)
    except ValueError as exc:
        raise Tier7Error(str(exc)) from None
    except (TypeError, KeyError, AttributeError) as exc:  # a file the checks above did not foresee
        raise Tier7Error(f"{path / HISTORY_DIR}: not a tier7 history ({exc.__class__.__name__}: {exc})") from None
    notes: list[str] = []
    nemesis_rows = ops_mod.is_nemesis(events)
    ops = ops_mod.client_operations(events, nemesis_rows)
    nemesis = ops_mod.nemesis_operations(events, nemesis_rows)
    nodes = node_list(path, ops)
    node_groups = {n["name"]: n["group"] for n in nodes if n.get("name") and n.get("group")}
    journals = journal_mod.read_journals(path)
    offset = windows_mod.clock_offset_ns(events)
    history_end = float(events["time"].max()) if not events.empty else None
    windows = windows_mod.from_nemesis(nemesis, node_groups, history_end)
    if windows.empty and journals:
        windows = windows_mod.from_journals(journal_mod.activities(journals), offset, node_groups)
        notes.append("fault windows taken from Chaos Toolkit journals (no nemesis events in the history)")
    node_logs = read_node_logs(path)
    notes.extend(node_logs.notes)
    ring = _json_file(path / "target" / "ring.json")
    ring = ring if isinstance(ring, dict) else None
    ops["owner"] = owner_groups(ops, ring_from(ring))
    ops["owner"] = owners_across_scaling(ops, _json_file(path / "facts" / "scaling.json"))  # rings of later epochs
    config = _json_file(path / "target" / "config.json")
    return RunData(path=path, events=events, ops=ops, nemesis=nemesis, windows=windows,
                   topology=read_topology(path), nodes=nodes, ring=ring,
                   config=config if isinstance(config, dict) else None, journals=journals, logs=node_logs.entries,
                   metrics=read_metrics(path), locust_exceptions=read_locust_exceptions(path),
                   thresholds=run_plan(path), offset_ns=offset, notes=notes,
                   node_logs=node_logs, topology_members=topology_members(path))
