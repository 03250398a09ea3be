"""Topology sampling: a background thread that records every group's leader and term to
``<run>/topology.jsonl`` (one line per sample), on the history's clock, so analysis can time elections."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from .history import now_ns
from .targets.base import NodeInfo
from .topology import observe

TOPOLOGY_FILE = "topology.jsonl"


class TopologySampler(threading.Thread):
    """Samples every ``interval`` seconds until stopped or ``max_seconds`` pass (bounded by design).

    Each line: ``{"time": monotonic ns, "wall": unix s, "groups": {group: {"leader", "term",
    "members": {node: role or "down"}}}}``.
    """

    def __init__(self, nodes: list[NodeInfo], run_dir: str | Path, interval: float = 0.1,
                 max_seconds: float = 3600.0) -> None:
        super().__init__(name="topology-sampler", daemon=True)
        self.nodes, self.interval, self.max_seconds = nodes, interval, max_seconds
        self.path = Path(run_dir) / TOPOLOGY_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stop_event = threading.Event()
        self.samples = 0

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client() as client, open(self.path, "a", encoding="utf-8", buffering=1) as out:
            while not self._stop_event.is_set() and time.monotonic() < deadline:
                started = now_ns()
                topology = observe(self.nodes, timeout=min(0.5, self.interval * 5), client=client)
                groups = {
                    name: {"leader": view.leader, "term": view.term,
                           "members": {n: (s.get("role") if s.get("reachable") else "down")
                                       for n, s in sorted(view.members.items())}}
                    for name, view in sorted(topology.groups.items())
                }
                out.write(json.dumps({"time": started, "wall": time.time(), "groups": groups}) + "\n")
                self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
