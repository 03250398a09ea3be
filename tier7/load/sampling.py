"""The topology sampler (tier7/sampler.py) in a process of its own, so that simulated users saturating
the load process cannot delay its 0.1 s samples (elections are timed from them).

    python -m tier7.load.sampling <run dir> <max seconds>

reads ``<run dir>/target/nodes.json`` and appends to ``<run dir>/topology.jsonl`` until SIGTERM or
``max seconds`` pass, or the process that started it is gone. Started and stopped by PID
(:class:`SamplerProcess`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from ..targets import processes
from ..targets.base import NodeInfo

MODULE = "tier7.load.sampling"


class SamplerProcess:
    """Runs the sampler for ``run_dir`` in its own session; ``stop()`` ends it by PID."""

    def __init__(self, run_dir: Path, max_seconds: float = 7 * 86400, interval: float = 0.1) -> None:
        self.run_dir, self.max_seconds, self.interval = run_dir, max_seconds, interval
        self.pid: int | None = None

    def marker(self) -> list[str]:
        return ["-m", MODULE, str(self.run_dir)]

    def start(self) -> SamplerProcess:
        argv = [sys.executable, "-m", MODULE, str(self.run_dir), str(self.max_seconds), str(self.interval)]
        self.pid = processes.spawn(argv, self.run_dir / "locust" / "topology-sampler.log")
        return self

    def stop(self) -> None:
        if self.pid is not None:
            processes.stop(self.pid, self.marker(), grace=5.0)
            self.pid = None


def main(argv: list[str]) -> int:
    from ..sampler import TopologySampler

    run_dir, max_seconds = Path(argv[0]), float(argv[1])
    interval = float(argv[2]) if len(argv) > 2 else 0.1
    nodes = [NodeInfo(n["name"], n["group"], n["region"], n["url"])
             for n in json.loads((run_dir / "target" / "nodes.json").read_text())]
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    sampler = TopologySampler(nodes, run_dir, interval=interval, max_seconds=max_seconds)
    sampler.start()
    parent = os.getppid()
    while sampler.is_alive() and not done.wait(0.5) and os.getppid() == parent:  # ends with its parent too
        pass
    sampler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
