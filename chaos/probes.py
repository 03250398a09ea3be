"""Chaos Toolkit probes: what the harness observes of the target, through its contract (and, for the
network, the fault proxy's API). Times in seconds; RTTs in milliseconds. A target that cannot be
reached at all raises ``ActivityFailed`` with a clear message; otherwise probes report (bool / dict)."""

import logging
import time
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from tier7.contract import ContractClient
from tier7.errors import Tier7Error
from tier7.history import now_ns
from tier7.ring import HarnessRing
from tier7.targets.base import Capability, Target
from tier7.targets.capabilities import ProcessInventory
from tier7.topology import node_status
from tier7.waiting import DeadlineExceeded, wait_until

from . import state
from .scaling import rebalance_finished, rebalance_status  # noqa: F401 - the "scale" capability's probes
from .target import group_view, network, resolve, topology

__all__ = ["cluster_healthy", "leader_of", "new_leader_elected", "writes_succeed", "region_rtt_ms",
           "observe_cluster", "faults_in_force", "no_faults_in_force", "rebalance_finished", "rebalance_status", "transport_in_use"]

log = logging.getLogger("chaostoolkit")
PROBE_TENANT = "chaos-probe"
_tokens: dict[str, str] = {}  # admin token -> the probe tenant's token (tokens are stable per cluster)


def cluster_healthy(within_s: float = 0.0, configuration: Configuration = None) -> bool:
    """Every group has one agreed leader and every member answers; waits up to ``within_s`` for it."""
    target = resolve(configuration)
    if float(within_s) <= 0:
        return topology(target).healthy()
    topology(target)  # fails at once, clearly, when nothing answers
    try:
        wait_until(lambda: topology(target).healthy(), float(within_s), 0.1, "a healthy cluster")
    except DeadlineExceeded:
        found = topology(target)
        log.warning("cluster not healthy after %ss: %s", within_s, found.as_dict())
        return False
    return True


def leader_of(group: str = "g0", configuration: Configuration = None) -> str | None:
    """The agreed leader of ``group`` now, or None."""
    return group_view(topology(resolve(configuration)), group).leader


def new_leader_elected(group: str = "g0", within_s: float = 5.0, configuration: Configuration = None) -> dict:
    """Wait for a leader of ``group`` other than the one this experiment last killed or paused, in a newer
    term, within ``within_s`` of that fault. Returns who and when.

    Fails (``ActivityFailed``) when no leader loss of ``group`` was recorded in this process (by
    ``kill_leader``, ``pause_leader``, or ``kill_node`` / ``pause_node`` on the leader): without knowing which
    leader was lost, the leader found could be the old one, and a kill that did nothing would pass."""
    target = resolve(configuration)
    if not any(n.group == group for n in target.nodes()):
        raise ActivityFailed(f"unknown group {group!r}")
    lost = state.last("leader-lost", group)
    if lost is None:
        raise ActivityFailed(f"no leader loss of {group} was recorded by this experiment, so a new leader cannot be "
                             f"told from the old one: kill or pause the leader of {group} (kill_leader, pause_leader) "
                             "in the method before this probe")
    since = lost["injected_ns"]
    old = lost["node"]
    old_term = lost["term"] if isinstance(lost.get("term"), int) else -1  # unknown term: any term, other node
    members = [n for n in target.nodes() if n.group == group and n.name != old]
    if not members:
        raise ActivityFailed(f"group {group} has no member other than {old}")
    deadline = since + float(within_s) * 1e9
    with httpx.Client() as client:
        for _ in range(100_000):  # bounded; the deadline ends it long before
            for node in members:
                status = node_status(client, node, timeout=0.3)
                if status.get("role") == "leader" and (status.get("term") or 0) > old_term:
                    seen = now_ns()
                    return {"group": group, "old_leader": old, "new_leader": node.name, "term": status["term"],
                            "since_ns": since, "seen_ns": seen, "elected_after_s": round((seen - since) / 1e9, 3)}
            if now_ns() > deadline:
                break
            time.sleep(0.01)
    raise ActivityFailed(f"no new leader in {group} within {within_s}s of losing {old} (term {old_term})")


