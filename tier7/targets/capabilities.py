"""Capability protocols of target drivers (issue 14), in the style of Jepsen's client/nemesis protocols and
etcd robustness's ``Failpoint{Inject, Name, Available}``: a driver offers a few small interfaces, each named
by a ``Capability``; a criterion declares the capabilities it needs (analysis/plan.toml ``capabilities``) and
a target lacking one is judged NOT APPLICABLE with the capability named.

- ``KvClient``: a recording key/value client (put, get, cas, delete; history with the fail/info split);
- ``Topology``: groups, members, and each group's leader and term;
- ``ProcessControl``: kill, start, pause, resume a member (its own process group, by PID);
- ``Logs``: the path of every member's log.

A target that speaks the HTTP contract (docs/contract.md: the testbed, a target file) has every capability
the contract brings (``CONTRACT_CAPABILITIES``); a foreign driver (etcd, Redis Sentinel) says
``speaks_contract = False`` and has only what it declares. ``tier7 targets describe`` prints the matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..history import HistoryWriter
from .base import Capability

CONTRACT_CAPABILITIES = frozenset({Capability.KV, Capability.TOPOLOGY, Capability.FEDERATION, Capability.TENANTS,
                                   Capability.PRESET, Capability.CONTRACT})


@runtime_checkable
class KvClient(Protocol):
    """One history process's client. Each call records an invoke and one completion: ``ok``, ``fail``
    (certainly not applied) or ``info`` (unknown). Returns the completion type."""

    def put(self, key: str, value: str, once: bool = False) -> str: ...

    def get(self, key: str) -> str: ...

    def cas(self, key: str, expected: str | None, new: str) -> str: ...

    def delete(self, key: str) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class Topology(Protocol):
    def groups(self) -> dict[str, list[str]]: ...

    def observe(self) -> dict[str, dict[str, Any]]:
        """Per group: ``{"leader": member|None, "term": int|None, "members": {member: role or "down"}}``."""
        ...


@runtime_checkable
class ProcessControl(Protocol):
    def kill_node(self, node: str) -> None: ...

    def start_node(self, node: str) -> None: ...

    def pause_node(self, node: str) -> None: ...

    def resume_node(self, node: str) -> None: ...


@runtime_checkable
class ProcessInventory(Protocol):
    """A driver that started its members' processes and knows them: which run, which are paused (the
    testbed). Without it, "down" and "paused" can only be told from the outside (a node not answering)."""

    pids: dict[str, int]

    def is_running(self, name: str) -> bool: ...

    def paused(self) -> list[str]: ...


@runtime_checkable
class GracefulStop(Protocol):
    """Stop a member politely (SIGTERM, SIGKILL after a grace), for a restart that is not a crash."""

    def stop_node(self, name: str) -> None: ...


@runtime_checkable
class SafetyNet(Protocol):
    """Undo every fault the driver knows of (resume, start, remove network faults) within ``within_s``."""

    def heal(self, within_s: float = 30.0) -> dict[str, Any]: ...


@runtime_checkable
class Logs(Protocol):
    def log_files(self) -> dict[str, Path]: ...


@runtime_checkable
class KvDriver(Protocol):
    """A driver offering ``KvClient``s: one per history process."""

    def kv_client(self, history: HistoryWriter, process: str) -> KvClient: ...


def speaks_contract(target: Any) -> bool:
    return bool(getattr(target, "speaks_contract", True))


def declared(target: Any) -> frozenset[str]:
    """Capability names a target (or driver class) offers: its own, plus the contract's when it speaks it."""
    own = {str(c) for c in getattr(target, "capabilities", frozenset())}
    if speaks_contract(target):
        own |= {c.value for c in CONTRACT_CAPABILITIES}
    return frozenset(own)


@dataclass(frozen=True)
class DriverRow:
    kind: str
    capabilities: frozenset[str]
    note: str


def driver_rows() -> list[DriverRow]:
    """What each driver kind can do, without starting anything (class-level declarations)."""
    from .etcd import EtcdTarget
    from .redis_sentinel import RedisSentinelTarget
    from .testbed import TestbedTarget

    return [
        DriverRow("testbed", declared(TestbedTarget) | {Capability.NETWORK.value, "crdt"},
                  "bundled cluster; network with a geo profile, crdt from /v1/config"),
        DriverRow("etcd", declared(EtcdTarget), f"{EtcdTarget.summary}"),
        DriverRow("redis-sentinel", declared(RedisSentinelTarget), f"{RedisSentinelTarget.summary}"),
        DriverRow("target file", frozenset({c.value for c in CONTRACT_CAPABILITIES}) | {"kill?", "restart?", "pause?",
                                                                                       "logs?"},
                  "any contract cluster; '?' = only when its [operator] commands / log paths are given"),
    ]


def criteria_needing(plan_criteria: Iterable[Any], capabilities: frozenset[str]) -> list[tuple[str, list[str]]]:
    """(criterion id, missing capabilities) for every built criterion (missing empty: applicable)."""
    return [(c.id, [n for n in c.capabilities if n not in capabilities]) for c in plan_criteria if c.built]


def describe() -> str:
    """The capability matrix of every driver kind, and what each criterion needs (``tier7 targets describe``)."""
    from ..plan import CRITERIA

    rows = driver_rows()
    names = sorted({c.value for c in Capability} | {"crdt"})
    width = max(len(r.kind) for r in rows) + 2
    lines = ["capabilities of each target driver (x = has it, ? = when configured):", "",
             " " * width + " ".join(f"{n:<10}" for n in names)]
    for row in rows:
        marks = ["x" if n in row.capabilities else "?" if f"{n}?" in row.capabilities else "-" for n in names]
        lines.append(f"{row.kind:<{width}}" + " ".join(f"{m:<10}" for m in marks))
    lines += ["", "notes:"] + [f"  {r.kind}: {r.note}" for r in rows]
    lines += ["", "criteria and the capabilities they need (NOT APPLICABLE on a target lacking one):"]
    for c in CRITERIA:
        if not c.built:
            continue
        needs = ", ".join(c.capabilities) or "-"
        lacking = [r.kind for r in rows if any(n not in r.capabilities and f"{n}?" not in r.capabilities
                                               for n in c.capabilities)]
        lines.append(f"  {c.id:<20} needs {needs:<34} NOT APPLICABLE on: {', '.join(lacking) or '-'}")
    return "\n".join(lines)
