"""The verdict engine's judges on hand-made run folders (facts/*.json, target/*.json, logs/), both ways:
the right facts PASS, a wrong target or a wrong input FAILs (or is UNKNOWN / NOT RUN with the reason),
never PASS for something that did not run or ran on too little. (Federation, tenants and no-lost-writes
also FAIL end to end against a testbed with a fault switch: tests/test_verify.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.criteria import failover, multi_raft, preset, whole_run
from analysis.facts import RunFacts
from analysis.verdict import Status, Verdict

GROUPS = ("g0", "g1", "g2")
REGIONS = ("us-east", "eu-west", "ap-south")
NODES = [{"name": f"{g}-{r}", "group": g, "region": r, "url": f"http://127.0.0.1:{9000 + i}"}
         for i, (g, r) in enumerate((g, r) for g in GROUPS for r in REGIONS)]


def write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def make_run(tmp_path: Path, facts: dict | None = None, logs: dict[str, list[dict]] | None = None,
             log_nodes: list[str] | None = None) -> RunFacts:
    """A run folder with target/nodes.json, facts/<name>.json and logs/<node>.log; its RunFacts."""
    run = tmp_path / "run"
    write(run / "target" / "nodes.json", NODES)
    record = {"chosen": [], "ran": [], "complete": True, "capabilities": ["kill", "restart", "logs"],
              "log_nodes": log_nodes if log_nodes is not None else sorted(logs or {})}
    write(run / "facts" / "verify.json", record)
    for name, data in (facts or {}).items():
        write(run / "facts" / f"{name}.json", data)
    for node, lines in (logs or {}).items():
        (run / "logs").mkdir(parents=True, exist_ok=True)
        (run / "logs" / f"{node}.log").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return RunFacts(run)


def started(preset_name: str = "god-tier", error_first: bool = False) -> list[dict]:
    lines = [{"level": "ERROR", "event": "journal_unreadable"}] if error_first else []
    return lines + [{"level": "INFO", "event": "node_started", "preset": preset_name}]


def god_tier_configs(**override) -> dict:
    config = {"preset": "god-tier", "features": {"multi_raft": {"enabled": True}, "federation": {"enabled": True}}}
    return {"configs": {n["name"]: override.get(n["name"], config) for n in NODES}}


# -- preset --

def test_preset_passes_when_every_node_runs_it_and_logged_it(tmp_path):
    facts = make_run(tmp_path, {"preset": god_tier_configs()}, {n["name"]: started() for n in NODES})
    result = preset.judge(facts)
    assert result.status is Status.PASS and "not available: crdt" in result.measured


@pytest.mark.parametrize("wrong", ["other preset", "unreachable", "error at start", "log without preset",
                                   "log copy missing"])
def test_preset_fails_on_a_wrong_node(tmp_path, wrong):
    bad = NODES[4]["name"]
    logs = {n["name"]: started("lite" if wrong == "log without preset" and n["name"] == bad else "god-tier",
                               error_first=wrong == "error at start" and n["name"] == bad) for n in NODES}
    if wrong == "log copy missing":
        del logs[bad]
    overrides = {"other preset": {bad: {"preset": "lite", "features": {}}}, "unreachable": {bad: None}}
    facts = make_run(tmp_path, {"preset": god_tier_configs(**overrides.get(wrong, {}))}, logs,
                     log_nodes=[n["name"] for n in NODES])
    result = preset.judge(facts)
    assert result.status is Status.FAIL and bad in json.dumps(result.verdict.evidence)


def test_preset_without_logs_or_without_the_phase_is_not_pass(tmp_path):
    assert preset.judge(make_run(tmp_path, {"preset": god_tier_configs()})).status is Status.UNKNOWN
    assert preset.judge(make_run(tmp_path / "other")).status is Status.NOT_RUN


# -- multi-raft --

def topology(leaders: dict[str, str | None] | None = None, members: int = 3, down: str = "") -> dict:
    leaders = leaders or {g: f"{g}-us-east" for g in GROUPS}
    return {g: {"leader": leaders.get(g), "term": 2,
                "members": {f"{g}-{r}": {"region": r, "reachable": f"{g}-{r}" != down} for r in REGIONS[:members]}}
            for g in GROUPS}


def kill_analysis(moved_group: str | None, sample_times=(9, 10.5, 12)) -> SimpleNamespace:
    """Topology samples around one leader kill in g0 (injected at t=10 s, new leader at t=11 s)."""
    s = 1_000_000_000
    rows = []
    for t in sample_times:
        for g in GROUPS:
            term = 3 if (g == moved_group and t > 10) else 2
            rows.append({"time": t * s, "group": g, "leader": f"{g}-us-east", "term": term})
    windows = pd.DataFrame([{"fault_id": 1, "fault": "kill-leader", "group": "g0", "applied": True,
                             "start_time": 10 * s, "detail": {"injected_ns": 10 * s}}])
    elections = pd.DataFrame([{"fault_id": 1, "targeted": True, "elected_time": 11 * s}])
    return SimpleNamespace(run=SimpleNamespace(topology=pd.DataFrame(rows)),
                           tables={"windows": windows, "elections": elections}, verdicts=[])


def healthy(tmp_path: Path) -> RunFacts:
    return make_run(tmp_path, {"topology": {"before": topology(), "after": topology()}})


def test_multi_raft_passes_with_healthy_independent_groups(tmp_path):
    result = multi_raft.judge(healthy(tmp_path), kill_analysis(None))
    assert result.status is Status.PASS
    assert result.verdict.figures["samples_in_kill_windows"] == 2 and "1 of 1 leader kill" in result.measured


@pytest.mark.parametrize("wrong", ["two members", "member down", "no leader", "other group moved"])
def test_multi_raft_fails_on_a_wrong_topology(tmp_path, wrong):
    before = {"two members": topology(members=2), "member down": topology(down="g1-eu-west"),
              "no leader": topology(leaders={"g0": "g0-us-east", "g1": None, "g2": "g2-us-east"})}
    facts = make_run(tmp_path, {"topology": {"before": before.get(wrong, topology()), "after": topology()}})
    result = multi_raft.judge(facts, kill_analysis("g2" if wrong == "other group moved" else None))
    assert result.status is Status.FAIL, result.verdict


def test_multi_raft_kill_without_samples_inside_its_window_is_unknown(tmp_path):
    """Hole 3: samples before and long after the kill window only — the kill was not observed."""
    result = multi_raft.judge(healthy(tmp_path), kill_analysis("g2", sample_times=(9, 30)))
    assert result.status is Status.UNKNOWN, result.verdict
    assert "not observed" in result.verdict.reason and result.verdict.figures["kills_examined"] == 0
    assert "0 topology samples inside" in result.measured


def test_multi_raft_without_a_kill_is_unknown_and_without_topology_not_run(tmp_path):
    assert multi_raft.judge(healthy(tmp_path), None).status is Status.UNKNOWN
    empty = SimpleNamespace(run=SimpleNamespace(topology=pd.DataFrame()), tables={}, verdicts=[])
    assert multi_raft.judge(healthy(tmp_path), empty).status is Status.UNKNOWN
    assert multi_raft.judge(make_run(tmp_path / "other"), None).status is Status.NOT_RUN


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


def test_failover_passes_with_three_measured_kills(tmp_path):
    result = failover.judge(make_run(tmp_path, {"failover": failover_facts()}), failover_analysis(Status.PASS))
    assert result.status is Status.PASS and "worst outage 0.80 s" in result.measured


@pytest.mark.parametrize("wrong", ["slow outage", "experiment failed", "journal deviated", "too few kills",
                                   "phase error", "no fault measured"])
def test_failover_fails_or_is_unknown_when_something_is_wrong(tmp_path, wrong):
    facts = failover_facts((0, 1, 0) if wrong == "experiment failed" else (0, 0, 0))
    if wrong == "too few kills":
        facts["experiments"] = facts["experiments"][:2]
    if wrong == "phase error":
        facts["error"] = "the load did not start"
    analysis = failover_analysis(Status.FAIL if wrong == "slow outage" else Status.PASS,
                                 Status.FAIL if wrong == "journal deviated" else Status.PASS)
    if wrong == "no fault measured":
        analysis.verdicts[0] = Verdict("failover", Status.NOT_APPLICABLE, "no fault injected")
    result = failover.judge(make_run(tmp_path, {"failover": facts}), analysis)
    expected = Status.UNKNOWN if wrong in ("too few kills", "no fault measured") else Status.FAIL
    assert result.status is expected, result.verdict


def test_failover_without_analysis_or_phase_is_not_pass(tmp_path):
    assert failover.judge(make_run(tmp_path, {"failover": failover_facts()}), None).status is Status.UNKNOWN
    assert failover.judge(make_run(tmp_path / "other"), None).status is Status.NOT_RUN


# -- whole run: logs, linearizable, no-lost-writes, with evidence floors --

FIGURES = {"log-scan": {"lines": 900, "critical": 0},
           "linearizability": {"keys": 200, "operations": 5000},
           "no-lost-writes": {"acknowledged_writes": 3000, "keys_with_final_read": 200, "lost": 0}}


def whole_analysis(name: str, status: Status, operations: int = 5000, figures: dict | None = None):
    reason = "" if status is Status.PASS else "1 CRITICAL line / key k7 / lost w3"
    verdict = Verdict(name, status, reason if status is not Status.NOT_APPLICABLE else "no operations",
                      figures=figures if figures is not None else FIGURES[name])
    return SimpleNamespace(verdicts=[verdict], summary={"operations": operations})


WHOLE = [(whole_run.judge_logs, "log-scan"), (whole_run.judge_linearizable, "linearizability"),
         (whole_run.judge_no_lost_writes, "no-lost-writes")]


@pytest.mark.parametrize("judge, name", WHOLE)
def test_whole_run_criteria_follow_the_analysis_both_ways(tmp_path, judge, name):
    facts = make_run(tmp_path, logs={n["name"]: started() for n in NODES})
    passed = judge(facts, whole_analysis(name, Status.PASS))
    failed = judge(facts, whole_analysis(name, Status.FAIL))
    missing = judge(facts, None)
    nothing = judge(facts, whole_analysis(name, Status.NOT_APPLICABLE, figures={}))
    assert (passed.status, failed.status, missing.status, nothing.status) == (
        Status.PASS, Status.FAIL, Status.UNKNOWN, Status.UNKNOWN)


@pytest.mark.parametrize("judge, name", WHOLE)
def test_whole_run_criteria_on_an_idle_cluster_are_unknown(tmp_path, judge, name):
    """Hole 2: a checker that PASSed on next to nothing (an idle cluster) is not evidence."""
    facts = make_run(tmp_path, logs={n["name"]: started() for n in NODES})
    thin = {"log-scan": {"lines": 9, "critical": 0}, "linearizability": {"keys": 3, "operations": 12},
            "no-lost-writes": {"acknowledged_writes": 4, "keys_with_final_read": 3, "lost": 0}}[name]
    result = judge(facts, whole_analysis(name, Status.PASS, operations=12, figures=thin))
    assert result.status is Status.UNKNOWN and "too little evidence" in result.verdict.reason, result.verdict


def test_log_criterion_needs_a_log_from_every_node(tmp_path):
    logs = {n["name"]: started() for n in NODES[:-1]}
    result = whole_run.judge_logs(make_run(tmp_path, logs=logs), whole_analysis("log-scan", Status.PASS))
    assert result.status is Status.UNKNOWN and NODES[-1]["name"] in result.verdict.reason


@pytest.mark.parametrize("judge, name", WHOLE)
def test_whole_run_criteria_after_a_broken_load_phase_are_not_pass(tmp_path, judge, name):
    facts = make_run(tmp_path, {"load": {"error": "tier7 load exited with status 2"}},
                     logs={n["name"]: started() for n in NODES})
    assert judge(facts, whole_analysis(name, Status.PASS)).status is Status.UNKNOWN
