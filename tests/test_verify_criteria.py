"""Each criterion module judged on hand-made facts, both ways: the right facts PASS, a wrong target or a wrong
input FAILs (or is UNKNOWN / NOT RUN with the reason), never PASS for something that did not run.
(Federation, tenants and no-lost-writes also FAIL end to end against a testbed with a fault switch:
tests/test_verify.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.verdict import Status, Verdict
from tier7.plan import load_plan
from tier7.targets.base import NodeInfo
from tier7.verify.context import RunContext
from tier7.verify.criteria import failover, multi_raft, preset, whole_run
from tier7.verify.progress import Progress

GROUPS = ("g0", "g1", "g2")
REGIONS = ("us-east", "eu-west", "ap-south")
NODES = [NodeInfo(f"{g}-{r}", g, r, f"http://127.0.0.1:{9000 + i}")
         for i, (g, r) in enumerate((g, r) for g in GROUPS for r in REGIONS)]


class FakeTarget:
    """What a judge reads of a target: its nodes and its log files (data only; nothing runs)."""

    name = "fake"
    capabilities = frozenset()

    def __init__(self, logs: dict[str, Path]) -> None:
        self.logs = logs

    def nodes(self) -> list[NodeInfo]:
        return list(NODES)

    def log_files(self) -> dict[str, Path]:
        return dict(self.logs)

    def admin_token(self) -> str:
        return "admin"


@pytest.fixture
def make_ctx(tmp_path):
    contexts = []

    def make(logs: dict[str, Path] | None = None) -> RunContext:
        ctx = RunContext(tmp_path, load_plan(), False, 7, FakeTarget(logs or {}), Progress(tmp_path))
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.history.close()


def started_log(tmp_path: Path, node: str, preset_name: str = "god-tier", error_first: bool = False) -> Path:
    path = tmp_path / f"{node}.log"
    lines = []
    if error_first:
        lines.append({"level": "ERROR", "event": "journal_unreadable"})
    lines.append({"level": "INFO", "event": "node_started", "preset": preset_name})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def god_tier_configs(**override) -> dict:
    config = {"preset": "god-tier", "features": {"multi_raft": {"enabled": True}, "federation": {"enabled": True}}}
    return {n.name: override.get(n.name, config) for n in NODES}


# -- preset --

def test_preset_passes_when_every_node_runs_it_and_logged_it(make_ctx, tmp_path):
    ctx = make_ctx({n.name: started_log(tmp_path, n.name) for n in NODES})
    ctx.facts["configs"] = god_tier_configs()
    result = preset.judge(ctx)
    assert result.status is Status.PASS and "not available: crdt" in result.measured


@pytest.mark.parametrize("wrong", ["other preset", "unreachable", "error at start", "log without preset"])
def test_preset_fails_on_a_wrong_node(make_ctx, tmp_path, wrong):
    bad = NODES[4].name
    logs = {n.name: started_log(tmp_path, n.name, error_first=wrong == "error at start" and n.name == bad,
                                preset_name="lite" if wrong == "log without preset" and n.name == bad else "god-tier")
            for n in NODES}
    ctx = make_ctx(logs)
    overrides = {"other preset": {bad: {"preset": "lite", "features": {}}}, "unreachable": {bad: None}}
    ctx.facts["configs"] = god_tier_configs(**overrides.get(wrong, {}))
    result = preset.judge(ctx)
    assert result.status is Status.FAIL and bad in json.dumps(result.verdict.evidence)


def test_preset_without_logs_or_without_the_phase_is_not_pass(make_ctx):
    ctx = make_ctx()
    ctx.facts["configs"] = god_tier_configs()
    assert preset.judge(ctx).status is Status.UNKNOWN  # cannot see it load without errors
    assert preset.judge(make_ctx()).status is Status.NOT_RUN


# -- multi-raft --

def topology(leaders: dict[str, str | None] | None = None, members: int = 3, down: str = "") -> dict:
    leaders = leaders or {g: f"{g}-us-east" for g in GROUPS}
    return {g: {"leader": leaders.get(g), "term": 2,
                "members": {f"{g}-{r}": {"region": r, "reachable": f"{g}-{r}" != down} for r in REGIONS[:members]}}
            for g in GROUPS}


def kill_analysis(moved_group: str | None) -> SimpleNamespace:
    """Topology samples around one leader kill in g0 (injected at t=10 s, new leader at t=11 s)."""
    s = 1_000_000_000
    rows = []
    for t in (9, 10.5, 12):
        for g in GROUPS:
            term = 3 if (g == moved_group and t > 10) else 2
            rows.append({"time": t * s, "group": g, "leader": f"{g}-us-east", "term": term})
    windows = pd.DataFrame([{"fault_id": 1, "fault": "kill-leader", "group": "g0", "applied": True,
                             "start_time": 10 * s, "detail": {"injected_ns": 10 * s}}])
    elections = pd.DataFrame([{"fault_id": 1, "targeted": True, "elected_time": 11 * s}])
    return SimpleNamespace(run=SimpleNamespace(topology=pd.DataFrame(rows)),
                           tables={"windows": windows, "elections": elections}, verdicts=[])


def test_multi_raft_passes_with_healthy_independent_groups(make_ctx):
    ctx = make_ctx()
    ctx.facts.update(topology_before=topology(), topology_after=topology())
    assert multi_raft.judge(ctx, kill_analysis(None)).status is Status.PASS


@pytest.mark.parametrize("wrong", ["two members", "member down", "no leader", "other group moved"])
def test_multi_raft_fails_on_a_wrong_topology(make_ctx, wrong):
    ctx = make_ctx()
    before = {"two members": topology(members=2), "member down": topology(down="g1-eu-west"),
              "no leader": topology(leaders={"g0": "g0-us-east", "g1": None, "g2": "g2-us-east"})}
    ctx.facts.update(topology_before=before.get(wrong, topology()), topology_after=topology())
    result = multi_raft.judge(ctx, kill_analysis("g2" if wrong == "other group moved" else None))
    assert result.status is Status.FAIL, result.verdict


def test_multi_raft_without_a_kill_is_unknown_and_without_topology_not_run(make_ctx):
    ctx = make_ctx()
    ctx.facts.update(topology_before=topology(), topology_after=topology())
    assert multi_raft.judge(ctx, None).status is Status.UNKNOWN
    assert multi_raft.judge(make_ctx(), None).status is Status.NOT_RUN


# -- failover --

def failover_analysis(status: Status, experiments: Status = Status.PASS) -> SimpleNamespace:
    evidence = [{"group": g, "election_s": 0.7, "outage_s": 0.8 if status is Status.PASS else 6.5} for g in GROUPS]
    verdicts = [Verdict("failover", status, "" if status is Status.PASS else "g0: outage 6.50 s > 5 s", evidence,
                        {"worst_election_s": 0.7, "worst_outage_s": max(e["outage_s"] for e in evidence)}),
                Verdict("chaos-experiments", experiments, "" if experiments is Status.PASS else "1 deviated")]
    return SimpleNamespace(verdicts=verdicts)


def failover_facts(exit_statuses=(0, 0, 0)) -> dict:
    return {"kills": [], "experiments": [{"group": g, "exit_status": s} for g, s in zip(GROUPS, exit_statuses,
                                                                                        strict=True)]}


def test_failover_passes_with_three_measured_kills(make_ctx):
    ctx = make_ctx()
    ctx.facts["failover"] = failover_facts()
    result = failover.judge(ctx, failover_analysis(Status.PASS))
    assert result.status is Status.PASS and "worst outage 0.80 s" in result.measured


@pytest.mark.parametrize("wrong", ["slow outage", "experiment failed", "journal deviated", "too few kills",
                                   "phase error"])
def test_failover_fails_or_is_unknown_when_something_is_wrong(make_ctx, wrong):
    ctx = make_ctx()
    facts = failover_facts((0, 1, 0) if wrong == "experiment failed" else (0, 0, 0))
    if wrong == "too few kills":
        facts["experiments"] = facts["experiments"][:2]
    if wrong == "phase error":
        facts["error"] = "the load did not start"
    ctx.facts["failover"] = facts
    analysis = failover_analysis(Status.FAIL if wrong == "slow outage" else Status.PASS,
                                 Status.FAIL if wrong == "journal deviated" else Status.PASS)
    result = failover.judge(ctx, analysis)
    expected = Status.UNKNOWN if wrong == "too few kills" else Status.FAIL
    assert result.status is expected, result.verdict


def test_failover_without_analysis_or_phase_is_not_pass(make_ctx):
    ctx = make_ctx()
    ctx.facts["failover"] = failover_facts()
    assert failover.judge(ctx, None).status is Status.UNKNOWN
    assert failover.judge(make_ctx(), None).status is Status.NOT_RUN


# -- whole run: logs, linearizable (no-lost-writes also end to end in test_verify.py) --

@pytest.mark.parametrize("judge, name", [(whole_run.judge_logs, "log-scan"),
                                         (whole_run.judge_linearizable, "linearizability"),
                                         (whole_run.judge_no_lost_writes, "no-lost-writes")])
def test_whole_run_criteria_follow_the_analysis_both_ways(make_ctx, tmp_path, judge, name):
    ctx = make_ctx({NODES[0].name: started_log(tmp_path, NODES[0].name)})
    passed = judge(ctx, SimpleNamespace(verdicts=[Verdict(name, Status.PASS)]))
    failed = judge(ctx, SimpleNamespace(verdicts=[Verdict(name, Status.FAIL, "1 CRITICAL line / key k7 / lost w3")]))
    missing = judge(ctx, None)
    assert (passed.status, failed.status, missing.status) == (Status.PASS, Status.FAIL, Status.UNKNOWN)


def test_log_criterion_without_logs_is_not_applicable(make_ctx):
    result = whole_run.judge_logs(make_ctx(), SimpleNamespace(verdicts=[Verdict("log-scan", Status.PASS)]))
    assert result.status is Status.NOT_APPLICABLE
