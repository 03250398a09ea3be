"""The crdt phase (criteria ``crdt`` and ``multi-region-write``): [sizes] crdt_writers recorded Locust CRDT
writers (``tier7 load --profile crdt``, a subprocess writing into this run's history) spread over the
regions; the multi-region rounds (the same key written at the same moment through us-east and eu-west, per
CRDT type); a region partitioned in the middle (Chaos Toolkit ``partition-region``, its control writing
nemesis events); heal; more load; the writers stop; then final reads of every CRDT key on every node, in
rounds, until every key's replicas agree or [crdt] convergence_deadline_s passes. Every call is recorded;
the judges (analysis/criteria/crdt.py, multi_region_write.py) recompute every merge from the history.
Facts: facts/crdt.json (times in monotonic ns, like the history)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from ...client import RecordingClient, Result
from ...history import HISTORY_DIR, HistoryWriter, read_events
from ...load.crdt import TYPES, crdt_available
from ...targets.base import Capability, NodeInfo
from ...waiting import DeadlineExceeded, wait_until
from ..background import Subcommand, run_to_end
from ..context import RunContext
from ..final_read import token_for
from ..loadrun import load_target_file, raise_exited, wait_for_ok
from .failover import chaos_target_vars

PHASE = "crdt"
GOING_OPS = 200            # acknowledged operations that show the CRDT load is under way
EXPERIMENT_TIMEOUT_S = 300.0  # the experiment's steady-state probes are slow on a loaded 2-core machine
LOAD_BOUND_S = 900.0       # upper bound of the load subprocess; the phase stops it itself
READ_PROCESS = "verify-crdt-final-"
LANES_PER_NODE = 8         # final reads in parallel per node: a round ends soon after the writers stop


def contract_capabilities(run_dir: Path) -> set[str]:
    """Capabilities the target's own contract declares (``target/config.json``): ``crdt`` when the
    feature is available. Added to the runner's record next to the driver's capabilities."""
    return {"crdt"} if crdt_available(run_dir) else set()


def load_command(ctx: RunContext, users: int) -> tuple[list[str], dict[str, str]]:
    crdt = ctx.plan["crdt"]
    args = ["load", "--profile", "crdt", "--users", str(users), "--spawn-rate", str(crdt["spawn_rate"]),
            "--duration", f"{LOAD_BOUND_S:g}", "--tenants", "1", "--crdt-keys", str(crdt["keys_per_type"]),
            "--seed", str(ctx.seed or 1), "--target-file", load_target_file(ctx), "--run-dir", str(ctx.run_dir),
            "--no-final-read", "--quiet"]
    return args, {"TIER7_ADMIN_TOKEN": ctx.target.admin_token()}


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {}
    if not crdt_available(ctx.run_dir):
        facts["not_applicable"] = (f"target {ctx.target.name!r} does not offer CRDTs (its /v1/config lists no "
                                   "available \"crdt\" feature)")
        ctx.record(PHASE, facts)
        return
    try:
        _run(ctx, facts)
    finally:
        ctx.record(PHASE, facts)


def _hold(ctx: RunContext, command: Subcommand, seconds: float, what: str) -> None:
    """Let the load run ``seconds`` more; DeadlineExceeded when it exits meanwhile."""
    until = time.monotonic() + seconds
    ctx.progress.set_phase(f"crdt: {what} ({seconds:g} s)")
    wait_until(lambda: time.monotonic() >= until or not command.running() and raise_exited(command),
               seconds + 5, 0.2, what)


def _run(ctx: RunContext, facts: dict[str, Any]) -> None:
    crdt = ctx.plan["crdt"]
    users = int(ctx.sizes["crdt_writers"])
    facts.update({"users": users, "regions": sorted({n.region for n in ctx.nodes()}),
                  "keys_per_type": int(crdt["keys_per_type"])})
    ctx.progress.set_phase(f"crdt: starting {users} CRDT writers")
    args, env = load_command(ctx, users)
    command = Subcommand(args, ctx.run_dir / "harness" / "crdt-load.log", env=env)
    try:
        try:
            wait_for_ok(ctx, command, GOING_OPS, 120, "the CRDT load to get going")
            _hold(ctx, command, float(crdt["before_partition_s"]), "load before the partition")
        except DeadlineExceeded as exc:
            facts["error"] = f"the CRDT load did not run: {exc} ({command.tail(2)})"
            return
        ctx.progress.set_phase("crdt: multi-region write rounds")
        facts["multi_region"] = multi_region_rounds(ctx)
        partition(ctx, facts)
        try:
            _hold(ctx, command, float(crdt["after_heal_s"]), "load after the heal")
        except DeadlineExceeded as exc:
            facts["error"] = f"the CRDT load stopped early: {exc}"
        keys = known_keys(ctx)  # before the stop: the final reads start the moment the writers are gone
    finally:
        ctx.progress.set_phase("crdt: stopping the writers")
        facts["load_exit_status"] = command.interrupt()
        facts["writers_stopped_time"] = time.monotonic_ns()  # every writer's last operation has completed
        facts["load_log_tail"] = command.tail(3)
    deadline = float(crdt["convergence_deadline_s"])
    facts["final"] = read_until_converged(keys, ctx.nodes(), ctx.history, ctx.tokens, deadline,
                                          ctx.progress.set_phase)
    late = sorted(set(known_keys(ctx)) - set(keys))  # written after the keys were listed (rare: few keys)
    if late:
        facts["final_late_keys"] = read_until_converged(late, ctx.nodes(), ctx.history, ctx.tokens, deadline,
                                                        ctx.progress.set_phase)


def partition(ctx: RunContext, facts: dict[str, Any]) -> None:
    """Cut [crdt] partition_region off for [crdt] partition_s (the experiment heals it), recording when."""
    crdt = ctx.plan["crdt"]
    if Capability.NETWORK not in ctx.target.capabilities:
        facts["partition"] = {"not_applicable": f"target {ctx.target.name!r} has no fault proxy between regions"}
        return
    region = str(crdt["partition_region"])
    ctx.progress.set_phase(f"crdt: partition {region} for {crdt['partition_s']:g} s")
    started = time.monotonic_ns()
    status = run_to_end(["chaos", "run", "partition-region", "--var", f"region={region}",
                         "--var", f"observe_s:float={float(crdt['partition_s'])}", "--run-dir", str(ctx.run_dir),
                         *chaos_target_vars(ctx, "")], ctx.run_dir / "harness" / "chaos-crdt-partition.log",
                        EXPERIMENT_TIMEOUT_S)
    facts["partition"] = {"region": region, "exit_status": status}
    facts.update({"partition_region": region, "partition_start_time": started,
                  "partition_end_time": time.monotonic_ns()})


def _pick(nodes: list[NodeInfo], region: str) -> NodeInfo | None:
    return next((n for n in nodes if n.region == region), None)


def multi_region_rounds(ctx: RunContext) -> dict[str, Any]:
    """Per CRDT type, [crdt] mrw_rounds_per_type rounds writing key ``mrw-<type>-<n>`` at the same moment
    through a node of each of the two [crdt] mrw_regions (own tenant): counter +1 / +2; set: an element
    added earlier through the second region is re-added through the first while the second removes it
    (add wins); register: two values. Returns the rounds (key, the two op ids) for the facts."""
    crdt = ctx.plan["crdt"]
    first, second = (str(r) for r in crdt["mrw_regions"])
    nodes = [_pick(ctx.nodes(), first), _pick(ctx.nodes(), second)]
    if None in nodes:
        return {"error": f"the target has no node in {first} or {second}", "rounds": []}
    tenant = f"t{ctx.seed}mrw"
    token = token_for(ctx, tenant)
    if token is None:
        return {"error": f"could not create tenant {tenant}", "rounds": []}
    clients = [ctx.client(node, token, f"verify-mrw-{node.region}") for node in nodes]
    for client in clients:
        client.tenant = tenant
    rounds = []
    try:
        for kind in TYPES:
            for index in range(int(crdt["mrw_rounds_per_type"])):
                key = f"mrw-{kind}-{index}"
                ids = [f"{key}-{node.region}" for node in nodes]
                if kind == "set":  # something for the second region's remove to observe
                    clients[1].crdt_add(key, f"x{index}", f"{key}-pre")
                jobs = [gevent.spawn(_round_write, kind, clients[i], i, key, ids[i], f"{nodes[i].region}-{index}",
                                     f"x{index}") for i in range(2)]
                gevent.joinall(jobs)
                rounds.append({"crdt": kind, "key": key, "ops": ids,
                               "acknowledged": [bool(j.value is not None and j.value.ok) for j in jobs]})
    finally:
        for client in clients:
            client.close()
    return {"tenant": tenant, "regions": [first, second], "rounds": rounds}


def _round_write(kind: str, client: RecordingClient, side: int, key: str, op_id: str, value: str,
                 element: str) -> Result:
    """One side of a multi-region round: counter +1 / +2; set: add (first) or remove (second); register."""
    if kind == "counter":
        return client.crdt_inc(key, side + 1, op_id)
    if kind == "set":
        return client.crdt_add(key, element, op_id) if side == 0 else client.crdt_remove(key, element, op_id)
    return client.crdt_set(key, value, op_id)


def crdt_keys(run_dir: Path) -> list[tuple[str, str, str]]:
    """(tenant, crdt type, key) of every CRDT write invoked in the run's history files."""
    keys: set[tuple[str, str, str]] = set()
    for path in sorted((run_dir / HISTORY_DIR).glob("*.jsonl")):
        for event in read_events(path):
            if event.get("type") == "invoke" and str(event.get("f", "")).startswith("crdt_") \
                    and event.get("f") != "crdt_read" and event.get("tenant") and event.get("crdt"):
                keys.add((str(event["tenant"]), str(event["crdt"]), str(event.get("key"))))
    return sorted(keys)