def _probe_token(target: Target, client: httpx.Client) -> str:
    admin = target.admin_token()
    if admin not in _tokens:
        for node in target.nodes():
            try:
                answer = ContractClient(node.url, admin, client=client).create_tenant(PROBE_TENANT)
            except Tier7Error:
                continue
            if answer.status in (200, 201):
                _tokens[admin] = answer.body["token"]
                break
        else:
            raise ActivityFailed(f"could not create the probe tenant {PROBE_TENANT!r} on any node")
    return _tokens[admin]


def _write(client: httpx.Client, node_url: str, token: str, key: str) -> str | None:
    """One write; None when acknowledged, else why not."""
    try:
        answer = ContractClient(node_url, token, client=client).put(key, f"v{now_ns()}")
    except (Tier7Error, httpx.HTTPError) as exc:
        return exc.__class__.__name__
    return None if answer.status == 200 else f"{answer.status} {answer.code}"


def writes_succeed(per_group: int = 1, avoid_region: str = "", timeout_s: float = 10.0, required: bool = False,
                   configuration: Configuration = None) -> bool:
    """``per_group`` writes to keys of every group, sent through reachable nodes outside ``avoid_region``,
    are each acknowledged within ``timeout_s`` (a write that is refused is retried until then). Placement
    comes from the harness's own ring. ``required``: raise ``ActivityFailed`` instead of returning False."""
    target = resolve(configuration)
    found = topology(target)
    reachable = {n for g in found.groups.values() for n, s in g.members.items() if s.get("reachable")}
    entries = [n for n in target.nodes() if n.region != avoid_region and n.name in reachable]
    if not entries:
        raise ActivityFailed(f"no reachable node outside region {avoid_region!r} to write through")
    failures, count = [], 0
    with httpx.Client(timeout=float(timeout_s)) as client:
        token = _probe_token(target, client)
        try:
            ring = HarnessRing.from_contract(ContractClient(entries[0].url, client=client).get_json("/v1/ring"))
        except Tier7Error as exc:
            raise ActivityFailed(f"cannot read the ring parameters: {exc}") from None
        for group in ring.groups:
            keys = [k for k in (f"probe-{group}-{i}" for i in range(2000)) if ring.group_for(PROBE_TENANT, k) == group]
            for key in keys[:int(per_group)]:
                deadline = time.monotonic() + float(timeout_s)
                for attempt in range(1000):  # bounded; the deadline ends it
                    node = entries[(count + attempt) % len(entries)]
                    error = _write(client, node.url, token, key)
                    if error is None or time.monotonic() + 0.1 > deadline:
                        break
                    time.sleep(0.1)
                count += 1
                if error is not None:
                    failures.append(f"{key} (group {group}) via {node.name}: {error}")
    if failures:
        message = f"writes not acknowledged within {timeout_s}s: " + "; ".join(failures)
        if required in (True, "true", "True", "1", 1):
            raise ActivityFailed(message)
        log.warning(message)
    return not failures


def transport_in_use(region_a: str, region_b: str, expect: str = "", within_s: float = 0.0, samples: int = 3,
                     configuration: Configuration = None) -> str:
    """The protocol (``h2`` / ``h3`` / ``http/1.1``) that carries writes forwarded from ``region_a`` to
    ``region_b``, as ``samples`` forwarded answers name it (``mixed`` when they disagree). With ``expect``,
    keep sampling (up to ``within_s`` seconds) until all agree on it, else ActivityFailed."""
    from tier7.transport_route import find_route

    target = resolve(configuration)
    deadline = time.monotonic() + float(within_s)
    seen = "none"
    with httpx.Client(timeout=10.0) as client:
        try:
            route = find_route(target, client, region_a, region_b, PROBE_TENANT)
            keys = route.keys(f"transport-probe-{now_ns()}", 200)
        except Tier7Error as exc:
            raise ActivityFailed(f"transport_in_use: {exc}") from None
        for round_index in range(200):  # bounded; the deadline ends it
            rows = [route.put(client, keys[(round_index * int(samples) + i) % len(keys)], "p")
                    for i in range(int(samples))]
            protocols = {row.get("transport") for row in rows}
            seen = protocols.pop() if len(protocols) == 1 else "mixed"
            if not expect or seen == expect or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    if expect and seen != expect:
        raise ActivityFailed(f"transport {region_a} -> {region_b}: {seen}, expected {expect} within {within_s} s")
    return str(seen)


