"""Steps of the scaling phase (tier7/verify/criteria/scaling.py): poll the rebalance status, read every key
on the group the harness's ring names (recorded local reads), watch the cluster's health, and the ring
the harness expects after adding or removing a group. Times: monotonic ns (the history's clock) and unix s.

Nothing here judges: the judges (analysis/criteria/scale_out.py, scale_in.py, scaling_data_loss.py)
recompute every verdict from facts/scaling.json and the history."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from ..client import RecordingClient
from ..final_read import WRITES
from ..history import HISTORY_DIR, HistoryWriter, now_ns, read_events
from ..targets.base import NodeInfo
from ..topology import observe
from .httpjson import get_json

POLL_S = 0.2             # rebalance status polling interval, seconds
LANES_PER_NODE = 6       # placement reads in parallel per node (greenlets, one recording client each)
MAX_ROUNDS = 6           # placement read rounds at most (keys whose replicas disagree are read again)
PLACE_PROCESS = "verify-scaling-place-"  # + "<step>-<node>~<lane>": the judge takes the node from the name


def expected_groups(before: list[str], action: str, group: str) -> list[str]:
    """The ring's groups after ``action`` (add | remove) of ``group``, computed by the harness."""
    if action == "add":
        return [*before, group] if group not in before else list(before)
    return [g for g in before if g != group]