def _state(result: Result) -> str | None:
    """A read's replica state, comparable across nodes (None when the read failed)."""
    if not result.ok or result.body is None:
        return None
    return json.dumps([result.body.get("value"), result.body.get("timestamp")], sort_keys=True)


def _read_all(client: RecordingClient, keys: list[tuple[str, str, str]], tokens: dict[str, str],
              states: dict[tuple[str, str, str], set[str | None]]) -> None:
    """One node's final read of every key (its state added to ``states``)."""
    for key in keys:
        tenant, kind, name = key
        client.token, client.tenant = tokens.get(tenant), tenant
        states[key].add(_state(client.crdt_read(kind, name, final=True)))


def read_until_converged(keys: list[tuple[str, str, str]], nodes: list[NodeInfo], history: HistoryWriter,
                         tokens: dict[str, str], deadline_s: float,
                         note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Read every key on every node (recorded, ``final``; ``LANES_PER_NODE`` clients per node), round after
    round, until every key's replicas agree in two rounds in a row or ``deadline_s`` passes. Returns rounds,
    keys, converged, seconds."""
    lanes = [(RecordingClient(n.url, None, history, f"{READ_PROCESS}{n.name}-{lane}", region=n.region, timeout=10.0),
              keys[lane::LANES_PER_NODE]) for n in nodes for lane in range(LANES_PER_NODE)]
    started = time.monotonic()
    rounds, agreed_in_a_row = 0, 0
    try:
        while keys:
            rounds += 1
            note(f"crdt: final reads, round {rounds} ({len(keys)} keys x {len(nodes)} nodes)")
            states: dict[tuple[str, str, str], set[str | None]] = {k: set() for k in keys}
            gevent.joinall([gevent.spawn(_read_all, c, part, tokens, states) for c, part in lanes if part],
                           raise_error=True)
            agreed = all(len(s) == 1 and None not in s for s in states.values())
            agreed_in_a_row = agreed_in_a_row + 1 if agreed else 0
            if agreed_in_a_row >= 2 or time.monotonic() - started > deadline_s:
                break
    finally:
        for client, _ in lanes:
            client.close()
    return {"rounds": rounds, "keys": len(keys), "converged": agreed_in_a_row >= 2,
            "seconds": round(time.monotonic() - started, 3)}


def known_keys(ctx: RunContext) -> list[tuple[str, str, str]]:
    """Every CRDT key the run's history wrote, with its tenant's token fetched (idempotent admin create)."""
    keys = crdt_keys(ctx.run_dir)
    for tenant in sorted({t for t, _, _ in keys}):
        token_for(ctx, tenant)
    return keys