def region_rtt_ms(region_a: str, region_b: str, samples: int = 7, configuration: Configuration = None) -> float:
    """Fastest round trip (ms) of ``samples`` ``GET /v1/health`` from ``region_a`` to a node of ``region_b``,
    over the same proxied link the nodes use (so it includes the baseline and any added latency)."""
    try:
        return network(resolve(configuration)).round_trip_ms(region_a, region_b, samples)["via_link_ms"]
    except Tier7Error as exc:
        raise ActivityFailed(str(exc)) from None


def observe_cluster(seconds: float = 1.0, interval_s: float = 0.2, configuration: Configuration = None) -> dict:
    """Sample the topology for ``seconds``: the leaders each group had and how many samples it had none."""
    target = resolve(configuration)
    leaders: dict[str, set[str]] = {}
    leaderless: dict[str, int] = {}
    samples = 0
    deadline = time.monotonic() + float(seconds)
    for _ in range(100_000):  # bounded; the deadline ends it
        found = topology(target, timeout=0.5)
        samples += 1
        for name, view in found.groups.items():
            leaderless.setdefault(name, 0)
            if view.leader:
                leaders.setdefault(name, set()).add(view.leader)
            else:
                leaderless[name] += 1
        if time.monotonic() + float(interval_s) > deadline:
            break
        time.sleep(float(interval_s))
    return {"samples": samples, "leaders": {g: sorted(v) for g, v in sorted(leaders.items())},
            "leaderless_samples": leaderless}


def faults_in_force(configuration: Configuration = None) -> dict:
    """What is broken right now: ``unreachable`` nodes (any target: they do not answer ``GET /v1/node``, being
    down, paused or cut off), ``paused`` and ``down`` node processes (testbed), network faults (``chaos-``
    toxics, disabled or missing links), and ``unknown``: what could not be checked, and why."""
    target = resolve(configuration)
    found: dict[str, Any] = {"unreachable": [], "paused": [], "down": [], "network": {}, "unknown": []}
    view = topology(target)  # raises ActivityFailed when no node answers at all
    found["unreachable"] = sorted(n for g in view.groups.values() for n, s in g.members.items()
                                  if not s.get("reachable"))
    if isinstance(target, ProcessInventory):
        found["paused"] = target.paused()
        found["down"] = [n.name for n in target.nodes() if not target.is_running(n.name)]
    # Network faults exist only where the harness can inject them: on a fault proxy's links.
    net = target.network() if hasattr(target, "network") else None
    if net is not None:
        try:
            found["network"] = net.faults()
        except Tier7Error as exc:
            found["unknown"].append(f"the fault proxy's links could not be read: {exc}")
    elif Capability.NETWORK in target.capabilities:
        found["unknown"].append(f"target {target.name!r} declares network faults but exposes no fault proxy")
    return found


def no_faults_in_force(within_s: float = 5.0, configuration: Configuration = None) -> bool:
    """True when every node answers and nothing is paused, stopped, delayed beyond the baseline or
    partitioned. A node that is merely slow to answer (running, not paused: e.g. a starved machine right
    after a restart) is looked at again for up to ``within_s`` seconds before it counts as a fault; a
    paused or stopped process or a network fault counts at once. Raises ``ActivityFailed`` when part of
    that cannot be checked (e.g. the fault proxy does not answer): not knowing is not "no fault"."""
    deadline = time.monotonic() + float(within_s)
    while True:
        found = faults_in_force(configuration)
        if found["unknown"]:
            raise ActivityFailed("cannot tell whether a fault is in force: " + "; ".join(found["unknown"]))
        in_force = {k: v for k, v in found.items() if k in ("unreachable", "paused", "down") and v}
        in_force.update({f"network {k}": v for k, v in found["network"].items() if v})
        only_slow = set(in_force) == {"unreachable"}
        if not in_force or not only_slow or time.monotonic() >= deadline:
            break
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    if in_force:
        log.warning("faults in force: %s", in_force)
    return not in_force
