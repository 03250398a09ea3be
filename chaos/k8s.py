"""Chaos Toolkit activities for the testbed on Kubernetes (deploy/k8s, experiments/k8s/).

The leader is found through the contract (``chaos.probes.leader_of``: the agreed leader of the group's
topology), then its pod is terminated with chaostoolkit-kubernetes (``chaosk8s``). Node ``<group>-<region>``
is pod ``<group>-<i>`` of the group's StatefulSet, i = 0, 1, 2 for us-east, eu-west, ap-south
(deploy/compose/make_cluster.py --layout k8s writes the cluster file that way).
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from .probes import leader_of

REGION_INDEX = {"us-east": 0, "eu-west": 1, "ap-south": 2}
_last_killed: dict[str, str] = {}  # group -> node whose pod this process terminated last


def pod_of(node: str) -> str:
    """``g0-eu-west`` -> ``g0-1`` (StatefulSet pod of the node)."""
    group, _, region = node.partition("-")
    if region not in REGION_INDEX:
        raise ActivityFailed(f"node {node!r}: not <group>-<region> with a region of {', '.join(REGION_INDEX)}")
    return f"{group}-{REGION_INDEX[region]}"


def terminate_leader_pod(group: str = "g0", ns: str = "tier7", grace_period: int = 0,
                         configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Terminate the pod of ``group``'s current leader (grace_period s; 0 = at once, like SIGKILL)."""
    from chaosk8s.pod.actions import terminate_pods

    leader = leader_of(group, configuration)
    if not leader:
        raise ActivityFailed(f"group {group} has no agreed leader: nothing to kill")
    pod = pod_of(leader)
    terminate_pods(name_pattern=f"^{pod}$", ns=ns, grace_period=grace_period, secrets=secrets)
    _last_killed[group] = leader
    return {"group": group, "leader": leader, "pod": pod, "terminated_at": time.time()}


def leader_moved(group: str = "g0", within_s: float = 10.0, configuration: Configuration = None) -> str:
    """Wait (bounded by ``within_s`` s) for a leader of ``group`` other than the node whose pod was killed."""
    killed = _last_killed.get(group)
    deadline = time.monotonic() + within_s
    while True:
        leader = leader_of(group, configuration)
        if leader and leader != killed:
            return leader
        if time.monotonic() > deadline:
            raise ActivityFailed(f"group {group}: no new leader within {within_s} s (killed: {killed})")
        time.sleep(0.2)
