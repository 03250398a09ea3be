"""Opening a target named by a file: a running testbed's ``cluster.json`` (written by ``tier7 testbed up``)
opens as that testbed, with everything its driver can do; any other file is a contract-only target file
(TOML or JSON, see tier7/targets/http.py)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import Tier7Error
from .http import HttpTarget
from .testbed import TestbedTarget


def is_testbed_cluster_file(path: Path) -> bool:
    """True for the cluster file of a bundled testbed (nodes with ``http_port``, a ``preset`` section)."""
    if path.suffix != ".json":
        return False
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return (isinstance(nodes, list) and bool(nodes) and "preset" in data
            and all(isinstance(n, dict) and "http_port" in n for n in nodes))


def open_target_file(path: str | Path) -> TestbedTarget | HttpTarget:
    """The target a file describes; a testbed cluster file must belong to a running testbed."""
    path = Path(path)
    if not path.exists():
        raise Tier7Error(f"target file not found: {path}")
    if is_testbed_cluster_file(path):
        target = TestbedTarget(path.parent)
        if not target.running():
            raise Tier7Error(f"the testbed of {path} is not running; start it with "
                             f"`tier7 testbed up --dir {path.parent}`")
        return target
    return HttpTarget.from_file(path)
