"""Idle CPU of a 9-node testbed (node processes + fault proxy), adaptive transport off vs on, alternating.

The same god-tier preset with ``[transport] enabled`` false / true; per round a fresh cluster, healthy, 4 s
to settle, then CPU seconds (psutil) over ``--seconds`` wall seconds, in cores.

    .venv/bin/python bench/transport_idle.py [--rounds 2] [--seconds 15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import testbed_cluster  # noqa: E402
from bench.idle_cpu import cluster_processes, cpu_seconds, preset_text  # noqa: E402
from tier7.topology import observe  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def idle_cores(enabled: bool, seconds: float) -> tuple[int, float]:
    base = tomllib.loads((ROOT / "testbed" / "presets" / "god-tier.toml").read_text())
    base["transport"] = {**base["transport"], "enabled": enabled}
    with tempfile.TemporaryDirectory(prefix="tier7-transport-idle-") as tmp:
        preset = Path(tmp) / "preset.toml"
        preset.write_text(preset_text(base, base["cluster"]["groups"], dict(base["raft"])))
        with testbed_cluster(preset=str(preset)) as cluster:
            wait_until(lambda: observe(cluster.nodes()).healthy(), 30, 0.2, "a healthy cluster")
            time.sleep(4)  # settle: start-up work is not idle cost
            procs = cluster_processes(cluster)
            before, started = cpu_seconds(procs), time.monotonic()
            time.sleep(seconds)  # the measurement window itself
            return len(cluster.nodes()), (cpu_seconds(procs) - before) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--seconds", type=float, default=15.0, help="measurement window per cluster, seconds")
    args = parser.parse_args()
    for _ in range(args.rounds):
        for enabled in (False, True):
            nodes, cores = idle_cores(enabled, args.seconds)
            print(f"transport {'on ' if enabled else 'off'}: {nodes} nodes, idle {cores:.3f} cores", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
