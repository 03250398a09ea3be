"""The failover phase: recorded Locust load (kv profile, a subprocess writing into this run's history)
while Chaos Toolkit's ``kill-raft-leader`` experiment runs once per group (plan: at least 3 kills), its
control writing nemesis events on the same clock. Around each experiment the harness observes every
group's leader and term. Facts: facts/failover.json (judged by analysis/criteria/failover.py and, for
independence, analysis/criteria/multi_raft.py, with the analysis of the run folder)."""

from __future__ import annotations

import time
from typing import Any

from ...targets.base import Capability
from ...topology import observe
from ...waiting import DeadlineExceeded, wait_until
from ..background import run_to_end
from ..context import RunContext
from ..loadrun import raise_exited, start_load, wait_for_ok

EXPERIMENT_TIMEOUT_S = 120.0
LOAD_DURATION_S = 900.0  # upper bound: the phase stops the load itself after the last kill
GOING_OPS = 200          # acknowledged operations that show the load is under way


def chaos_target_vars(ctx: RunContext, options_target: str) -> list[str]:
    testbed_dir = getattr(ctx.target, "dir", None)
    if testbed_dir is not None:
        return ["--testbed-dir", str(testbed_dir)]
    return ["--var", f"tier7_target={options_target}"]


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {"kills": [], "experiments": []}
    missing = [c.value for c in (Capability.KILL, Capability.RESTART) if c not in ctx.target.capabilities]
    if missing:
        facts["not_applicable"] = f"target {ctx.target.name!r} cannot {' and '.join(missing)} nodes"
        ctx.record("failover", facts)
        return
    try:
        _run(ctx, facts)
    finally:
        ctx.record("failover", facts)


def kill_targets(groups: list[str], sizes: dict[str, Any], seed: int) -> list[str]:
    """The group of each leader kill, in order: ``leader_kills`` of them, and every group at least once
    unless ``kill_every_group`` is false (``--quick``: then the seed picks the first group, so repeated runs
    with other seeds cover every group)."""
    kills, first = int(sizes["leader_kills"]), 0
    if sizes.get("kill_every_group", True):
        kills = max(kills, len(groups))
    else:
        first = seed % len(groups)
    return [groups[(first + index) % len(groups)] for index in range(kills)]


def _run(ctx: RunContext, facts: dict[str, Any]) -> None:
    groups = sorted({n.group for n in ctx.nodes()})
    targets = kill_targets(groups, ctx.sizes, ctx.seed)
    ctx.progress.set_phase("failover: starting load")
    logs = ctx.run_dir / "harness"
    command = start_load(ctx, LOAD_DURATION_S)
    facts["load_started"] = True
    try:
        try:
            wait_for_ok(ctx, command, GOING_OPS, 90, "the load to get going")
        except DeadlineExceeded:
            facts["error"] = f"the load did not start: {command.tail()}"
            return
        # The analysis's minimum-load gate judges the `context_s` before each fault: a kill while the
        # load is still ramping up would be measured as UNKNOWN, so the load runs that long first.
        context_s = float(ctx.plan["windows"]["context_s"])
        going_at = time.monotonic()
        ctx.progress.set_phase(f"failover: load for {context_s:g} s before the first kill")
        try:
            wait_until(lambda: time.monotonic() - going_at >= context_s
                       or not command.running() and raise_exited(command), context_s + 5, 0.2,
                       "the load to run before the first kill")
        except DeadlineExceeded:
            facts["error"] = f"the load stopped before the first kill: {command.tail()}"
            return
        election_max_s = float(ctx.plan["failover"]["election_max_s"])
        for index, group in enumerate(targets):
            ctx.progress.set_phase(f"failover: kill leader of {group} ({index + 1}/{len(targets)})")
            before = observe(ctx.nodes())
            status = run_to_end(["chaos", "run", "kill-raft-leader", "--var", f"group={group}",
                                 "--var", f"failover_s:float={election_max_s}",
                                 "--run-dir", str(ctx.run_dir), *chaos_target_vars(ctx, "")],
                                logs / f"chaos-{index + 1}-{group}.log", EXPERIMENT_TIMEOUT_S)
            facts["experiments"].append({"group": group, "exit_status": status})
            try:
                after = wait_until(lambda: (t := observe(ctx.nodes())).healthy() and t, 30, 0.2,
                                   "the cluster to be healthy again")
            except DeadlineExceeded:
                after = observe(ctx.nodes())
            facts["kills"].append({"group": group, "leader_before": before.groups[group].leader,
                                   "leader_after": after.groups[group].leader, "others": {
                other: {"leader_before": before.groups[other].leader, "leader_after": after.groups[other].leader,
                        "term_before": before.groups[other].term, "term_after": after.groups[other].term}
                for other in groups if other != group}})
        ctx.progress.set_phase("failover: load after the last kill")
        try:
            wait_for_ok(ctx, command, GOING_OPS, 30, "load to continue after the kills", must_run=False)
        except DeadlineExceeded:
            facts["note"] = "little load after the last kill"
    finally:
        ctx.progress.set_phase("failover: stopping load")
        facts["load_exit_status"] = command.interrupt()
        facts["load_log_tail"] = command.tail(3)
