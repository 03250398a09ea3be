"""Chaos Toolkit actions: faults injected through the target driver, and the heals that undo them.

Node faults need the driver's kill / pause / restart capabilities; region faults need a fault proxy
on the inter-region links (the testbed's simulated regions, or a real Toxiproxy). Every action returns
a JSON-able dict of what it did (node, group, term, ``injected_ns`` = ``time.monotonic_ns()`` right before
the fault, the history's clock); heals return ``"heal": true``. Times in seconds, latencies in ms.
Anything that cannot be done raises ``ActivityFailed`` saying why, and so does a node fault that did
not take effect: after the signal, the node must stop answering its contract (or, a leader, stop leading in
its term) within ``verify_s`` seconds, so a kill that silently did nothing fails its activity and is never
counted as an applied fault.
"""

import random
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from tier7.errors import Tier7Error
from tier7.history import now_ns
from tier7.targets.base import Capability, Target
from tier7.targets.capabilities import GracefulStop, ProcessInventory, SafetyNet
from tier7.topology import node_status
from tier7.waiting import DeadlineExceeded, wait_until

from . import state
from .scaling import scale_in, scale_out  # noqa: F401 - activities of the "scale" capability
from .target import group_view, needs, network, node_info, resolve, topology

__all__ = [
    "kill_leader", "kill_node", "kill_follower", "pause_node", "pause_leader", "resume_node",
    "resume_paused_nodes", "restart_node", "start_stopped_nodes", "add_link_latency", "remove_link_latency",
    "add_region_latency", "remove_region_latency", "partition_region", "heal_partition", "heal_all",
    "scale_out", "scale_in", "add_region_loss", "remove_region_loss",
]


# How long a node fault may take to show through the contract (seconds): a killed node refuses connections
# at once and a paused one stops answering within a request timeout; a fault not seen by then did nothing.
VERIFY_S = 5.0


def _do(what: str, call: Any, *args: Any) -> Any:
    """``call(*args)``'s result; a harness error becomes ``ActivityFailed("<what>: <error>")``."""
    try:
        return call(*args)
    except Tier7Error as exc:
        raise ActivityFailed(f"{what}: {exc}") from None


LEADER_WAIT_S = 5.0  # a group mid-election (e.g. on a CPU-starved machine) gets this long to agree on a leader


def _leader(target: Target, group: str, wait_s: float = LEADER_WAIT_S) -> tuple[str, int | None]:
    """The group's agreed leader and term, polled for up to ``wait_s`` seconds; ActivityFailed (naming every
    member's role) when the group has none by then, so the fault is never applied to a guessed node."""
    views = []

    def agreed() -> Any:
        views.append(group_view(topology(target), group))
        return views[-1] if views[-1].leader is not None else None

    try:
        view = wait_until(agreed, wait_s, 0.1, f"group {group} to agree on a leader")
    except DeadlineExceeded:
        last = views[-1] if views else group_view(topology(target), group)
        states = ", ".join(f"{n}={s.get('role', 'down') if s.get('reachable') else 'down'}"
                           for n, s in sorted(last.members.items()))
        raise ActivityFailed(f"group {group} had no agreed leader for {wait_s:g} s ({states})") from None
    return view.leader, view.term


def _shown(target: Target, node: str, term: int | None, leader: bool, within_s: float) -> str | None:
    """Poll the node's own ``GET /v1/node`` (every 50 ms, up to ``within_s`` seconds; 0: do not check) until
    the fault shows: the node stops answering, or, for a leader, no longer leads in ``term``. Returns how it
    showed; raises ``ActivityFailed`` when it never did (a kill or pause that silently did nothing)."""
    within_s = float(within_s)  # may come from an experiment's configuration as text
    if within_s <= 0:
        return None
    info = node_info(target, node)
    with httpx.Client() as client:
        def shown() -> str | None:
            status = node_status(client, info, timeout=0.3)
            if not status.get("reachable"):
                return "stopped answering"
            if leader and status.get("role") != "leader":
                return f"no longer leader (now {status.get('role')})"
            if leader and term is not None and isinstance(status.get("term"), int) and status["term"] > term:
                return f"no longer leader of term {term} (now term {status['term']})"
            return None

        try:
            return wait_until(shown, within_s, 0.05, f"{node} to stop answering")
        except DeadlineExceeded:
            still = f"as leader of {info.group} in term {term}" if leader else "its contract"
            raise ActivityFailed(f"the fault on {node} did not take effect: {within_s:g} s after it, {node} still "
                                 f"answers {still}") from None


