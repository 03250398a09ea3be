"""`tier7 verify`: run the phases the selected criteria need, then let the verdict engine judge the run
folder and write the plan's outputs.

Order: setup (target up, snapshots, topology sampling) -> phases of the selected criteria (each records
facts/<phase>.json) -> final read -> teardown (artefacts, topology after, target down) -> the engine
(``analysis.judge.judge_run``: analysis + every criterion's judge, from the folder alone) -> report, zip,
STATUS.md. ``tier7 analyze <run>`` runs the same engine on the same folder and prints the same verdicts.
Ctrl-C or an error at any point still runs teardown and writes a report marked INCOMPLETE.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.facts import RUN_FACTS, facts_path
from analysis.judge import Judgement, exit_status, judge_run, summary_lines, write_verdicts

from .. import runfolder
from ..errors import Tier7Error
from ..plan import CRITERIA, CRITERIA_BY_ID, load_plan, write_plan_copy
from ..targets import processes
from ..targets.capabilities import declared
from ..targets.files import open_target_file
from ..targets.testbed import TestbedTarget
from ..waiting import DeadlineExceeded
from . import final_read, foreign, interrupt, outputs, setup
from .context import RunContext
from .criteria import (
    cloud,
    contract,
    crdt,
    failover,
    federation,
    load,
    preset,
    scaling,
    sql,
    tenants,
    transport,
)
from .progress import Progress

PhaseFn = Callable[[RunContext], None]

# Phases in run order; each criterion names the phases it needs (analysis/plan.toml). "final-read" runs
# last, after every writer. "load" after "failover": the failover load, when it ran, is the load.
PHASES: dict[str, PhaseFn] = {
    "preset": preset.run,
    "federation": federation.run,
    "tenants": tenants.run,
    "failover": failover.run,
    "crdt": crdt.run,  # CRDT writers + a region partition (criteria crdt, multi-region-write)
    "sql": sql.run,  # federated SQL vs the harness's oracle, TLP, a leader kill (criterion sql)
    "cloud": cloud.run,  # blobs on S3/Azure/GCS emulators, read back and directly; paused mid-upload
    "transport": transport.run,  # +RTT between two regions: h2 -> h3 and back under writes (criterion transport)
    "scaling": scaling.run,  # +3 nodes, then an original group drained, under load (scale-out, scale-in, ...)
    "load": load.run,
    "contract": contract.run,  # last: a target the fuzz breaks must not spoil the other criteria's evidence
}
FINAL_READ = "final-read"


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


def needed_phases(chosen: list[str]) -> set[str]:
    """Every phase a selected, built criterion needs."""
    return {p for c in CRITERIA if c.id in chosen and c.built for p in c.phases}


def open_target(options: Options, run_dir: Path) -> tuple[Any, bool]:
    """(target, started_here). ``testbed`` starts a fresh bundled cluster inside the run folder; ``etcd`` and
    ``redis-sentinel`` start the real servers there (tier7/verify/foreign.py)."""
    if options.target in foreign.KINDS:
        return foreign.open_target(options.target, run_dir), True
    if foreign.is_running_folder(options.target):  # left running by `tier7 testbed up --kind`
        processes.untie_children()  # not this run's servers: a member it restarts outlives the run
        return foreign.open_running(Path(options.target)), False
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


class RunRecord:
    """The runner's own facts (facts/verify.json): the plan meta, what was selected, the target's name and
    capabilities, which phases ran, and whether the run finished. Rewritten at every change."""

    def __init__(self, run_dir: Path, meta: dict[str, Any], chosen: list[str], needed: set[str]) -> None:
        self.path = facts_path(run_dir, RUN_FACTS)
        self.data: dict[str, Any] = {"meta": meta, "chosen": chosen, "needed": sorted(needed), "ran": [],
                                     "complete": False, "incomplete_reason": "", "target_name": None,
                                     "capabilities": [], "log_nodes": []}
        self.secrets: list[str] = []
        self.write()

    def update(self, **values: Any) -> None:
        self.data.update(values)
        self.write()

    def ran(self, phase: str) -> None:
        self.update(ran=[*self.data["ran"], phase])

    def write(self) -> None:
        runfolder.write_json(self.path, self.data, self.secrets)


def verify(options: Options) -> int:
    interrupt.install()
    processes.tie_children_to_this_process()  # a SIGKILLed run must not leave its testbed behind
    plan = load_plan(options.quick)
    chosen = selected_criteria(options.only)
    seed = options.seed if options.seed is not None else int(time.time()) % 1_000_000
    # `latest` moves to this run only once its target is up: a run that cannot start leaves no trace
    run_dir = runfolder.new_run_dir("tier7", options.out, link=False)
    write_plan_copy(run_dir, plan)  # the numbers this run uses; `tier7 analyze` re-judges with them
    progress = Progress(run_dir)
    progress.start()
    progress.note(f"tier7 verify: plan {plan['plan']['id']} -> {run_dir} (seed {seed})")
    meta = {"plan_id": plan["plan"]["id"], "plan_title": plan["plan"]["title"], "preset": options.preset,
            "report_file": plan["plan"]["report_file"], "evidence_file": plan["plan"]["evidence_file"],
            "run_dir": str(run_dir), **setup.run_facts(options.command, seed, options.quick, options.target)}
    needed = needed_phases(chosen)
    record = RunRecord(run_dir, meta, chosen, needed)
    ctx: RunContext | None = None
    target, started_here, sampler = None, False, None
    complete, incomplete_reason = False, ""
    set_up = False
    try:
        progress.set_phase("starting target")
        target, started_here = open_target(options, run_dir)
        ctx = RunContext(run_dir, plan, options.quick, seed, target, progress)
        record.secrets = ctx.secrets()
        record.update(target_name=target.name, capabilities=sorted(declared(target)),
                      log_nodes=sorted(target.log_files()), foreign=foreign.is_foreign(target))
        if foreign.is_foreign(target):  # no HTTP contract: its own node list and topology sampler
            sampler = foreign.set_up(ctx)
        else:
            sampler = contract_set_up(ctx, record, run_dir)
        set_up = True
        runfolder.point_latest(run_dir)
        for name, default_run in PHASES.items():
            run = foreign.phase(target, name, default_run)  # a foreign target runs its own workload phases
            if name in needed and run is not None:
                progress.set_phase(name)
                run(ctx)
                interrupt.check()
                record.ran(name)
        if FINAL_READ in needed:
            foreign.phase(target, FINAL_READ, final_read.run)(ctx)  # type: ignore[misc]
            interrupt.check()
            record.ran(FINAL_READ)
        complete = True
    except KeyboardInterrupt:
        incomplete_reason = "interrupted by Ctrl-C (or SIGTERM)"
    except (Tier7Error, DeadlineExceeded) as exc:
        incomplete_reason = str(exc)
    except BaseException as exc:  # a bug: still stop the target and write what was recorded, then let it out
        if not set_up:  # before the run started: no report of a run that never was
            abandon(run_dir, target, started_here, sampler, ctx, progress)
        else:
            finish_guarded(ctx, target, started_here, sampler, progress, record, False,
                           f"internal error: {exc.__class__.__name__}: {exc}", options)
        raise
    if not set_up:
        # The target could not be opened, reached or started (or Ctrl-C came first): exit 2 with one line,
        # and leave STATUS.md, `latest` and the earlier runs as they were (no report of a run that never was).
        kept = abandon(run_dir, target, started_here, sampler, ctx, progress)
        raise Tier7Error(incomplete_reason + (f" (the testbed's logs are kept in {kept})" if kept else ""))
    judgement, paths = finish_guarded(ctx, target, started_here, sampler, progress, record, complete,
                                      incomplete_reason, options)
    progress.note(summary_text(judgement, paths))
    return exit_status(judgement.results, options.strict, complete)


def contract_set_up(ctx: RunContext, record: RunRecord, run_dir: Path) -> Any:
    """Set-up of a target speaking the HTTP contract: snapshots, region round trips, topology sampler."""
    setup.snapshot_target(ctx)
    # what the target's contract offers (target/config.json), next to what its driver can do
    record.update(capabilities=sorted({*record.data["capabilities"], *crdt.contract_capabilities(run_dir)}))
    setup.measure_region_rtt(ctx)
    return setup.start_sampler(ctx)


def finish_guarded(*args: Any) -> tuple[Judgement, dict[str, Path]]:
    """``finish`` with Ctrl-C and SIGTERM ignored: a second one must not lose the report."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        return finish(*args)
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def abandon(run_dir: Path, target: Any, started_here: bool, sampler: Any, ctx: RunContext | None,
            progress: Progress) -> Path | None:
    """Undo a run that never started: stop what was started, remove its folder. A bundled testbed that
    failed to start keeps its folder (its node logs say why); returns that folder, else None."""
    try:
        if sampler is not None:
            sampler.stop()
        if ctx is not None:
            ctx.history.close()
        if target is not None and started_here:
            target.stop()
    finally:
        progress.stop()
    testbed_logs = run_dir / "testbed"
    if started_here or (testbed_logs.is_dir() and any(testbed_logs.rglob("*.log"))):
        return run_dir
    runfolder.discard(run_dir)
    return None


