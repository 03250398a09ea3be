"""Traffic that crosses one region pair, and the protocol each answer says carried it (issue 13).

The harness picks the path itself, from the contract: the ring parameters (``GET /v1/ring``, placement
computed by ``HarnessRing``) and each group's leader (every node's ``GET /v1/node``). A request sent to an
*entry* node of region A for a key owned by a group whose leader is in region B is forwarded A -> B, and
the forwarded answer names the protocol of that hop (``transport``: ``h2`` | ``h3`` | ``http/1.1``, contract
v6). ``Route.put`` records one write: wall/monotonic time (ns), status, protocol, latency.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from .contract import ContractClient
from .errors import Tier7Error
from .history import now_ns
from .ring import HarnessRing
from .targets.base import NodeInfo, Target
from .topology import observe


@dataclass
class Route:
    entry: NodeInfo
    group: str
    leader: str
    tenant: str
    token: str
    ring: HarnessRing
    pair: str  # "<entry region>/<leader region>", the entry node's name for the pair

    def keys(self, prefix: str, count: int) -> list[str]:
        """``count`` keys of ``self.tenant`` owned by ``self.group`` (the harness's placement)."""
        found: list[str] = []
        for index in range(count * len(self.ring.groups) * 20 + 100):  # bounded; ~1/groups of keys qualify
            key = f"{prefix}-{index}"
            if self.ring.group_for(self.tenant, key) == self.group:
                found.append(key)
                if len(found) == count:
                    return found
        raise Tier7Error(f"could not find {count} keys of group {self.group}")

    def put(self, client: httpx.Client, key: str, value: str) -> dict[str, Any]:
        """One recorded write through the entry node; never raises for a failed request."""
        started_ns, wall = now_ns(), time.time()
        row: dict[str, Any] = {"t_ns": started_ns, "wall": round(wall, 6), "key": key, "value": value}
        try:
            answer = ContractClient(self.entry.url, self.token, client=client).put(key, value, tenant=self.tenant)
            row.update(status=answer.status, transport=answer.body.get("transport"),
                       served_by=answer.body.get("node"), forwarded_by=answer.body.get("forwarded_by"))
        except (Tier7Error, httpx.HTTPError) as exc:
            row.update(status=None, transport=None, error=f"{exc.__class__.__name__}: {exc}"[:200])
        row["latency_ms"] = round((now_ns() - started_ns) / 1e6, 3)
        return row


def tenant_token(target: Target, client: httpx.Client, tenant: str) -> str:
    """Create ``tenant`` (or fetch it again: creation is idempotent by name) and return its token."""
    for node in target.nodes():
        try:
            answer = ContractClient(node.url, target.admin_token(), client=client).create_tenant(tenant)
        except Tier7Error:
            continue
        if answer.status in (200, 201) and isinstance(answer.body.get("token"), str):
            return answer.body["token"]
    raise Tier7Error(f"could not create tenant {tenant!r} on any node")


def find_route(target: Target, client: httpx.Client, region_a: str, region_b: str, tenant: str,
               any_pair: bool = False) -> Route:
    """A path whose forwarded hop goes from ``region_a`` to ``region_b``; Tier7Error when there is none.
    ``any_pair``: when no group is led from ``region_b``, take the reverse pair, then any other pair (the
    leaders are where elections put them)."""
    nodes = target.nodes()
    regions = {n.region for n in nodes}
    for region in (region_a, region_b):
        if region not in regions:
            raise Tier7Error(f"unknown region {region!r}; regions: {', '.join(sorted(regions))}")
    if region_a == region_b:
        raise Tier7Error("the two regions must differ")
    ring = HarnessRing.from_contract(ContractClient(nodes[0].url, client=client).get_json("/v1/ring"))
    leaders = observe(nodes, client=client).leaders()
    region_of = {n.name: n.region for n in nodes}
    pairs = [(region_a, region_b)]
    if any_pair:
        pairs += [(region_b, region_a)] + [(a, b) for a in sorted(regions) for b in sorted(regions)
                                           if a != b and (a, b) not in ((region_a, region_b), (region_b, region_a))]
    for a, b in pairs:
        for group in ring.groups:
            leader = leaders.get(group)
            if not leader or region_of.get(leader) != b:
                continue
            entries = [n for n in nodes if n.region == a and n.group != group]
            if entries:
                token = tenant_token(target, client, tenant)
                return Route(entries[0], group, leader, tenant, token, ring, f"{a}/{b}")
    raise Tier7Error(f"no group has its leader in {region_b} with an entry node in {region_a} outside it "
                     f"(leaders: {leaders})")
