"""Chaos Toolkit activities of the ``scale`` capability (issue 11), exported by chaos.actions (``scale_out``,
``scale_in``) and chaos.probes (``rebalance_finished``, ``rebalance_status``).

The driver (tier7.targets.scaling) starts or stops the nodes and makes the admin call; the rebalance
itself is watched here through the contract (``GET /v1/rebalance``), never through the driver. Every
problem raises ``ActivityFailed`` saying what happened. Times: ``*_ns`` = ``time.monotonic_ns()`` (the
history's clock), durations in seconds.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from tier7.errors import Tier7Error
from tier7.history import now_ns
from tier7.targets.base import Capability, NodeInfo, Target
from tier7.targets.scaling import Scaling, scaling_of
from tier7.waiting import DeadlineExceeded

from . import state
from .target import needs, resolve

RECORD = "scaling"   # state kind of the last scaling action of this process (for rebalance_finished)
ANY_GROUP = "*"
POLL_S = 0.2
STOP_S = 15.0        # a removed node must stop answering within this long after the driver stopped it


def _driver(target: Target) -> Scaling:
    needs(target, Capability.SCALE)
    driver = scaling_of(target)
    if driver is None:
        raise ActivityFailed(f"target {target.name!r} declares \"scale\" but its driver has no scale_out / scale_in")
    return driver


def _status(nodes: list[NodeInfo]) -> dict[str, Any]:
    """``GET /v1/rebalance`` from the first node that answers; ActivityFailed when none does."""
    with httpx.Client(timeout=2.0) as client:
        for node in nodes:
            try:
                answer = client.get(f"{node.url}/v1/rebalance")
                data = answer.json()
            except (httpx.HTTPError, ValueError):
                continue
            if answer.status_code == 200 and isinstance(data, dict):
                return data
    raise ActivityFailed(f"no node answered GET /v1/rebalance ({len(nodes)} nodes asked)")


def _answering(nodes: list[NodeInfo]) -> list[str]:
    with httpx.Client(timeout=0.5) as client:
        out = []
        for node in nodes:
            try:
                client.get(f"{node.url}/v1/health")
                out.append(node.name)
            except httpx.HTTPError:
                continue
        return out


def scale_out(nodes: int = 3, configuration: Configuration = None) -> dict[str, Any]:
    """Add ``nodes`` new nodes as one new Raft group: the driver starts them, waits for their leader and
    asks the cluster to rebalance. Does not wait for the rebalance (probe ``rebalance_finished``). Fails
    unless exactly ``nodes`` new nodes of the returned group are listed afterwards."""
    target = resolve(configuration)
    driver = _driver(target)
    before = {n.name for n in target.nodes()}
    started = now_ns()
    try:
        group = driver.scale_out(int(nodes))
    except (Tier7Error, DeadlineExceeded) as exc:
        raise ActivityFailed(f"scale out by {nodes} nodes: {exc}") from None
    admin = now_ns()
    added = [n for n in target.nodes() if n.name not in before]
    if len(added) != int(nodes) or any(n.group != group for n in added):
        raise ActivityFailed(f"scale out: asked for {nodes} new nodes of one group, the driver lists "
                             f"{', '.join(f'{n.name} ({n.group})' for n in added) or 'none'} (group {group!r})")
    status = _status(target.nodes())
    details = {"action": "add", "scaled_group": group, "nodes": [n.name for n in added], "injected_ns": started,
               "admin_ns": admin, "epoch": status.get("epoch"), "state": status.get("state")}
    state.record(RECORD, ANY_GROUP, details)
    return details


def scale_in(group: str = "", within_s: float = 300.0, configuration: Configuration = None) -> dict[str, Any]:
    """Drain ``group`` (default: the last group of the ring's list, e.g. the one a scale-out added): the
    cluster moves its keys to the other groups; after the rebalance finished (``within_s`` seconds at most)
    the driver stops the group's nodes and forgets them. Fails unless every one of them stops answering."""
    target = resolve(configuration)
    driver = _driver(target)
    groups = list(dict.fromkeys(n.group for n in target.nodes()))
    status = _status(target.nodes())
    ring = _ring_groups(target) or groups
    group = group or (ring[-1] if ring else "")
    if group not in groups:
        raise ActivityFailed(f"scale in: unknown group {group!r}; groups: {', '.join(groups)}")
    if len(groups) < 2:
        raise ActivityFailed(f"scale in: {group} is the only group; there is nowhere to move its keys")
    removing = [n for n in target.nodes() if n.group == group]
    started = now_ns()
    try:
        driver.scale_in(group)
        admin = now_ns()
        details = {"action": "remove", "scaled_group": group, "nodes": [n.name for n in removing],
                   "injected_ns": started, "admin_ns": admin, "epoch": int(status.get("epoch") or 0) + 1}
        state.record(RECORD, ANY_GROUP, details)
        driver.finish_scale_in(group, float(within_s))
    except (Tier7Error, DeadlineExceeded) as exc:
        raise ActivityFailed(f"scale in {group}: {exc}") from None
    deadline = time.monotonic() + STOP_S
    still = _answering(removing)
    while still and time.monotonic() < deadline:
        time.sleep(POLL_S)
        still = _answering([n for n in removing if n.name in still])
    if still:
        raise ActivityFailed(f"scale in {group}: removed node(s) still answer {STOP_S:g} s after being stopped: "
                             f"{', '.join(still)}")
    return {**details, "removed_after_s": round((now_ns() - admin) / 1e9, 3)}


def _ring_groups(target: Target) -> list[str]:
    with httpx.Client(timeout=2.0) as client:
        for node in target.nodes():
            try:
                data = client.get(f"{node.url}/v1/ring").json()
            except (httpx.HTTPError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("groups"), list):
                return [str(g) for g in data["groups"]]
    return []


def rebalance_status(configuration: Configuration = None) -> dict[str, Any]:
    """The cluster's ``GET /v1/rebalance`` answer now (epoch, state, keys to move / moved, ...)."""
    return _status(resolve(configuration).nodes())


def rebalance_finished(within_s: float = 300.0, configuration: Configuration = None) -> dict[str, Any]:
    """Wait up to ``within_s`` seconds until ``GET /v1/rebalance`` says ``finished`` for the epoch of this
    experiment's last ``scale_out`` / ``scale_in`` (without one: for the current epoch). Returns the answer
    and the seconds since that action's admin call; fails on ``failed`` or when time runs out."""
    target = resolve(configuration)
    last = state.last(RECORD, ANY_GROUP) or {}
    wanted = last.get("epoch") if isinstance(last.get("epoch"), int) else None
    since = last.get("admin_ns") or now_ns()
    deadline = time.monotonic() + float(within_s)
    answer: dict[str, Any] = {}
    for _ in range(int(float(within_s) / POLL_S) + 10):  # bounded; the deadline ends it first
        answer = _status(target.nodes())
        epoch, now = answer.get("epoch"), answer.get("state")
        ours = wanted is None or epoch == wanted
        if ours and now == "failed":
            raise ActivityFailed(f"the rebalance to epoch {epoch} failed: {answer}")
        if (ours and now == "finished") or (wanted is None and now == "idle") \
                or (wanted is not None and isinstance(epoch, int) and epoch > wanted):
            return {**answer, "finished_after_s": round((now_ns() - since) / 1e9, 3)}
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    raise ActivityFailed(f"the rebalance did not finish within {within_s} s (wanted epoch {wanted}; last answer "
                         f"{answer})")