def finish(ctx: RunContext | None, target: Any, started_here: bool, sampler: Any, progress: Progress,
           record: RunRecord, complete: bool, reason: str, options: Options) -> tuple[Judgement, dict[str, Path]]:
    progress.set_phase("collecting evidence")
    if sampler is not None:
        sampler.stop()
    if ctx is not None:
        try:
            if foreign.is_foreign(ctx.target):
                foreign.finish(ctx)
            else:
                setup.observe_topology_after(ctx)
                setup.collect_artefacts(ctx)
            setup.copy_cluster_file(ctx, getattr(target, "cluster_file", None))
        finally:
            ctx.history.close()
    if target is not None and started_here:
        progress.set_phase("stopping target")
        target.stop()
    meta = record.data["meta"]
    record.update(complete=complete, incomplete_reason=reason,
                  meta={**meta, "duration_s": time.time() - meta["started_wall"]})
    progress.set_phase("analysis: checkers, metrics and the criteria's judges")
    judgement = judge_run(Path(meta["run_dir"]))
    progress.set_phase("writing report")
    write_verdicts(judgement)
    status_file = options.status_file or Path(load_plan()["plan"]["status_file"])
    secrets = ctx.secrets() if ctx else []
    paths = outputs.write_outputs(judgement, secrets, status_file)
    progress.stop()
    return judgement, paths


def summary_text(judgement: Judgement, paths: dict[str, Path]) -> str:
    reason = "" if judgement.complete else f"  (INCOMPLETE: {judgement.reason})"
    lines = ["", "plan 45-04 — criteria:" + reason, *summary_lines(judgement.results)]
    not_run = [r for r in judgement.results if r.status.value == "NOT RUN" and not r.selected]
    if not_run:
        lines.append(f"  ({len(not_run)} criteria NOT RUN (not built or not selected): listed in the report; they "
                     "do not fail the exit status unless --strict)")
    lines += [f"report:   {paths['report']}", f"evidence: {paths['evidence']}", f"status:   {paths['status']}"]
    return "\n".join(lines)
