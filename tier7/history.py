"""The history format: Jepsen-style operation events, one JSON object per line.

Every writing process (a Locust worker, the chaos control, the verify runner) appends to its own file
``<run>/history/<process-file>.jsonl``; a crash loses at most the line being written. ``load_history``
merges a run's files into one pandas DataFrame in time order.

Event fields (absent fields are omitted from the line):

- ``type``: ``invoke`` | ``ok`` | ``fail`` | ``info``. ``fail`` = certainly not applied; ``info`` = outcome
  unknown (timeout, connection lost after sending) — it may or may not have taken effect.
- ``time``: ``time.monotonic_ns()``: CLOCK_MONOTONIC, one clock for every process on the machine (ns).
- ``wall``: ``time.time()`` (unix seconds), for humans and for joining with logs.
- ``process``: who did it; one operation outstanding per process at a time (e.g. ``w0-u17``, ``nemesis``).
- ``op``: per-process sequence number; an invoke and its completion share (process, op).
- ``f``: the operation: put, get, cas, delete, create_tenant, ... and for the nemesis the fault name
  (``kill-leader``, ``latency``, ...).
- ``key``, ``tenant``, ``region``, ``value``: what was asked / returned. For ``cas`` the invoke's value is
  ``[expected, new]``. A read's ``ok`` carries the value read (``None`` = key absent).
- ``node`` (served by), ``group`` (Raft group that served), ``protocol`` (h1/h2/h3), ``error``
  (contract error code or exception class), ``status`` (HTTP status), ``latency_ms`` on completions.
- ``cross_tenant``: True on operations that deliberately address another tenant's keys (isolation probes);
  ``tenant`` is then the tenant addressed and ``caller`` the tenant whose token was used.
- The recording client (tier7/client.py) also puts ``version`` (the group's revision) on ``ok`` writes
  and reads, and ``created`` on ``ok`` create_tenant; after an ``info`` it continues under a new process
  name (``w0-u17`` -> ``w0-u17.1``), as the operation may still be in flight.
- CRDT operations (contract v2): ``f`` is ``crdt_inc`` | ``crdt_add`` | ``crdt_remove`` | ``crdt_set`` |
  ``crdt_read``; ``crdt`` names the CRDT type (counter | set | register), ``op_id`` the operation's unique id
  (an OR-set add's tag), ``value`` the delta, element or register value (a read's ``ok``: the value read).
  The ``ok`` completion adds what the serving node answered: ``timestamp`` ([physical_ms, logical, node_id],
  register writes and reads), ``removed_tags`` (set removes: the add tags the node had observed) and
  ``version_vector`` (reads); ``final`` marks the reads taken after the writers stopped. Older folders
  without these fields still load (absent fields are simply missing columns).
- ``nemesis`` events use process ``nemesis``: ``invoke`` when a fault activity starts, ``ok``/``fail``
  when it ends, ``value`` holding its details (target node, group, ...).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EVENT_TYPES = ("invoke", "ok", "fail", "info")
COLUMNS = ["time", "wall", "type", "process", "op", "f", "key", "tenant", "region", "value", "node", "group",
           "protocol", "error", "status", "latency_ms", "cross_tenant", "source"]
HISTORY_DIR = "history"


def now_ns() -> int:
    return time.monotonic_ns()


class HistoryWriter:
    """Appends events to one JSON-lines file; thread- and greenlet-safe; flushed line by line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives with the writer
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

    def next_op(self, process: str) -> int:
        with self._lock:
            self._seq[process] = self._seq.get(process, 0) + 1
            return self._seq[process]

    def append(self, event: dict[str, Any]) -> None:
        event.setdefault("time", now_ns())
        event.setdefault("wall", time.time())
        line = json.dumps({k: v for k, v in event.items() if v is not None}, separators=(",", ":"), default=str)
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")

    def invoke(self, process: str, f: str, **fields: Any) -> int:
        """Record an invoke; returns its ``op`` number for the completion."""
        op = self.next_op(process)
        self.append({"type": "invoke", "process": process, "op": op, "f": f, **fields})
        return op

    def complete(self, kind: str, process: str, op: int, f: str, **fields: Any) -> None:
        if kind not in ("ok", "fail", "info"):
            raise ValueError(f"completion type must be ok, fail or info, not {kind!r}")
        self.append({"type": kind, "process": process, "op": op, "f": f, **fields})

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                self._file.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def history_path(run_dir: str | Path, name: str) -> Path:
    """The history file for writer ``name`` in a run folder (pid-suffixed so processes never share one)."""
    return Path(run_dir) / HISTORY_DIR / f"{name}-{os.getpid()}.jsonl"


def read_events(path: str | Path) -> Iterable[dict[str, Any]]:
    """Events of one file; a torn last line (crash mid-write) is skipped, any other bad line is an error."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                return
            raise ValueError(f"{path}:{number}: not a JSON history line") from None
        yield event


def load_history(run_dir: str | Path):
    """All history files of a run merged into one DataFrame sorted by ``time`` (then file order).

    Columns are ``COLUMNS`` (missing ones are None); ``source`` names the file each event came from.
    """
    import pandas as pd

    files = sorted((Path(run_dir) / HISTORY_DIR).glob("*.jsonl"))
    rows: list[dict[str, Any]] = []
    for path in files:
        for event in read_events(path):
            event["source"] = path.name
            rows.append(event)
    frame = pd.DataFrame(rows, columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS)
    extra = sorted({k for row in rows for k in row} - set(COLUMNS))
    for column in extra:
        frame[column] = [row.get(column) for row in rows]
    return frame.sort_values("time", kind="stable").reset_index(drop=True)
