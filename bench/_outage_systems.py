"""The three systems of bench/outage_side_by_side.py behind one small interface: ``groups()``,
``leader(group)``, ``kill(member)``, ``restart(member)``, ``healthy()``, ``writer_put(group) -> put(key, value)``
(raises on anything but an acknowledgement) and ``keys(group, n)`` (keys the system places in ``group``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._cluster import tenant_token
from tier7.contract import ContractClient
from tier7.ring import HarnessRing
from tier7.targets.etcd import EtcdTarget
from tier7.targets.etcd_kv import FederatedKv
from tier7.targets.redis_sentinel import RedisSentinelTarget, SentinelKv
from tier7.targets.testbed import TestbedTarget
from tier7.topology import observe

Put = Callable[[str, str], None]


class Testbed:
    name = "testbed"

    def __init__(self, target: TestbedTarget, http: httpx.Client) -> None:
        self.target, self.http = target, http
        self.tenant, self.token = tenant_token(target, http)
        self.ring = HarnessRing.from_contract(ContractClient(target.nodes()[0].url, client=http).get_json("/v1/ring"))

    def groups(self) -> list[str]:
        return sorted({n.group for n in self.target.nodes()})

    def leader(self, group: str) -> str | None:
        return observe(self.target.nodes()).groups[group].leader

    def healthy(self) -> bool:
        return observe(self.target.nodes()).healthy()

    def keys(self, group: str, n: int) -> list[str]:
        return [k for k in (f"o{group}-{i}" for i in range(50 * n)) if self.ring.group_for(self.tenant, k) == group][:n]

    def writer_put(self, group: str) -> Put:
        """Through the nodes of the other groups (forwarded): the client never dials the dead node."""
        clients = [ContractClient(n.url, self.token, client=self.http) for n in self.target.nodes() if n.group != group]
        turn = iter(range(10**9))

        def put(key: str, value: str) -> None:
            if clients[next(turn) % len(clients)].put(key, value).status != 200:
                raise RuntimeError("not acknowledged")
        return put

    def kill(self, member: str) -> None:
        self.target.kill_node(member)

    def restart(self, member: str) -> None:
        self.target.start_node(member)


class Foreign:
    """etcd (3 clusters behind the harness's ring) or Redis Sentinel, through the drivers' raw clients."""

    def __init__(self, target: Any) -> None:
        self.target, self.name = target, target.name

    def groups(self) -> list[str]:
        return list(self.target.groups())

    def leader(self, group: str) -> str | None:
        return self.target.leader(group)

    def healthy(self) -> bool:
        return all(v["leader"] and "down" not in v["members"].values() for v in self.target.observe().values())

    def keys(self, group: str, n: int) -> list[str]:
        ring = getattr(self.target, "ring", None)
        candidates = (f"o{group}-{i}" for i in range(50 * n))
        return [k for k in candidates if ring is None or ring.group_for(self.target.name, k) == group][:n]

    def writer_put(self, group: str) -> Put:
        if isinstance(self.target, EtcdTarget):
            backend: Any = FederatedKv({c: self.target.cluster_urls(c) for c in self.groups()}, self.target.ring,
                                       self.target.name, 0)
        else:
            backend = SentinelKv(self.target)
        return backend.put

    def kill(self, member: str) -> None:
        self.target.kill_node(member)

    def restart(self, member: str) -> None:
        self.target.start_node(member)


@contextmanager
def system(name: str, start_limit_s: float) -> Iterator[Any]:
    """One system started in a temporary folder, stopped (by PID) when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"tier7-outage-{name}-") as tmp:
        if name == "testbed":
            target: Any = TestbedTarget.create(Path(tmp) / "tb")
        elif name == "etcd":
            target = EtcdTarget.create(Path(tmp) / "etcd")
        elif name == "redis-sentinel":
            target = RedisSentinelTarget.create(Path(tmp) / "redis")
        else:
            raise SystemExit(f"unknown system {name!r}: testbed, etcd or redis-sentinel")
        try:
            target.start(timeout=start_limit_s)
            if name == "testbed":
                with httpx.Client(timeout=10) as http:
                    yield Testbed(target, http)
            else:
                yield Foreign(target)
        finally:
            target.stop()