def _fault(target: Target, kind: str, node: str, term: int | None, inject: Any, leader: bool,
           verify_s: float) -> dict[str, Any]:
    info = node_info(target, node)
    started = now_ns()
    _do(f"{kind} {node}", inject, node)
    done = now_ns()
    shown = _shown(target, node, term, leader, verify_s)
    details = {"node": node, "group": info.group, "region": info.region, "term": term, "was_leader": leader,
               "injected_ns": started, "done_ns": done, "took_effect": shown}
    if leader:
        state.record("leader-lost", info.group, details)  # for probes.new_leader_elected
    return details


def kill_leader(group: str = "g0", configuration: Configuration = None, verify_s: float = VERIFY_S) -> dict[str, Any]:
    """SIGKILL the current leader of ``group``; fails unless, within ``verify_s`` seconds, it stops answering or
    leading (``took_effect`` says which)."""
    target = resolve(configuration)
    needs(target, Capability.KILL)
    leader, term = _leader(target, group)
    return _fault(target, "kill-leader", leader, term, target.kill_node, True, verify_s)


def kill_node(node: str, configuration: Configuration = None, verify_s: float = VERIFY_S) -> dict[str, Any]:
    """SIGKILL the node named ``node`` (e.g. ``g0-us-east``); fails unless it stops answering (or, a leader,
    leading) within ``verify_s`` seconds."""
    target = resolve(configuration)
    needs(target, Capability.KILL)
    info = node_info(target, node)
    view = group_view(topology(target), info.group)
    return _fault(target, "kill-node", node, view.term, target.kill_node, view.leader == node, verify_s)


def kill_follower(group: str = "g0", seed: int = 0, configuration: Configuration = None,
                  verify_s: float = VERIFY_S) -> dict[str, Any]:
    """SIGKILL one follower of ``group`` (chosen by ``seed`` among the followers, in name order); fails unless
    it stops answering within ``verify_s`` seconds."""
    target = resolve(configuration)
    needs(target, Capability.KILL)
    leader, term = _leader(target, group)
    view = group_view(topology(target), group)
    followers = sorted(n for n, s in view.members.items() if s.get("reachable") and n != leader)
    if not followers:
        raise ActivityFailed(f"group {group} has no reachable follower to kill")
    victim = random.Random(int(seed)).choice(followers)
    details = _fault(target, "kill-follower", victim, term, target.kill_node, False, verify_s)
    return {**details, "leader": leader}


def pause_node(node: str, configuration: Configuration = None, verify_s: float = VERIFY_S) -> dict[str, Any]:
    """SIGSTOP the node named ``node`` (it keeps its sockets but answers nothing) until resumed; fails unless
    it stops answering within ``verify_s`` seconds."""
    target = resolve(configuration)
    needs(target, Capability.PAUSE)
    view = group_view(topology(target), node_info(target, node).group)
    return _fault(target, "pause-node", node, view.term, target.pause_node, view.leader == node, verify_s)


def pause_leader(group: str = "g0", configuration: Configuration = None, verify_s: float = VERIFY_S) -> dict[str, Any]:
    """SIGSTOP the current leader of ``group`` until resumed; fails unless it stops answering or leading within
    ``verify_s`` seconds."""
    target = resolve(configuration)
    needs(target, Capability.PAUSE)
    leader, term = _leader(target, group)
    return _fault(target, "pause-leader", leader, term, target.pause_node, True, verify_s)


def _wait_healthy(target: Target, within_s: float, what: str, groups: list[str] | None = None) -> float | None:
    """Wait up to ``within_s`` seconds for the groups to be healthy (0: do not wait); seconds waited."""
    if float(within_s) <= 0:
        return None
    started = now_ns()

    def healthy() -> bool:
        found = topology(target)
        return all(found.groups[g].healthy() for g in (groups or found.groups))

    try:
        wait_until(healthy, float(within_s), 0.1, what)
    except DeadlineExceeded as exc:
        raise ActivityFailed(str(exc)) from None
    return round((now_ns() - started) / 1e9, 3)


