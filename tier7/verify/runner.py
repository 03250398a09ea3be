"""`tier7 verify`: run the plan's criteria as phases and write the plan's outputs.

Order: setup (target up, snapshots, topology sampling) -> phases of the selected criteria -> final read
-> teardown (artefacts, topology after, target down) -> analysis -> verdicts -> report, zip, STATUS.md.
Ctrl-C or an error at any point still runs teardown and writes a report marked INCOMPLETE.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.verdict import Status, Verdict

from .. import runfolder
from ..errors import Tier7Error
from ..plan import CRITERIA, CRITERIA_BY_ID, load_plan
from ..targets import processes
from ..targets.files import open_target_file
from ..targets.testbed import TestbedTarget
from ..topology import observe
from ..waiting import DeadlineExceeded
from . import final_read, interrupt, outputs, setup
from .context import RunContext
from .criteria import failover, federation, multi_raft, preset, tenants, whole_run
from .progress import Progress
from .results import CriterionResult, exit_status

PhaseFn = Callable[[RunContext], None]
JudgeFn = Callable[[RunContext, Any], CriterionResult]

# Phases in run order; each criterion names the phases it needs.
PHASES: dict[str, PhaseFn] = {
    "preset": preset.run,
    "federation": federation.run,
    "tenants": tenants.run,
    "failover": failover.run,
}
NEEDS: dict[str, list[str]] = {
    "preset": ["preset"],
    "multi-raft": ["failover"],
    "federation": ["federation"],
    "failover": ["failover"],
    "tenants": ["tenants"],
    "no-lost-writes": ["final-read"],
}
JUDGES: dict[str, JudgeFn] = {
    "preset": preset.judge,
    "multi-raft": multi_raft.judge,
    "federation": federation.judge,
    "tenants": tenants.judge,
    "failover": failover.judge,
    "logs": whole_run.judge_logs,
    "linearizable": whole_run.judge_linearizable,
    "no-lost-writes": whole_run.judge_no_lost_writes,
}


def register_phase(name: str, run: PhaseFn, before: str | None = None) -> None:
    """Add a phase (kept in order: inserted before ``before`` when given)."""
    global PHASES
    items = list(PHASES.items())
    index = next((i for i, (n, _) in enumerate(items) if n == before), len(items))
    items.insert(index, (name, run))
    PHASES = dict(items)


@dataclass
class Options:
    preset: str = "god-tier"
    target: str = "testbed"
    only: list[str] | None = None
    quick: bool = False
    seed: int | None = None
    out: Path = Path("results")
    status_file: Path | None = None
    strict: bool = False
    testbed_faults: dict[str, Any] | None = None  # TEST ONLY
    command: str = "tier7 verify"


def selected_criteria(only: list[str] | None) -> list[str]:
    if not only:
        return [c.id for c in CRITERIA]
    unknown = [o for o in only if o not in CRITERIA_BY_ID]
    if unknown:
        raise Tier7Error(f"unknown criterion {unknown[0]!r}; choose from: {', '.join(CRITERIA_BY_ID)}")
    return [c.id for c in CRITERIA if c.id in only]


def open_target(options: Options, run_dir: Path) -> tuple[Any, bool]:
    """(target, started_here). ``testbed`` starts a fresh bundled cluster inside the run folder."""
    if options.target == "testbed":
        target = TestbedTarget.create(run_dir / "testbed", preset=options.preset,
                                      test_faults=options.testbed_faults)
        try:
            target.start(timeout=60)
        except BaseException:
            target.stop()
            raise
        return target, True
    return open_target_file(options.target), False


def verify(options: Options) -> int:
    interrupt.install()
    processes.tie_children_to_this_process()  # a SIGKILLed run must not leave its testbed behind
    plan = load_plan(options.quick)
    chosen = selected_criteria(options.only)
    seed = options.seed if options.seed is not None else int(time.time()) % 1_000_000
    run_dir = runfolder.new_run_dir("tier7", options.out)
    progress = Progress(run_dir)
    progress.start()
    progress.note(f"tier7 verify: plan {plan['plan']['id']} -> {run_dir} (seed {seed})")
    meta = {"plan_id": plan["plan"]["id"], "plan_title": plan["plan"]["title"], "preset": options.preset,
            "report_file": plan["plan"]["report_file"], "evidence_file": plan["plan"]["evidence_file"],
            "run_dir": str(run_dir), **setup.run_facts(options.command, seed, options.quick, options.target)}
    ctx: RunContext | None = None
    target, started_here, sampler = None, False, None
    complete, incomplete_reason = False, ""
    ran: set[str] = set()
    set_up = False
    try:
        progress.set_phase("starting target")
        target, started_here = open_target(options, run_dir)
        ctx = RunContext(run_dir, plan, options.quick, seed, target, progress)
        setup.snapshot_target(ctx)
        setup.measure_region_rtt(ctx)
        sampler = setup.start_sampler(ctx)
        set_up = True
        needed = {p for c in chosen for p in NEEDS.get(c, [])}
        for name, run in PHASES.items():
            if name in needed:
                progress.set_phase(name)
                run(ctx)
                interrupt.check()
                ran.add(name)
        if "final-read" in needed:
            final_read.run(ctx)
            interrupt.check()
            ran.add("final-read")
        complete = True
    except KeyboardInterrupt:
        incomplete_reason = "interrupted by Ctrl-C (or SIGTERM)"
    except (Tier7Error, DeadlineExceeded) as exc:
        incomplete_reason = str(exc)
    finally:
        # a second Ctrl-C (or SIGTERM) must not lose the report
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            paths = finish(ctx, target, started_here, sampler, progress, meta, chosen, ran, complete,
                           incomplete_reason, options)
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
    results = paths.pop("_results")
    progress.note(summary_text(results, complete, incomplete_reason, paths))
    if not complete and incomplete_reason and not set_up:
        raise Tier7Error(incomplete_reason)  # the target could not be reached or started: exit 2, one line
    return exit_status(results, options.strict, complete)


def finish(ctx: RunContext | None, target: Any, started_here: bool, sampler: Any, progress: Progress,
           meta: dict[str, Any], chosen: list[str], ran: set[str], complete: bool, reason: str,
           options: Options) -> dict[str, Any]:
    progress.set_phase("collecting evidence")
    if sampler is not None:
        sampler.stop()
    if ctx is not None:
        try:
            ctx.facts["topology_after"] = observe(ctx.nodes()).as_dict()
            setup.collect_artefacts(ctx)
            setup.copy_cluster_file(ctx, getattr(target, "cluster_file", None))
        finally:
            ctx.history.close()
    if target is not None and started_here:
        progress.set_phase("stopping target")
        target.stop()
    progress.set_phase("analysis")
    analysis = None
    if ctx is not None:
        analysis = run_analysis(ctx)
    results = judge_all(ctx, chosen, analysis, ran, complete)
    meta.update(complete=complete, incomplete_reason=reason, duration_s=time.time() - meta["started_wall"])
    sections = {"topology_before": ctx.facts.get("topology_before") if ctx else None,
                "topology_after": ctx.facts.get("topology_after") if ctx else None,
                "faults": ctx.facts.get("fault_timeline", []) if ctx else [],
                "metrics": {**(ctx.facts.get("metrics", {}) if ctx else {}),
                            "Cross-region RTT (ms, before any fault)": setup.region_rtt_section(ctx)}}
    progress.set_phase("writing report")
    run_dir = Path(meta["run_dir"])
    status_file = options.status_file or Path(load_plan()["plan"]["status_file"])
    secrets = ctx.secrets() if ctx else []
    paths = outputs.write_outputs(run_dir, meta, results, sections, secrets, status_file)
    progress.stop()
    return {**paths, "_results": results}


def run_analysis(ctx: RunContext) -> Any:
    """Whole-run analysis of the run folder (checkers and metrics); None when it cannot run."""
    from .analysis_bridge import analyse

    return analyse(ctx)


def judge_all(ctx: RunContext | None, chosen: list[str], analysis: Any, ran: set[str],
              complete: bool) -> list[CriterionResult]:
    results = []
    for criterion in CRITERIA:
        if not criterion.built:
            results.append(CriterionResult(criterion, Verdict(criterion.id, Status.NOT_RUN, criterion.pending)))
            continue
        if criterion.id not in chosen:
            verdict = Verdict(criterion.id, Status.NOT_RUN, "not selected (--only)")
            results.append(CriterionResult(criterion, verdict))
            continue
        judge = JUDGES.get(criterion.id)
        missing = [p for p in NEEDS.get(criterion.id, []) if p not in ran]
        if ctx is None or judge is None or (missing and not complete):
            why = ("the run stopped before this criterion's phases" if ctx is not None and judge is not None
                   else "the run stopped before the target was up" if ctx is None
                   else "its judge is not built yet")
            results.append(CriterionResult(criterion, Verdict(criterion.id, Status.NOT_RUN, why)))
            continue
        try:
            results.append(judge(ctx, analysis))
        except Exception as exc:  # noqa: BLE001 - a judge bug must not lose the other verdicts
            results.append(CriterionResult(criterion, Verdict(
                criterion.id, Status.UNKNOWN, f"judge crashed: {exc.__class__.__name__}: {exc}")))
    return results


def summary_text(results: list[CriterionResult], complete: bool, reason: str, paths: dict[str, Path]) -> str:
    lines = ["", "plan 45-04 — criteria:" + ("" if complete else f"  (INCOMPLETE: {reason})")]
    for r in results:
        figure = f" — {r.measured}" if r.measured else ""
        why = f" ({r.verdict.reason})" if r.status is not Status.PASS and r.verdict.reason else ""
        lines.append(f"  {r.status.value:<15} {r.criterion.id:<19}{figure}{why}")
    not_run = sum(r.status is Status.NOT_RUN for r in results)
    if not_run:
        lines.append(f"  ({not_run} criteria NOT RUN: listed in the report; they do not fail the exit status "
                     "unless --strict)")
    lines += [f"report:   {paths['report']}", f"evidence: {paths['evidence']}", f"status:   {paths['status']}"]
    return "\n".join(lines)
