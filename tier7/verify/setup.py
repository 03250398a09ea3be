"""Start and finish of a verification run: target snapshots, topology sampling, log and metric copies."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .. import __version__
from ..errors import Tier7Error
from ..report.redact import redact
from ..sampler import TopologySampler
from ..topology import observe
from .context import RunContext
from .httpjson import get_json, write_json

ROOT = Path(__file__).resolve().parents[2]


def new_run_dir(out: Path, kind: str = "tier7") -> Path:
    """``<out>/<UTC time>-<kind>/`` (unique), with ``<out>/latest`` pointing at it."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out / f"{stamp}-{kind}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = out / f"{stamp}-{kind}-{suffix}"
    run_dir.mkdir()
    latest = out / "latest"
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(run_dir.name)
    return run_dir


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def run_facts(command: str, seed: int, quick: bool, target: str) -> dict[str, Any]:
    from importlib.metadata import version

    packages = {}
    for name in ("locust", "chaostoolkit", "pandas", "plotly", "pysyncobj"):
        try:
            packages[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing optional package is just not listed
            pass
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
    ctx.facts["topology_before"] = observe(nodes).as_dict()


def start_sampler(ctx: RunContext) -> TopologySampler:
    sampler = TopologySampler(ctx.nodes(), ctx.run_dir, interval=0.1, max_seconds=3600)
    sampler.start()
    return sampler


def collect_artefacts(ctx: RunContext) -> None:
    """Copy node logs (redacted) and scrape every node's /metrics into the run folder."""
    secrets = ctx.secrets()
    for node, path in ctx.target.log_files().items():
        if path.exists():
            (ctx.run_dir / "logs").mkdir(exist_ok=True)
            (ctx.run_dir / "logs" / f"{node}.log").write_text(redact(path.read_text(errors="replace"), secrets))
    with httpx.Client(timeout=5.0) as http:
        for node in ctx.nodes():
            try:
                text = http.get(f"{node.url}/metrics").text
            except httpx.HTTPError:
                continue
            (ctx.run_dir / "metrics").mkdir(exist_ok=True)
            (ctx.run_dir / "metrics" / f"{node.name}.prom").write_text(text)


def copy_cluster_file(ctx: RunContext, cluster_file: Path | None) -> None:
    if cluster_file and cluster_file.exists():
        data = json.loads(cluster_file.read_text())
        (ctx.run_dir / "target").mkdir(exist_ok=True)
        (ctx.run_dir / "target" / "cluster.json").write_text(redact(json.dumps(data, indent=2), ctx.secrets()))
