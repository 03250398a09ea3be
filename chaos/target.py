"""The target the activities act on, resolved from the experiment's configuration.

Configuration keys (each may be set in the experiment, by ``--var key=value`` or by environment):

- ``tier7_target``: ``testbed`` (default; env ``TIER7_TARGET``) or the path of a target file
  (``tier7/targets/http.py``: any cluster speaking the contract, operated by shell commands);
- ``tier7_testbed_dir``: the testbed's folder (default ``$TIER7_TESTBED_DIR``, else ``results/testbed``,
  where ``tier7 testbed up`` puts it).

Every problem is raised as Chaos Toolkit's ``ActivityFailed`` with a message saying what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from tier7.errors import Tier7Error
from tier7.targets.base import Capability, NotApplicable, Target, require
from tier7.targets.files import open_target_file
from tier7.targets.network import RegionNetwork
from tier7.targets.testbed import TestbedTarget
from tier7.topology import Topology, observe

TARGET_KEY = "tier7_target"
TESTBED_DIR_KEY = "tier7_testbed_dir"


def setting(configuration: dict[str, Any] | None, key: str, env: str, default: str) -> str:
    value = (configuration or {}).get(key)
    return str(value) if value not in (None, "") else os.environ.get(env) or default


def testbed_dir(configuration: dict[str, Any] | None) -> Path:
    return Path(setting(configuration, TESTBED_DIR_KEY, "TIER7_TESTBED_DIR", "results/testbed"))


def resolve(configuration: dict[str, Any] | None) -> Target:
    kind = setting(configuration, TARGET_KEY, "TIER7_TARGET", "testbed")
    try:
        if kind == "testbed":
            return TestbedTarget(testbed_dir(configuration))
        return open_target_file(kind)
    except Tier7Error as exc:
        raise ActivityFailed(f"target: {exc}") from None


def needs(target: Target, capability: Capability) -> None:
    try:
        require(target, capability)
    except NotApplicable as exc:
        raise ActivityFailed(str(exc)) from None


def network(target: Target) -> RegionNetwork:
    """The target's inter-region network faults; fails when it has no fault proxy on its links."""
    needs(target, Capability.NETWORK)
    found = target.network() if hasattr(target, "network") else None
    if found is None:
        raise ActivityFailed(f"target {target.name!r} has no simulated regions (no fault proxy on its links)")
    return found


def topology(target: Target, timeout: float = 1.0) -> Topology:
    """Every node's own Raft state; fails with a clear message when no node answers at all."""
    found = observe(target.nodes(), timeout=timeout)
    answers = [s for g in found.groups.values() for s in g.members.values()]
    if answers and not any(s.get("reachable") for s in answers):
        first = next((s.get("error") for s in answers if s.get("error")), "no answer")
        where = target.dir if isinstance(target, TestbedTarget) else target.name
        raise ActivityFailed(f"target unreachable: none of its {len(answers)} nodes answered GET /v1/node "
                             f"({first}); is the cluster in {where} running? (`tier7 testbed status`)")
    return found


def group_view(found: Topology, group: str):
    if group not in found.groups:
        raise ActivityFailed(f"unknown group {group!r}; groups: {', '.join(sorted(found.groups))}")
    return found.groups[group]


def node_info(target: Target, name: str):
    for node in target.nodes():
        if node.name == name:
            return node
    raise ActivityFailed(f"unknown node {name!r}; nodes: {', '.join(n.name for n in target.nodes())}")


def describe_system() -> dict[str, Any]:
    """For ``chaos discover``: the default target's nodes and capabilities, or why it is not there."""
    try:
        target = resolve(None)
    except ActivityFailed as exc:
        return {"target": None, "note": str(exc)}
    return {"target": target.name, "capabilities": sorted(c.value for c in target.capabilities),
            "nodes": [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in target.nodes()]}