def resume_node(node: str, within_s: float = 20.0, configuration: Configuration = None) -> dict[str, Any]:
    """SIGCONT the node named ``node``, then wait (``within_s``) until its group is healthy again."""
    target = resolve(configuration)
    needs(target, Capability.PAUSE)
    info = node_info(target, node)
    _do(f"resume {node}", target.resume_node, node)
    waited = _wait_healthy(target, within_s, f"group {info.group} to be healthy after resuming {node}", [info.group])
    return {"node": node, "group": info.group, "heal": True, "healthy_after_s": waited}


def resume_paused_nodes(within_s: float = 20.0, configuration: Configuration = None) -> dict[str, Any]:
    """SIGCONT every paused node (on the testbed: the stopped ones; elsewhere: every node), then wait
    ``within_s`` for every group to be healthy (0: do not wait, e.g. when other faults are still in force)."""
    target = resolve(configuration)
    needs(target, Capability.PAUSE)
    names = target.paused() if isinstance(target, ProcessInventory) else [n.name for n in target.nodes()]
    for name in names:
        _do(f"resume {name}", target.resume_node, name)
    waited = _wait_healthy(target, within_s, "every group to be healthy after resuming paused nodes")
    return {"resumed": names, "heal": True, "healthy_after_s": waited}


def restart_node(node: str, within_s: float = 20.0, configuration: Configuration = None) -> dict[str, Any]:
    """Stop the node named ``node`` (SIGTERM, or SIGKILL if it is not a testbed), start it again and wait
    until its group is healthy."""
    target = resolve(configuration)
    needs(target, Capability.RESTART)
    info = node_info(target, node)
    if isinstance(target, GracefulStop):
        target.stop_node(node)  # SIGTERM (SIGCONT first, in case it is paused), SIGKILL after a grace
    elif Capability.KILL in target.capabilities:
        _do(f"kill {node}", target.kill_node, node)
    _do(f"start {node}", target.start_node, node)
    waited = _wait_healthy(target, within_s, f"{node} to rejoin group {info.group}", [info.group])
    return {"node": node, "group": info.group, "heal": True, "healthy_after_s": waited}


def start_stopped_nodes(within_s: float = 30.0, configuration: Configuration = None) -> dict[str, Any]:
    """Start every node that is down (on the testbed: that the driver started and whose process is gone;
    elsewhere: that does not answer), then wait until every group is healthy."""
    target = resolve(configuration)
    needs(target, Capability.RESTART)
    if isinstance(target, ProcessInventory):
        if not target.pids:
            raise ActivityFailed(f"the {target.name} in {getattr(target, 'dir', '?')} is not up; start it with "
                                 "`tier7 testbed up`")
        down = [name for name in target.pids if not target.is_running(name)]  # never starts a stopped testbed
    else:
        down = sorted(n for g in topology(target).groups.values() for n, s in g.members.items()
                      if not s.get("reachable"))
    for name in down:
        _do(f"start {name}", target.start_node, name)
    waited = _wait_healthy(target, within_s, "every group to be healthy after starting stopped nodes")
    return {"started": down, "heal": True, "healthy_after_s": waited}


def add_link_latency(link: str, latency_ms: float, jitter_ms: float = 0, stream: str = "both",
                     configuration: Configuration = None) -> dict[str, Any]:
    """Delay one proxied link (e.g. ``raft.us-east.g0-eu-west``) by ``latency_ms`` +- ``jitter_ms`` in
    ``stream``: ``upstream``, ``downstream`` or ``both``."""
    net = network(resolve(configuration))
    found = _do(f"add latency on {link}", net.link, link)
    started = now_ns()
    _do(f"add latency on {link}", net.add_link_latency, found, float(latency_ms), float(jitter_ms), stream)
    return {"link": link, "node": found.to_node, "latency_ms": float(latency_ms), "jitter_ms": float(jitter_ms),
            "stream": stream, "injected_ns": started}


def remove_link_latency(link: str, configuration: Configuration = None) -> dict[str, Any]:
    """Remove the latency ``add_link_latency`` put on ``link`` (the baseline geography stays)."""
    net = network(resolve(configuration))
    removed = _do(f"remove latency on {link}", lambda: net.remove_latency([net.link(link)]))
    return {"link": link, "removed_toxics": removed, "heal": True}


