"""What a load run records about itself at the start: ``run.json`` facts and ``target/*.json`` (the
folder itself, JSON writing and the log/metric copies are tier7.runfolder's)."""

from __future__ import annotations

import functools
import platform
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..runfolder import git_commit, package_versions, write_json
from .target import LoadTarget


@functools.cache
def versions() -> dict[str, str]:
    """Installed versions (cached: the web UI warms this before START, so a START does not wait for it)."""
    return {"python": platform.python_version(), "tier7": __version__, **package_versions()}


@functools.cache
def commit() -> str:
    """The harness's git commit (cached: it does not change while a process runs; ``git`` takes seconds on
    a loaded machine)."""
    return git_commit()


def write_target(run_dir: Path, target: LoadTarget, contract: dict[str, Any]) -> None:
    """``target/ring.json``, ``target/config.json``, ``target/nodes.json``."""
    write_json(run_dir / "target" / "ring.json", contract["ring"], target.secrets)
    write_json(run_dir / "target" / "config.json", contract["config"], target.secrets)
    nodes = [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in target.nodes]
    write_json(run_dir / "target" / "nodes.json", nodes, target.secrets)


def run_info(kind: str, argv: list[str], seed: int, target: LoadTarget, extra: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "argv": argv, "seed": seed, "started_wall": time.time(), "ended_wall": None,
            "target": target.describe(), "versions": dict(versions()), "git_commit": commit(), **extra}
