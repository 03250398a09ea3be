"""The small capability interface every target driver implements (in the spirit of Jepsen's protocols).

A driver declares what it can do; a fault or criterion that needs a capability the driver lacks is
reported NOT APPLICABLE, never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable


class Capability(StrEnum):
    KILL = "kill"          # SIGKILL a node
    RESTART = "restart"    # start a stopped node again
    PAUSE = "pause"        # SIGSTOP / SIGCONT a node
    LOGS = "logs"          # read the nodes' log files
    SCALE = "scale"        # add and remove nodes
    NETWORK = "network"    # latency and partitions between regions (a fault proxy on the inter-region links)
    BLOBS = "blobs"        # blob backends on emulators the driver runs (tier7/targets/emulators.py)
    # Issue 14 (tier7/targets/capabilities.py): what a foreign target's driver offers, and what speaking
    # the HTTP contract (docs/contract.md) brings with it.
    KV = "kv"                  # put/get/cas/delete through a recording client (fail/info split)
    TOPOLOGY = "topology"      # members, leader and term per group
    FEDERATION = "federation"  # several independent groups behind a published ring
    TENANTS = "tenants"        # tenant creation and per-tenant keyspaces
    PRESET = "preset"          # the God-tier preset (published /v1/config)
    CONTRACT = "contract"      # the HTTP contract document (docs/openapi.yaml), fuzzable


class NotApplicable(Exception):
    """The target cannot do what was asked; the verdict is NOT APPLICABLE with this reason."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    group: str
    region: str
    url: str  # base URL of the node's HTTP contract, e.g. http://127.0.0.1:8001


@runtime_checkable
class Target(Protocol):
    name: str
    capabilities: frozenset[Capability]

    def nodes(self) -> list[NodeInfo]: ...

    def admin_token(self) -> str: ...

    def log_files(self) -> dict[str, Path]: ...

    def kill_node(self, node: str) -> None: ...

    def start_node(self, node: str) -> None: ...

    def pause_node(self, node: str) -> None: ...

    def resume_node(self, node: str) -> None: ...


def require(target: Target, capability: Capability) -> None:
    if capability not in target.capabilities:
        raise NotApplicable(f"target {target.name!r} cannot {capability.value} nodes")
