"""The scaling phase (criteria ``scale-out``, ``scale-in``, ``scaling-data-loss``; plan [scaling]).

1. The phase writes [scaling] seed_keys keys of its own (every key and value shape, recorded): keys nobody
   writes again, so their placement after each move is exact evidence even while the load runs.
2. The recorded Locust load (kv profile: hot keys, write-once keys, every shape) starts and runs
   [scaling] load_before_s.
3. Scale-out: the driver starts [scaling] nodes new nodes as a new group and asks the cluster to rebalance;
   the phase polls ``GET /v1/rebalance`` until ``finished`` for the new epoch (at most [scaling]
   rebalance_max_s), then reads every key of the history on every member of the group the harness's ring
   (tier7.ring, new epoch) names (``consistency=local``, recorded), and waits for a healthy cluster.
4. Scale-in: one of the original groups (drawn with the run's seed) is drained under the same load; when
   the rebalance finished the load stops, the driver stops the group's nodes, the phase checks they no
   longer answer, reads every key again on its final owner group and waits for health.
The final reads of every key come from the ``final-read`` phase. Facts: facts/scaling.json (times in
monotonic ns like the history, plus unix s); the judges recompute placement and loss from the history.
"""

from __future__ import annotations

import time
from typing import Any

from ...client import RecordingClient
from ...errors import Tier7Error
from ...load.shapes import Shapes
from ...ring import HarnessRing
from ...targets.base import NodeInfo
from ...targets.scaling import Scaling, scaling_of
from ...waiting import DeadlineExceeded
from .. import interrupt
from ..context import RunContext
from ..final_read import token_for
from ..loadrun import raise_exited, start_load, wait_for_ok
from ..scaling_steps import (
    expected_groups,
    first_json,
    last_writes,
    read_placement,
    sample_keys,
    stopped_answering,
    wait_healthy,
    wait_rebalance,
)

PHASE = "scaling"
START_TIMEOUT_S = 90.0   # tenant creation and user start-up before the load's first acknowledged operation
LOAD_BOUND_S = 1200.0    # safety bound of the load subprocess; the phase stops it itself
HEALTH_WAIT_S = 30.0     # a healthy cluster after each operation, at most this long
STOP_WAIT_S = 15.0       # removed nodes stop answering within this long after the driver stopped them


def node_dicts(nodes: list[NodeInfo]) -> list[dict[str, str]]:
    return [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in nodes]


def run(ctx: RunContext) -> None:
    driver = scaling_of(ctx.target)
    if driver is None:
        ctx.record(PHASE, {"not_applicable": f"target {ctx.target.name!r} cannot scale (no \"scale\" capability: "
                                             "its driver cannot add or remove nodes)"})
        return
    facts: dict[str, Any] = {"plan": dict(ctx.plan["scaling"]), "operations": [],
                             "started_time": time.monotonic_ns(), "started_wall": time.time()}
    try:
        _run(ctx, driver, facts)
    except (DeadlineExceeded, Tier7Error) as exc:
        facts["error"] = f"scaling: {exc}"
    finally:
        ctx.record(PHASE, facts)


def seed_tenant(ctx: RunContext) -> str:
    """The phase's own tenant: only the seed keys are ever written to it."""
    return f"scale{ctx.seed}"


def write_seed_keys(ctx: RunContext, count: int) -> dict[str, Any]:
    """``count`` keys of the phase's own tenant in every key and value shape, each written once (recorded;
    a write that certainly did not apply is tried again, at most 3 times)."""
    tenant = seed_tenant(ctx)
    token = token_for(ctx, tenant)
    if token is None:
        return {"error": f"could not create tenant {tenant}"}
    config = first_json(ctx.nodes(), "/v1/config") or {}
    limits = config.get("limits")
    shapes = Shapes.for_target(ctx.seed, 0.5, limits if isinstance(limits, dict) else None)
    names = [k["name"] for k in shapes.data["key"]]
    items = [(shapes.named_key(names[i % len(names)], f"scale/{i}"), i) for i in range(count)]
    nodes = ctx.nodes()
    acked: list[str] = []

    def write(item: tuple[str, int]) -> None:
        key, index = item
        node = nodes[index % len(nodes)]
        client = RecordingClient(node.url, token, ctx.history, f"verify-scaling-seed-{index}", region=node.region,
                                 timeout=10.0)
        value, _shape = shapes.value(ctx.rng, f"seed{index}")
        try:
            for _ in range(3):
                result = client.put(key, value, tenant=tenant)
                if result.ok:
                    acked.append(key)
                if result.type != "fail":
                    ctx.written.add((tenant, key))
                    return
        finally:
            client.close()

    ctx.each(write, items, 64)
    return {"tenant": tenant, "requested": count, "acknowledged": len(acked)}


def ring_groups(ctx: RunContext) -> tuple[dict[str, Any] | None, list[str]]:
    ring = first_json(ctx.nodes(), "/v1/ring")
    return ring, list((ring or {}).get("groups") or [])


def key_times(ctx: RunContext) -> dict[tuple[str, str], int]:
    """Every strong-KV key written so far -> its latest write's invoke time (keys only this process knows of
    count as written at time 0), with the tokens of their tenants fetched."""
    times = last_writes(ctx.run_dir)
    for key in ctx.written:
        times.setdefault(key, 0)
    for tenant in sorted({t for t, _ in times}):
        token_for(ctx, tenant)
    return times