def add_region_latency(region_a: str, region_b: str, rtt_ms: float, jitter_ms: float = 0,
                       configuration: Configuration = None) -> dict[str, Any]:
    """Add ``rtt_ms`` (+- ``jitter_ms``) to the round trip between two regions, on every link joining them
    (half each way), on top of their baseline."""
    net = network(resolve(configuration))
    started = now_ns()
    links = _do(f"add latency between {region_a} and {region_b}",
                lambda: net.add_latency(net.links_between(region_a, region_b), float(rtt_ms), float(jitter_ms)))
    return {"regions": [region_a, region_b], "rtt_ms": float(rtt_ms), "jitter_ms": float(jitter_ms),
            "baseline_rtt_ms": net.baseline_ms(region_a, region_b), "links": len(links), "injected_ns": started}


def remove_region_latency(region_a: str, region_b: str, configuration: Configuration = None) -> dict[str, Any]:
    """Remove the latency ``add_region_latency`` added between two regions (the baseline stays)."""
    net = network(resolve(configuration))
    removed = _do(f"remove latency between {region_a} and {region_b}",
                  lambda: net.remove_latency(net.links_between(region_a, region_b)))
    return {"regions": [region_a, region_b], "removed_toxics": removed, "heal": True}


def add_region_loss(region_a: str, region_b: str, percent: float, retransmit_ms: float = 200,
                    configuration: Configuration = None) -> dict[str, Any]:
    """Lose ``percent`` % of the packets each way on every link joining two regions, TCP and UDP together
    (UDP datagrams are dropped; a TCP segment arrives ``retransmit_ms`` late, as retransmitted)."""
    net = network(resolve(configuration))
    started = now_ns()
    links = _do(f"add loss between {region_a} and {region_b}",
                lambda: net.add_loss(net.links_between(region_a, region_b), float(percent), float(retransmit_ms)))
    return {"regions": [region_a, region_b], "percent": float(percent), "links": len(links), "injected_ns": started}


def remove_region_loss(region_a: str, region_b: str, configuration: Configuration = None) -> dict[str, Any]:
    """Remove the loss ``add_region_loss`` added between two regions."""
    net = network(resolve(configuration))
    removed = _do(f"remove loss between {region_a} and {region_b}",
                  lambda: net.remove_loss(net.links_between(region_a, region_b)))
    return {"regions": [region_a, region_b], "removed_toxics": removed, "heal": True}


def partition_region(region: str, mode: str = "refuse", configuration: Configuration = None) -> dict[str, Any]:
    """Cut ``region`` off from the other regions: ``refuse`` disables its links (connections refused),
    ``blackhole`` drops their data silently. Clients still reach the region's nodes directly."""
    net = network(resolve(configuration))
    try:
        started = now_ns()
        links = net.partition(region, mode)
    except Tier7Error as exc:
        raise ActivityFailed(f"partition {region}: {exc}") from None
    return {"region": region, "mode": mode, "links": len(links), "injected_ns": started}


def heal_partition(configuration: Configuration = None) -> dict[str, Any]:
    """Heal every partition and remove every added latency: the links are back to the baseline."""
    net = network(resolve(configuration))
    try:
        undone = net.heal()
    except Tier7Error as exc:
        raise ActivityFailed(f"heal the network: {exc}") from None
    return {"heal": True, **{k: len(v) for k, v in undone.items()}}


def heal_all(within_s: float = 30.0, configuration: Configuration = None) -> dict[str, Any]:
    """Undo every fault (the rollback of every experiment): resume paused nodes, start stopped ones,
    remove network faults, and wait until every group is healthy."""
    target = resolve(configuration)
    if not isinstance(target, SafetyNet):
        resumed = resume_paused_nodes(within_s, configuration) if Capability.PAUSE in target.capabilities else {}
        started = start_stopped_nodes(within_s, configuration) if Capability.RESTART in target.capabilities else {}
        return {"heal": True, "resumed": resumed.get("resumed", []), "started": started.get("started", [])}
    try:
        done = target.heal(float(within_s))
    except Tier7Error as exc:
        raise ActivityFailed(f"heal: {exc}") from None
    network_undone = done.pop("network", {})
    return {"heal": True, **done, "network": {k: len(v) for k, v in network_undone.items()}}

