"""Raft topology as the harness observes it: every node's own ``GET /v1/node``, polled directly."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from .history import now_ns
from .targets.base import NodeInfo


@dataclass
class GroupView:
    group: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> its /v1/node answer (or error)

    @property
    def leaders(self) -> list[str]:
        return sorted(n for n, s in self.members.items() if s.get("role") == "leader")

    @property
    def leader(self) -> str | None:
        """The leader, when exactly one member claims leadership of the highest term and its peers agree."""
        claims = [n for n in self.leaders if self.members[n].get("term") == self.term]
        return claims[0] if len(claims) == 1 else None

    @property
    def term(self) -> int | None:
        terms = [s["term"] for s in self.members.values() if isinstance(s.get("term"), int)]
        return max(terms) if terms else None

    def healthy(self) -> bool:
        """All members reachable, one leader, and every member names that leader."""
        leader = self.leader
        return leader is not None and all(
            s.get("reachable") and s.get("leader") == leader for s in self.members.values())


@dataclass
class Topology:
    taken_at: float  # time.monotonic() seconds, when the last answer was in
    groups: dict[str, GroupView]
    # The observation's span on the history's clock (monotonic ns): the first request left at
    # ``observed_from_ns``, the last answer (or timeout) came at ``observed_to_ns``. Each member's state is
    # from some instant inside it, so a sample is stamped at the midpoint with half the span as uncertainty.
    observed_from_ns: int = 0
    observed_to_ns: int = 0

    @property
    def midpoint_ns(self) -> int:
        """The middle of the observation (monotonic ns): the sample's time stamp."""
        return (self.observed_from_ns + self.observed_to_ns) // 2

    @property
    def half_width_ns(self) -> int:
        """Half the observation's span (ns): the sample's state held within ``midpoint_ns`` +- this."""
        return (self.observed_to_ns - self.observed_from_ns + 1) // 2

    def healthy(self) -> bool:
        return bool(self.groups) and all(g.healthy() for g in self.groups.values())

    def leaders(self) -> dict[str, str | None]:
        return {name: g.leader for name, g in sorted(self.groups.items())}

    def terms(self) -> dict[str, int | None]:
        return {name: g.term for name, g in sorted(self.groups.items())}

    def as_dict(self) -> dict[str, Any]:
        return {name: {"leader": g.leader, "term": g.term,
                       "members": {n: {k: s.get(k) for k in ("region", "role", "term", "commit_index", "reachable")}
                                   for n, s in sorted(g.members.items())}}
                for name, g in sorted(self.groups.items())}


def node_status(client: httpx.Client, node: NodeInfo, timeout: float = 1.0) -> dict[str, Any]:
    try:
        response = client.get(f"{node.url}/v1/node", timeout=timeout)
        data = response.json() if response.status_code == 200 else {"error": f"HTTP {response.status_code}"}
        return {**data, "reachable": response.status_code == 200, "region": node.region}
    except (httpx.HTTPError, ValueError) as exc:
        return {"reachable": False, "region": node.region, "error": exc.__class__.__name__}


def observe(nodes: list[NodeInfo], timeout: float = 1.0, client: httpx.Client | None = None) -> Topology:
    """Ask every node for its own Raft state, in parallel, and group the answers by Raft group."""
    own = client is None
    client = client or httpx.Client()
    started = now_ns()
    try:
        with ThreadPoolExecutor(max_workers=min(16, len(nodes) or 1)) as pool:
            answers = list(pool.map(lambda n: node_status(client, n, timeout), nodes))
    finally:
        if own:
            client.close()
    groups: dict[str, GroupView] = {}
    for node, answer in zip(nodes, answers, strict=True):
        groups.setdefault(node.group, GroupView(node.group)).members[node.name] = answer
    return Topology(time.monotonic(), groups, started, now_ns())


def format_table(topology: Topology) -> str:
    lines = [f"{'group':<6} {'leader':<16} {'term':>5}  members"]
    for name, group in sorted(topology.groups.items()):
        members = ", ".join(
            f"{n}({s.get('role', 'down') if s.get('reachable') else 'DOWN'})" for n, s in sorted(group.members.items()))
        lines.append(f"{name:<6} {group.leader or '-':<16} {group.term if group.term is not None else '-':>5}  {members}")
    return "\n".join(lines)
