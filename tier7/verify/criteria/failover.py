"""Chaos: kill Raft leader, new leader elected within 5 seconds, writes resume.

Run: recorded Locust load (kv profile, a subprocess writing into this run's history) while Chaos Toolkit's
``kill-raft-leader`` experiment runs once per group (plan: at least 3 kills), its control writing nemesis
events on the same clock. Around each experiment the harness observes every group's leader and term (the
multi-raft criterion's independence evidence).
Judge (offline analysis of the run folder): per kill and group, the outage from the last acknowledged
operation before the kill to the first after it, and the election time from topology samples, both within
the plan's 5 s; a kill measured under too thin a load is UNKNOWN; an experiment that did not complete
(journal) is a FAIL.
"""

from __future__ import annotations

import json
import time
from typing import Any

from analysis.thresholds import load_thresholds
from analysis.verdict import Status, Verdict, worst

from ...plan import CRITERIA_BY_ID
from ...runfolder import write_json
from ...targets.base import Capability
from ...topology import observe
from ...waiting import DeadlineExceeded, wait_until
from ..analysis_bridge import verdict_named
from ..background import Subcommand, run_to_end
from ..context import RunContext
from ..results import CriterionResult, phase_outcome

EXPERIMENT_TIMEOUT_S = 120.0


def load_target_file(ctx: RunContext) -> str:
    cluster_file = getattr(ctx.target, "cluster_file", None)
    if cluster_file is not None:
        return str(cluster_file)
    path = write_json(ctx.run_dir / "target" / "load-target.json",
                      {"nodes": [{"name": n.name, "group": n.group, "region": n.region, "url": n.url}
                                 for n in ctx.nodes()]})
    return str(path)


def chaos_target_vars(ctx: RunContext, options_target: str) -> list[str]:
    testbed_dir = getattr(ctx.target, "dir", None)
    if testbed_dir is not None:
        return ["--testbed-dir", str(testbed_dir)]
    return ["--var", f"tier7_target={options_target}"]


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {"kills": [], "experiments": []}
    ctx.facts["failover"] = facts
    if Capability.KILL not in ctx.target.capabilities or Capability.RESTART not in ctx.target.capabilities:
        facts["not_applicable"] = f"target {ctx.target.name!r} cannot kill and restart nodes"
        return
    load = ctx.plan["load"]
    groups = sorted({n.group for n in ctx.nodes()})
    kills = max(int(ctx.sizes["leader_kills"]), len(groups))
    ctx.progress.set_phase("failover: starting load")
    logs = ctx.run_dir / "harness"
    command = Subcommand(
        ["load", "--profile", "kv", "--users", str(load["users"]), "--spawn-rate", str(load["spawn_rate"]),
         "--duration", "900", "--tenants", "1", "--keyspace", "200", "--seed", str(ctx.seed or 1),
         "--target-file", load_target_file(ctx), "--run-dir", str(ctx.run_dir), "--quiet"],
        logs / "load.log", env={"TIER7_ADMIN_TOKEN": ctx.target.admin_token()})
    try:
        start_ok = ctx.progress.tail.ok
        try:
            wait_until(lambda: (ctx.progress.tail.poll() or True) and ctx.progress.tail.ok - start_ok > 200
                       or not command.running() and _raise_exited(command), 90, 0.2, "the load to get going")
        except DeadlineExceeded:
            facts["error"] = f"the load did not start: {command.tail()}"
            return
        # The analysis's minimum-load gate judges the `context_s` before each fault: a kill while the
        # load is still ramping up would be measured as UNKNOWN, so the load runs that long first.
        context_s = float(load_thresholds()["windows"]["context_s"])
        going_at = time.monotonic()
        ctx.progress.set_phase(f"failover: load for {context_s:g} s before the first kill")
        try:
            wait_until(lambda: time.monotonic() - going_at >= context_s
                       or not command.running() and _raise_exited(command), context_s + 5, 0.2,
                       "the load to run before the first kill")
        except DeadlineExceeded:
            facts["error"] = f"the load stopped before the first kill: {command.tail()}"
            return
        for index in range(kills):
            group = groups[index % len(groups)]
            ctx.progress.set_phase(f"failover: kill leader of {group} ({index + 1}/{kills})")
            before = observe(ctx.nodes())
            status = run_to_end(["chaos", "run", "kill-raft-leader", "--var", f"group={group}",
                                 "--var", f"failover_s:float={ctx.thresholds['failover_s']}",
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
        settle_from = ctx.progress.tail.ok
        ctx.progress.set_phase("failover: load after the last kill")
        try:
            wait_until(lambda: (ctx.progress.tail.poll() or True) and ctx.progress.tail.ok - settle_from > 200,
                       30, 0.2, "load to continue after the kills")
        except DeadlineExceeded:
            facts["note"] = "little load after the last kill"
    finally:
        ctx.progress.set_phase("failover: stopping load")
        facts["load_exit_status"] = command.interrupt()
        facts["load_log_tail"] = command.tail(3)


def _raise_exited(command: Subcommand) -> bool:
    raise DeadlineExceeded(f"load exited early: {command.tail()}")


def judge(ctx: RunContext, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["failover"]
    limit = ctx.thresholds["failover_s"]
    threshold = f"new leader < {limit:g} s and writes resume, per kill (>= {ctx.sizes['leader_kills']} kills)"
    facts = ctx.facts.get("failover")
    if facts:
        write_json(ctx.evidence_path("failover.json"), facts)
    if early := phase_outcome(criterion, facts, "failover", threshold, evidence="evidence/failover.json"):
        return early
    measured_kills = len(facts["experiments"])
    failed_experiments = [e for e in facts["experiments"] if e["exit_status"] != 0]
    outage = verdict_named(analysis, "failover")
    experiments = verdict_named(analysis, "chaos-experiments")
    statuses = [outage.status if outage else Status.UNKNOWN]
    reasons = [] if outage is None else ([outage.reason] if outage.reason else [])
    evidence = list(outage.evidence) if outage else []
    if failed_experiments:
        statuses.append(Status.FAIL)
        reasons.append(f"{len(failed_experiments)} experiment(s) did not pass: "
                       f"{json.dumps(failed_experiments[0])} (see harness/chaos-*.log and chaos/*/journal.json)")
    if experiments is not None and experiments.status is Status.FAIL:
        statuses.append(Status.FAIL)
        reasons.append(experiments.reason)
    if measured_kills < int(ctx.sizes["leader_kills"]):
        statuses.append(Status.UNKNOWN)
        reasons.append(f"only {measured_kills} kill(s) of the {ctx.sizes['leader_kills']} required")
    if outage is None:
        reasons.append(ctx.facts.get("analysis_error", "analysis did not measure the faults"))
    status = worst(statuses)
    figures = dict(outage.figures) if outage else {}
    per_kill = [f"{e.get('group')}: election {_s(e.get('election_s'))}, outage {_s(e.get('outage_s'))}"
                for e in evidence if isinstance(e, dict)]
    measured = (f"{measured_kills} kills; worst election {_s(figures.get('worst_election_s'))}, worst outage "
                f"{_s(figures.get('worst_outage_s'))} ({'; '.join(per_kill)})")
    verdict = Verdict(criterion.id, status, "; ".join(r for r in reasons if r) if status is not Status.PASS else "",
                      evidence, figures)
    return CriterionResult(criterion, verdict, measured, threshold, "evidence/failover.json")


def _s(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "n/a"
