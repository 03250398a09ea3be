"""Start and finish of a verification run: target snapshots, topology sampling, log and metric copies."""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import Tier7Error
from ..report.redact import redact
from ..runfolder import copy_logs, copy_metrics, git_commit, package_versions, write_json
from ..sampler import TopologySampler
from ..targets.base import Capability
from ..targets.network import RegionNetwork
from ..topology import observe
from .context import RunContext
from .httpjson import get_json

ROOT = Path(__file__).resolve().parents[2]


def run_facts(command: str, seed: int, quick: bool, target: str) -> dict[str, Any]:
    packages = package_versions()
    return {"command": command, "seed": seed, "quick": quick, "target": target, "version": __version__,
            "git_commit": git_commit(), "python": platform.python_version(), "packages": packages,
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "started_wall": time.time()}


def snapshot_target(ctx: RunContext) -> None:
    """Save the published ring, config and node list (the harness computes from these, never asks again)."""
    nodes = ctx.nodes()
    ring = next((r for n in nodes if (r := get_json(f"{n.url}/v1/ring")) is not None), None)
    if ring is None:
        raise Tier7Error(f"target unreachable: no node answered /v1/ring ({nodes[0].url} ...)")
    ctx.facts["ring"] = ring
    write_json(ctx.run_dir / "target" / "ring.json", ring)
    write_json(ctx.run_dir / "target" / "config.json", get_json(f"{nodes[0].url}/v1/config"))
    write_json(ctx.run_dir / "target" / "nodes.json",
               [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in nodes])
    ctx.record("topology", {"before": observe(nodes).as_dict()})


def observe_topology_after(ctx: RunContext) -> None:
    """Every group's view at the end (facts/topology.json ``after``, next to ``before``)."""
    ctx.record("topology", {**ctx.recorded.get("topology", {}), "after": observe(ctx.nodes()).as_dict()})


def measure_region_rtt(ctx: RunContext, samples: int = 7) -> None:
    """The round trip (ms) between every pair of simulated regions before any fault: through the link the
    nodes use and directly to the same node; the difference is what the simulated geography adds. Recorded
    in facts/region-rtt.json for the report (a target without simulated regions: not applicable)."""
    net = target_network(ctx.target)
    if net is None:
        ctx.record("region-rtt", {"not_applicable": f"target {ctx.target.name!r} has no simulated regions "
                                  "(no fault proxy on its inter-region links)"})
        return
    rows = []
    for i, a in enumerate(net.regions):
        for b in net.regions[i + 1:]:
            try:
                measured = net.round_trip_ms(a, b, samples)
            except Tier7Error as exc:
                rows.append({"regions": f"{a} -> {b}", "baseline_ms": net.baseline_ms(a, b), "error": str(exc)})
                continue
            rows.append({"regions": f"{a} -> {b}", "baseline_ms": net.baseline_ms(a, b), **measured})
    ctx.record("region-rtt", {"profile": net.profile, "rows": rows})


def target_network(target: Any) -> RegionNetwork | None:
    """The target's inter-region network when it declares the NETWORK capability, else None."""
    if Capability.NETWORK not in getattr(target, "capabilities", frozenset()):
        return None
    network = getattr(target, "network", None)
    return network() if callable(network) else None


def start_sampler(ctx: RunContext) -> TopologySampler:
    sampler = TopologySampler(ctx.nodes(), ctx.run_dir, interval=0.1, max_seconds=3600)
    sampler.start()
    return sampler


def collect_artefacts(ctx: RunContext) -> None:
    """Copy node logs and every node's /metrics into the run folder, secrets redacted."""
    secrets = ctx.secrets()
    copy_logs(ctx.run_dir, {n: p for n, p in ctx.target.log_files().items() if p.exists()}, secrets)
    copy_metrics(ctx.run_dir, {n.name: n.url for n in ctx.nodes()}, secrets)


def copy_cluster_file(ctx: RunContext, cluster_file: Path | None) -> None:
    if cluster_file and cluster_file.exists():
        data = json.loads(cluster_file.read_text())
        (ctx.run_dir / "target").mkdir(exist_ok=True)
        (ctx.run_dir / "target" / "cluster.json").write_text(redact(json.dumps(data, indent=2), ctx.secrets()))