def first_json(nodes: list[NodeInfo], path: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The first JSON answer of ``GET path`` from any node (in list order), None when none answers."""
    for node in nodes:
        answer = get_json(f"{node.url}{path}", timeout)
        if answer is not None:
            return answer
    return None


def status_entry(answer: dict[str, Any]) -> dict[str, Any]:
    """A rebalance status answer stamped with the harness's clocks."""
    return {"time": now_ns(), "wall": time.time(), **{k: answer.get(k) for k in (
        "epoch", "state", "action", "group", "from_epoch", "keys_to_move", "keys_moved", "bytes_moved",
        "started", "finished")}}


def wait_rebalance(nodes: Callable[[], list[NodeInfo]], epoch: int, timeout_s: float,
                   should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Poll ``GET /v1/rebalance`` every ``POLL_S`` until it reports ``finished`` (or ``failed``) for ``epoch``
    or ``timeout_s`` passes. Returns the distinct answers seen (``statuses``), the outcome and, when
    finished, the monotonic time it was first seen (``finished_time``)."""
    started = time.monotonic()
    statuses: list[dict[str, Any]] = []
    outcome, finished_time = "timeout", None
    for _ in range(int(timeout_s / POLL_S) + 10):  # bounded; the deadline ends it first
        answer = first_json(nodes(), "/v1/rebalance")
        if answer is not None:
            entry = status_entry(answer)
            last = statuses[-1] if statuses else None
            if last is None or any(last.get(k) != entry.get(k) for k in ("epoch", "state", "keys_moved")):
                statuses.append(entry)
            if entry.get("epoch") == epoch and entry.get("state") in ("finished", "failed"):
                outcome = str(entry["state"])
                finished_time = entry["time"] if outcome == "finished" else None
                break
        if time.monotonic() - started > timeout_s or should_stop():
            outcome = "timeout" if not should_stop() else "interrupted"
            break
        time.sleep(POLL_S)
    return {"outcome": outcome, "finished_time": finished_time, "statuses": statuses[-200:],
            "waited_s": round(time.monotonic() - started, 3)}


def wait_healthy(nodes: list[NodeInfo], timeout_s: float) -> dict[str, Any]:
    """Poll the topology until every group has one agreed leader and every member answers (or timeout)."""
    started = time.monotonic()
    view = observe(nodes)
    for _ in range(int(timeout_s / 0.2) + 2):
        if view.healthy() or time.monotonic() - started > timeout_s:
            break
        time.sleep(0.2)
        view = observe(nodes)
    return {"healthy": view.healthy(), "waited_s": round(time.monotonic() - started, 3),
            "groups": sorted(view.groups), "leaders": view.leaders(),
            "unreachable": sorted(n for g in view.groups.values() for n, s in g.members.items()
                                  if not s.get("reachable"))}


def stopped_answering(nodes: list[NodeInfo], timeout_s: float) -> list[str]:
    """Names of ``nodes`` still answering ``GET /v1/health`` after ``timeout_s`` seconds of polling."""
    deadline = time.monotonic() + timeout_s
    answering = list(nodes)
    for _ in range(int(timeout_s / 0.2) + 2):
        answering = [n for n in answering if get_json(f"{n.url}/v1/health", 0.5) is not None]
        if not answering or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return [n.name for n in answering]


def last_writes(run_dir: Path) -> dict[tuple[str, str], int]:
    """(tenant, key) -> the invoke time (monotonic ns) of its latest own-tenant strong-KV write in the run's
    history files so far."""
    out: dict[tuple[str, str], int] = {}
    for path in sorted((run_dir / HISTORY_DIR).glob("*.jsonl")):
        for event in read_events(path):
            if event.get("type") == "invoke" and event.get("f") in WRITES and event.get("key") is not None \
                    and event.get("tenant") and not event.get("cross_tenant"):
                key = (str(event["tenant"]), str(event["key"]))
                out[key] = max(out.get(key, 0), int(event.get("time") or 0))
    return out


def sample_keys(times: dict[tuple[str, str], int], before: Callable[[str, str], str],
                after: Callable[[str, str], str], quiet_since_ns: int, most: int, seed: int,
                written_once: str | None = None) -> dict[str, Any]:
    """The keys a placement check reads: at most ``most`` keys not written since ``quiet_since_ns`` (a key
    still being written cannot be judged). The keys of tenant ``written_once`` (the phase's seed keys,
    never written again) come first: the load may write any other key during the check, which leaves it
    unjudged, so only they guarantee evidence on a slow machine. Within each part the keys whose owner
    changed (the keys that moved) come first, in a seeded order. Returns the sample and the counts it was
    drawn from."""
    quiet = [k for k, t in times.items() if t < quiet_since_ns]
    order = sorted(quiet, key=lambda k: hashlib.sha256(f"{seed}/{k[0]}/{k[1]}".encode()).digest())
    moved = [k for k in order if before(*k) != after(*k)]
    stayed = [k for k in order if before(*k) == after(*k)]
    once = [k for k in moved + stayed if k[0] == written_once]
    chosen = (once + [k for k in moved + stayed if k[0] != written_once])[:most]
    return {"keys": chosen, "history_keys": len(times), "quiet_keys": len(quiet), "moved_quiet_keys": len(moved),
            "sampled_moved": len([k for k in chosen if before(*k) != after(*k)]),
            "sampled_written_once": len([k for k in chosen if k[0] == written_once])}


def _answer(result: Any) -> tuple[Any, ...] | None:
    """A local read comparable across replicas: (status, value); None when the read did not complete."""
    return (result.status, result.value) if result.status in (200, 404) else None


def read_placement(step: str, keys: list[tuple[str, str]], owner: Callable[[str, str], str],
                   nodes: list[NodeInfo], tokens: dict[str, str], history: HistoryWriter,
                   deadline_s: float, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Read every (tenant, key) with ``consistency=local`` on every member of the group ``owner`` names
    (recorded: process ``PLACE_PROCESS<step>-<node>~<lane>``), in rounds: keys whose members' answers differ
    (or did not complete) are read again, at most ``MAX_ROUNDS`` rounds or ``deadline_s`` seconds.
    Returns counts and timings; the judges read the answers from the history."""
    members: dict[str, list[NodeInfo]] = {}
    for node in nodes:
        members.setdefault(node.group, []).append(node)
    started, started_ns = time.monotonic(), now_ns()
    todo = [k for k in keys if k[0] in tokens]
    rounds, agreed_ns = 0, None
    unowned = sorted({owner(t, k) for t, k in todo} - set(members))
    while todo and rounds < MAX_ROUNDS:
        rounds += 1
        note(f"scaling: placement reads ({step}), round {rounds}: {len(todo)} keys")
        answers: dict[tuple[str, str], set[Any]] = {k: set() for k in todo}
        lanes: list[tuple[NodeInfo, list[tuple[str, str]]]] = []
        for node in nodes:
            mine = [k for k in todo if owner(*k) == node.group]
            lanes += [(node, mine[lane::LANES_PER_NODE]) for lane in range(LANES_PER_NODE)]
        jobs = [gevent.spawn(_read_lane, step, node, lane, part, tokens, history, answers)
                for lane, (node, part) in enumerate(lanes) if part]
        gevent.joinall(jobs, raise_error=True)
        todo = [k for k, seen in answers.items() if len(seen) != 1 or None in seen]
        if not todo:
            agreed_ns = now_ns()
        if time.monotonic() - started > deadline_s:
            break
    return {"step": step, "process_prefix": f"{PLACE_PROCESS}{step}-", "keys": len(keys), "rounds": rounds,
            "disagreeing_keys": len(todo), "agreed": not todo, "agreed_time": agreed_ns,
            "started_time": started_ns, "ended_time": now_ns(), "seconds": round(time.monotonic() - started, 3),
            "groups_without_nodes": unowned, "keys_without_token": len([k for k in keys if k[0] not in tokens])}


def _read_lane(step: str, node: NodeInfo, lane: int, keys: list[tuple[str, str]], tokens: dict[str, str],
               history: HistoryWriter, answers: dict[tuple[str, str], set[Any]]) -> None:
    client = RecordingClient(node.url, None, history, f"{PLACE_PROCESS}{step}-{node.name}~{lane}",
                             region=node.region, timeout=10.0)
    try:
        for tenant, key in keys:
            client.token, client.tenant = tokens[tenant], tenant
            answers[(tenant, key)].add(_answer(client.get(key, tenant=tenant, consistency="local")))
    finally:
        client.close()
