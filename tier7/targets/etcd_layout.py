"""The etcd target's layout (tier7/targets/etcd.toml): which clusters, which members, where each listens.

Every member has a client port and a peer port; with ``peer_via_proxy`` it advertises a third port, a link
of the fault proxy (``python -m chaos.proxy``, a process of the target like its members) forwarding to its
peer port, so every byte of Raft traffic between members crosses the proxy, where faults can be injected.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from .foreign import free_ports

LAYOUT_FILE = Path(__file__).with_name("etcd.toml")
PROXY = "proxy"  # the fault proxy's name among the target's processes (never a member)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layout:
    clusters: list[str]
    members_per_cluster: int
    regions: list[str]
    heartbeat_ms: int
    election_ms: int
    peer_via_proxy: bool
    proxy_start_s: float
    ring: dict[str, Any]

    def members(self, cluster: str) -> list[str]:
        return [f"{cluster}-{i + 1}" for i in range(self.members_per_cluster)]

    def all_members(self) -> list[str]:
        return [m for c in self.clusters for m in self.members(c)]

    def cluster_of(self, member: str) -> str:
        return member.rsplit("-", 1)[0]

    def region_of(self, member: str) -> str:
        return self.regions[(int(member.rsplit("-", 1)[1]) - 1) % len(self.regions)]

    def ring_params(self) -> dict[str, Any]:
        """The ring in ``GET /v1/ring``'s shape (what tier7/ring.py ``HarnessRing.from_contract`` reads)."""
        return {"hash": self.ring["hash"], "vnodes": int(self.ring["vnodes"]), "epoch": int(self.ring["epoch"]),
                "groups": list(self.clusters), "vnode_label": "{group}#{index}", "placement_label": "{tenant}/{key}"}


def load_layout(path: Path | None = None) -> Layout:
    """The layout file (default: $TIER7_ETCD_LAYOUT, else tier7/targets/etcd.toml); a missing or malformed
    one is a one-line error."""
    path = path or Path(os.environ.get("TIER7_ETCD_LAYOUT") or LAYOUT_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        table = data["layout"]
        layout = Layout(list(table["clusters"]), int(table["members_per_cluster"]), list(table["regions"]),
                        int(table["heartbeat_ms"]), int(table["election_ms"]), bool(table["peer_via_proxy"]),
                        float(table["proxy_start_s"]), dict(data["ring"]))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Tier7Error(f"etcd layout {path}: {exc}") from None
    if not layout.clusters or layout.members_per_cluster < 1 or len(set(layout.clusters)) != len(layout.clusters):
        raise Tier7Error(f"etcd layout {path}: clusters must be distinct names, members_per_cluster >= 1")
    return layout


@dataclass
class Ports:
    client: dict[str, int]
    peer: dict[str, int]        # where the member listens for peers
    advertised: dict[str, int]  # what the other members dial (a proxy link when peer_via_proxy)
    proxy_api: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"client": self.client, "peer": self.peer, "advertised": self.advertised, "proxy_api": self.proxy_api}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ports:
        def ints(d: dict[str, Any]) -> dict[str, int]:
            return {k: int(v) for k, v in d.items()}

        return cls(ints(data["client"]), ints(data["peer"]), ints(data["advertised"]),
                   int(data["proxy_api"]) if data.get("proxy_api") else None)


def pick_ports(layout: Layout) -> Ports:
    members = layout.all_members()
    count = len(members) * (3 if layout.peer_via_proxy else 2) + (1 if layout.peer_via_proxy else 0)
    free = iter(free_ports(count))
    client = {m: next(free) for m in members}
    peer = {m: next(free) for m in members}
    advertised = {m: next(free) for m in members} if layout.peer_via_proxy else dict(peer)
    return Ports(client, peer, advertised, next(free) if layout.peer_via_proxy else None)


def member_argv(binary: str, layout: Layout, ports: Ports, member: str, data_dir: Path, token: str) -> list[str]:
    """The command line of one member (its cluster's members dial each other at their advertised ports)."""
    cluster = layout.cluster_of(member)
    initial = ",".join(f"{m}=http://127.0.0.1:{ports.advertised[m]}" for m in layout.members(cluster))
    return [binary, "--name", member, "--data-dir", str(data_dir),
            "--listen-client-urls", f"http://127.0.0.1:{ports.client[member]}",
            "--advertise-client-urls", f"http://127.0.0.1:{ports.client[member]}",
            "--listen-peer-urls", f"http://127.0.0.1:{ports.peer[member]}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{ports.advertised[member]}",
            "--initial-cluster", initial, "--initial-cluster-token", f"{token}-{cluster}",
            "--initial-cluster-state", "new", "--heartbeat-interval", str(layout.heartbeat_ms),
            "--election-timeout", str(layout.election_ms), "--logger", "zap", "--log-outputs", "stderr"]


def proxy_argv(ports: Ports, label: str) -> list[str]:
    """The fault proxy's command line (``label`` tells this target's proxy from any other)."""
    return [sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1", "--port", str(ports.proxy_api),
            "--label", label]


def proxy_links(ports: Ports) -> list[dict[str, Any]]:
    """One proxy link per member: its advertised peer port -> its peer port."""
    return [{"name": f"peer-{m}", "listen": f"127.0.0.1:{ports.advertised[m]}",
             "upstream": f"127.0.0.1:{ports.peer[m]}", "enabled": True} for m in ports.peer]
