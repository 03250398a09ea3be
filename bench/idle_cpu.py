"""Idle CPU of the testbed, commit latency and leader-kill election time, per Raft tuning, side by side.

Each variant is a copy of the god-tier preset with its ``[raft]`` settings overridden (and ``groups`` set,
so 12 nodes = 4 groups can be measured before scale-out exists); one fresh testbed per variant, measured
one after the other: idle CPU in cores (CPU seconds of every node process and the fault proxy over
``--seconds`` wall seconds, after the cluster settled), one writer's commit latency p50/p99 (ms) against
g0's leader, and the election time (s) of ``--kills`` leader kills.

    .venv/bin/python bench/idle_cpu.py [--groups 4] [--seconds 15] [--kills 3] [--variants before,after]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from bench.kv_throughput import run_writers  # noqa: E402
from bench.leader_kill import one_kill  # noqa: E402
from tier7.contract import ContractClient  # noqa: E402
from tier7.ring import HarnessRing  # noqa: E402
from tier7.topology import observe  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VARIANTS_FILE = Path(__file__).with_name("idle_cpu.toml")


def preset_text(base: dict, groups: int, raft: dict) -> str:
    """The god-tier preset with ``groups`` and ``raft`` overrides, as TOML text."""
    lines = []
    for section, table in base.items():
        if not isinstance(table, dict):
            lines.insert(0, f"{section} = {toml_value(table)}")
            continue
        lines.extend(table_lines(section, table, groups, raft))
    return "\n".join(lines) + "\n"


def table_lines(name: str, table: dict, groups: int, raft: dict) -> list[str]:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if name == "cluster":
        scalars["groups"] = groups
    if name == "raft":
        scalars.update(raft)
    out = [f"[{name}]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in scalars.items())]
    for key, sub in table.items():
        if isinstance(sub, dict):
            out.extend(table_lines(f"{name}.{key}", sub, groups, raft))
    return out


def toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def cluster_processes(cluster) -> list[psutil.Process]:
    pids = list(cluster.pids.values()) + ([cluster.proxy_pid] if cluster.proxy_pid else [])
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs.extend([proc, *proc.children(recursive=True)])
        except psutil.NoSuchProcess:
            pass
    return procs


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(name: str, raft: dict, groups: int, seconds: float, kills: int) -> dict:
    base = tomllib.loads((ROOT / "testbed" / "presets" / "god-tier.toml").read_text())
    with tempfile.TemporaryDirectory(prefix="tier7-idle-") as tmp:
        preset = Path(tmp) / f"idle-{name}.toml"
        preset.write_text(preset_text(base, groups, raft))
        with testbed_cluster(preset=str(preset)) as cluster, httpx.Client(timeout=10) as http:
            nodes = cluster.nodes()
            wait_until(lambda: observe(nodes).healthy(), 30, 0.2, "a healthy cluster")
            time.sleep(3)  # settle: start-up work (elections, journal loads) is not idle cost
            procs = cluster_processes(cluster)
            before, started = cpu_seconds(procs), time.monotonic()
            time.sleep(seconds)  # the measurement window itself
            idle = (cpu_seconds(procs) - before) / (time.monotonic() - started)
            tenant, token = tenant_token(cluster, http)
            ring = HarnessRing.from_contract(ContractClient(nodes[0].url, client=http).get_json("/v1/ring"))
            leader = observe(nodes).groups["g0"].leader
            keys = [k for k in (f"t{i}" for i in range(2000)) if ring.group_for(tenant, k) == "g0"][:100]
            rate, p50, p99 = run_writers(cluster.node(leader).url, token, keys, 1, 3.0)
            elections = [one_kill(cluster, http, ring, tenant, token, f"g{k % groups}")[0] for k in range(kills)]
            return {"nodes": len(nodes), "idle_cores": idle, "commit_p50_ms": p50, "commit_p99_ms": p99,
                    "writes_per_s": rate, "election_median_s": statistics.median(elections) if elections else None,
                    "election_max_s": max(elections) if elections else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=4, help="Raft groups of 3 nodes (default 4 = 12 nodes)")
    parser.add_argument("--seconds", type=float, default=15.0, help="idle measurement window, seconds")
    parser.add_argument("--kills", type=int, default=3, help="leader kills per variant for the election time")
    parser.add_argument("--variants", default="", help="comma-separated names from bench/idle_cpu.toml (default all)")
    args = parser.parse_args()
    variants = tomllib.loads(VARIANTS_FILE.read_text())["variant"]
    wanted = [v for v in variants if not args.variants or v["name"] in args.variants.split(",")]
    print(f"{'variant':<12} {'nodes':>5} {'idle cores':>10} {'commit p50':>10} {'p99 ms':>7} "
          f"{'writes/s':>8} {'election med':>12} {'max s':>6}")
    for variant in wanted:
        raft = {k: v for k, v in variant.items() if k != "name"}
        r = measure(variant["name"], raft, args.groups, args.seconds, args.kills)
        med = f"{r['election_median_s']:.3f}" if r["election_median_s"] is not None else "-"
        mx = f"{r['election_max_s']:.3f}" if r["election_max_s"] is not None else "-"
        print(f"{variant['name']:<12} {r['nodes']:>5} {r['idle_cores']:>10.3f} {r['commit_p50_ms']:>10.1f} "
              f"{r['commit_p99_ms']:>7.1f} {r['writes_per_s']:>8.0f} {med:>12} {mx:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