def operate(ctx: RunContext, action: str, group: str | None, start: Any, rebalance_s: float) -> dict[str, Any]:
    """One scaling operation: the driver call ``start`` (returns the group), then the rebalance watched to
    its end. Returns the operation's record (rings before/after, times, statuses)."""
    ring_before, groups_before = ring_groups(ctx)
    if ring_before is None or not groups_before:
        raise Tier7Error(f"before the {action}: no node answered GET /v1/ring with its groups")
    nodes_before = ctx.nodes()
    op: dict[str, Any] = {"action": action, "ring_before": ring_before, "nodes_before": node_dicts(nodes_before),
                          "call_time": time.monotonic_ns(), "call_wall": time.time()}
    group = start()
    op.update({"group": group, "admin_time": time.monotonic_ns(), "admin_wall": time.time(),
               "expected_groups": expected_groups(groups_before, action, group)})
    epoch = int((ring_before or {}).get("epoch") or 0) + 1
    op["expected_epoch"] = epoch
    ctx.progress.set_phase(f"scaling: {action} {group}: waiting for the rebalance to epoch {epoch}")
    op["rebalance"] = wait_rebalance(ctx.nodes, epoch, rebalance_s, interrupt.REQUESTED.is_set)
    op["ring_after"], _ = ring_groups(ctx)
    return op


def place(ctx: RunContext, op: dict[str, Any], step: str) -> None:
    """The harness's placement reads for the operation's new ring (a sample of the quiet keys, the moved
    ones first: [scaling] placement_keys), then the health wait."""
    plan = ctx.plan["scaling"]
    before = HarnessRing.from_contract(op["ring_before"])
    params = dict(op.get("ring_before") or {})
    params.update({"groups": op["expected_groups"], "epoch": op["expected_epoch"]})
    after = HarnessRing.from_contract(params)
    quiet_since = time.monotonic_ns() - int(float(plan["settle_s"]) * 1e9)
    sample = sample_keys(key_times(ctx), before.group_for, after.group_for, quiet_since,
                         int(plan["placement_keys"]), ctx.seed, seed_tenant(ctx))
    keys = sample.pop("keys")
    op["placement"] = read_placement(step, keys, after.group_for, ctx.nodes(), ctx.tokens, ctx.history,
                                     float(plan["placement_deadline_s"]), ctx.progress.set_phase)
    op["placement"]["sample"] = sample
    op["health"] = wait_healthy(ctx.nodes(), HEALTH_WAIT_S)
    op["nodes_after"] = node_dicts(ctx.nodes())
    op["end_time"], op["end_wall"] = time.monotonic_ns(), time.time()


def _run(ctx: RunContext, driver: Scaling, facts: dict[str, Any]) -> None:
    plan = ctx.plan["scaling"]
    rebalance_s = float(plan["rebalance_max_s"])
    original = sorted({n.group for n in ctx.nodes()})
    ctx.progress.set_phase(f"scaling: writing {plan['seed_keys']} seed keys")
    facts["seed"] = write_seed_keys(ctx, int(plan["seed_keys"]))
    ctx.progress.set_phase("scaling: starting the load")
    command = start_load(ctx, LOAD_BOUND_S, "scaling-load.log")
    load: dict[str, Any] = {}
    facts["load"] = load
    try:
        wait_for_ok(ctx, command, 1, START_TIMEOUT_S, "the load to get going")
        load["going_time"] = time.monotonic_ns()
        hold_until = time.monotonic() + float(plan["load_before_s"])
        ctx.progress.set_phase(f"scaling: load for {plan['load_before_s']} s before the scale-out")
        while time.monotonic() < hold_until:
            if not command.running():
                raise_exited(command)
            time.sleep(0.2)
        ctx.progress.set_phase(f"scaling: scale-out +{plan['nodes']} nodes")
        out = operate(ctx, "add", None, lambda: driver.scale_out(int(plan["nodes"])), rebalance_s)
        facts["operations"].append(out)
        if out["rebalance"]["outcome"] != "finished":
            facts["stopped_early"] = f"the scale-out's rebalance ended {out['rebalance']['outcome']}: no scale-in"
            return
        place(ctx, out, "out")
        interrupt.check()
        # "Any group can be drained, including one of the original three": the default drains an original one
        victim = out["group"] if plan.get("drain") == "added" else ctx.rng.choice(original)
        facts["drained_group_choice"] = {"from": original, "seed": ctx.seed, "drain": plan.get("drain", "original"),
                                         "group": victim}
        ctx.progress.set_phase(f"scaling: scale-in: draining {victim}")
        removing = [n for n in ctx.nodes() if n.group == victim]
        scale_in = operate(ctx, "remove", victim, lambda: driver.scale_in(victim) or victim, rebalance_s)
        facts["operations"].append(scale_in)
    finally:
        load["exit_status"] = command.interrupt()
        load["stopped_time"] = time.monotonic_ns()
        load["log_tail"] = command.tail(2)
    if scale_in["rebalance"]["outcome"] != "finished":
        facts["stopped_early"] = f"the scale-in's rebalance ended {scale_in['rebalance']['outcome']}"
        return
    ctx.progress.set_phase(f"scaling: stopping the nodes of {victim}")
    try:
        driver.finish_scale_in(victim, max(10.0, rebalance_s - scale_in["rebalance"]["waited_s"]))
        scale_in["removed_nodes"] = [n.name for n in removing]
        scale_in["still_answering"] = stopped_answering(removing, STOP_WAIT_S)
    except Exception as exc:  # noqa: BLE001 - the driver's failure is evidence, not a crash of the run
        scale_in["finish_error"] = f"{exc.__class__.__name__}: {exc}"
    place(ctx, scale_in, "in")
