"""Topology sampling: a background thread that records every group's leader and term to
``<run>/topology.jsonl`` (one line per sample), on the history's clock, so analysis can time elections."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from .targets.base import NodeInfo
from .topology import observe

TOPOLOGY_FILE = "topology.jsonl"


class TopologySampler(threading.Thread):
    """Samples every ``interval`` seconds until stopped or ``max_seconds`` pass (bounded by design).

    Each line: ``{"time": monotonic ns, "wall": unix s, "half_width_ns": ns, "groups": {group: {"leader",
    "term", "members": {node: role or "down"}}}}``. An observation asks every node in parallel and can take
    up to its timeout (0.5 s), so ``time``/``wall`` are its midpoint and ``half_width_ns`` half its span:
    the state seen held somewhere within ``time`` +- ``half_width_ns``. (Files written before this field
    existed stamped the start of the observation; analysis reads them with an unknown uncertainty.)
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
                wall_before = time.time()
                topology = observe(self.nodes, timeout=min(0.5, self.interval * 5), client=client)
                wall = (wall_before + time.time()) / 2
                groups = {
                    name: {"leader": view.leader, "term": view.term,
                           "members": {n: (s.get("role") if s.get("reachable") else "down")
                                       for n, s in sorted(view.members.items())}}
                    for name, view in sorted(topology.groups.items())
                }
                out.write(json.dumps({"time": topology.midpoint_ns, "wall": round(wall, 6),
                                      "half_width_ns": topology.half_width_ns, "groups": groups}) + "\n")
                self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
