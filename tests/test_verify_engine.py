"""The verdict engine over a run folder (analysis.judge): selection, capabilities, phases, exit status,
the headline, the plan copy a run carries, and the report's election table. Hand-made folders only."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from analysis.criteria.result import CriterionResult, result
from analysis.judge import exit_status, headline, judge_run, overall, verdicts_document
from analysis.plan import CRITERIA_BY_ID, load_plan, run_plan, write_plan_copy
from analysis.sections import election_rows
from analysis.verdict import Status
from tier7.report.markdown import render
from tier7.verify.runner import needed_phases

NODES = [{"name": f"g{g}-r{r}", "group": f"g{g}", "region": f"r{r}", "url": "http://127.0.0.1:1"}
         for g in range(3) for r in range(3)]


def fake_analysis(verdicts=()) -> SimpleNamespace:
    return SimpleNamespace(verdicts=list(verdicts), tables={}, summary={"operations": 0},
                           run=SimpleNamespace(topology=pd.DataFrame(), offset_ns=0.0))


def verify_folder(tmp_path: Path, chosen: list[str], ran: list[str], capabilities: list[str],
                  facts: dict | None = None, plan: dict | None = None) -> Path:
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "target").mkdir()
    (run / "target" / "nodes.json").write_text(json.dumps(NODES))
    meta = {"plan_id": "45-04", "plan_title": "Tier 7", "preset": "god-tier", "report_file": "r.md",
            "evidence_file": "e.zip", "run_dir": str(run), "command": "tier7 verify", "seed": 1, "target": "x",
            "started_utc": "2024-01-01 00:00:00", "started_wall": 0.0, "duration_s": 1.0}
    (run / "facts" / "verify.json").write_text(json.dumps({
        "meta": meta, "chosen": chosen, "ran": ran, "complete": True, "target_name": "remote",
        "capabilities": capabilities, "log_nodes": []}))
    for name, data in (facts or {}).items():
        (run / "facts" / f"{name}.json").write_text(json.dumps(data))
    if plan is not None:
        write_plan_copy(run, plan)
    return run


def by_id(judgement) -> dict[str, CriterionResult]:
    return {r.criterion.id: r for r in judgement.results}


def test_every_whole_run_criterion_needs_a_load():
    """Hole 2: --only linearizable / logs / no-lost-writes ran no phase at all before."""
    for criterion in ("linearizable", "logs", "no-lost-writes"):
        assert "load" in needed_phases([criterion]), criterion
    assert {"load", "final-read"} <= needed_phases(["no-lost-writes"])


def test_missing_capability_is_not_applicable_and_exits_0(tmp_path):
    run = verify_folder(tmp_path, ["failover"], ["failover"], capabilities=["logs"])
    judgement = judge_run(run, fake_analysis())
    failover = by_id(judgement)["failover"]
    assert failover.status is Status.NOT_APPLICABLE and failover.missing == ["kill", "restart"]
    assert "kill, restart" in failover.verdict.reason
    assert exit_status(judgement.results) == 0


def test_not_applicable_on_a_capable_target_is_unknown_and_fails_the_exit(tmp_path):
    """Hole 2: the failover phase said "not applicable", yet the target declares kill and restart."""
    run = verify_folder(tmp_path, ["failover"], ["failover"], capabilities=["kill", "restart"],
                        facts={"failover": {"not_applicable": "no fault injected", "kills": [], "experiments": []}})
    judgement = judge_run(run, fake_analysis())
    assert by_id(judgement)["failover"].status is Status.UNKNOWN
    assert exit_status(judgement.results) == 1
    # and the exit rule on its own: a selected criterion NOT APPLICABLE with nothing missing fails the run
    lone = result(CRITERIA_BY_ID["logs"], Status.NOT_APPLICABLE, "nothing to scan")
    assert exit_status([lone]) == 1
    lone.missing = ["logs"]
    assert exit_status([lone]) == 0


def test_selected_criterion_without_its_phase_is_not_pass(tmp_path):
    run = verify_folder(tmp_path, ["linearizable"], [], capabilities=[])
    judgement = judge_run(run, fake_analysis())
    assert by_id(judgement)["linearizable"].status is Status.UNKNOWN
    assert exit_status(judgement.results) == 1


def test_unselected_and_unbuilt_criteria_are_not_run_and_do_not_fail(tmp_path):
    run = verify_folder(tmp_path, ["preset"], ["preset"], capabilities=["logs"],
                        facts={"preset": {"configs": {}}})
    results = by_id(judge_run(run, fake_analysis()))
    assert results["crdt"].status is Status.NOT_RUN and not results["crdt"].selected
    assert results["failover"].verdict.reason == "not selected (--only)"


def passing(n: int) -> list[CriterionResult]:
    ids = list(CRITERIA_BY_ID)
    return [result(CRITERIA_BY_ID[i], Status.PASS, "") for i in ids[:n]] + \
           [result(CRITERIA_BY_ID[i], Status.NOT_RUN, "not built") for i in ids[n:]]


def test_headline_says_what_holds():
    """Hole 9: 8 PASS and 8 NOT RUN is not "PASS"."""
    rest = len(CRITERIA_BY_ID) - 8  # the plan's 16 and those beyond it (contract, issue 16)
    assert headline(passing(8), True) == f"INCOMPLETE — 8 PASS, {rest} NOT RUN"
    assert overall(passing(len(CRITERIA_BY_ID)), True) == "PASS"
    assert overall(passing(len(CRITERIA_BY_ID)), False) == "INCOMPLETE"
    failed = passing(8)
    failed[0] = result(failed[0].criterion, Status.FAIL, "broken")
    assert headline(failed, True) == f"FAIL — 7 PASS, 1 FAIL, {rest} NOT RUN"


def test_report_and_verdicts_carry_the_headline(tmp_path):
    run = verify_folder(tmp_path, ["preset"], ["preset"], capabilities=["logs"],
                        facts={"preset": {"configs": {}}})
    judgement = judge_run(run, fake_analysis())
    text = render(judgement)
    every = len(CRITERIA_BY_ID)
    assert f"- **Result: INCOMPLETE — {every} NOT RUN**" in text  # the selected preset had no facts: NOT RUN
    assert verdicts_document(judgement)["headline"] == f"INCOMPLETE — {every} NOT RUN"
    assert exit_status(judgement.results, complete=judgement.complete) == 1  # selected, yet not run


def test_the_run_folder_plan_copy_is_what_the_engine_judges_with(tmp_path):
    """Hole 10: re-judging uses the numbers the run used (--quick, edited plans), not today's file."""
    plan = load_plan()
    plan["sizes"]["federation_writes"] = 10
    acked = {f"k{i}": {"entry": "g0-r0", "group": "g0", "node": "g0-r0"} for i in range(10)}
    run = verify_folder(tmp_path, ["federation"], ["federation"], capabilities=[], plan=plan,
                        facts={"federation": {"tenant": "t", "requested": 10, "acked": acked, "replicas": {}}})
    (run / "target" / "ring.json").write_text(json.dumps({"epoch": 1, "hash": "sha256-64be", "vnodes": 16,
                                                         "groups": ["g0"]}))
    assert run_plan(run)["sizes"]["federation_writes"] == 10
    federation = by_id(judge_run(run, fake_analysis()))["federation"]
    assert "10 writes" in federation.threshold
    # an override file in the folder wins over the copy, table by table
    (run / "thresholds.toml").write_text("[failover]\nelection_max_s = 2.5\n")
    assert run_plan(run)["failover"]["election_max_s"] == 2.5 and run_plan(run)["sizes"]["federation_writes"] == 10
    # an old folder without a copy falls back to the bundled plan
    assert run_plan(tmp_path)["sizes"]["federation_writes"] == load_plan()["sizes"]["federation_writes"]


def test_quick_plan_overrides_only_its_tables():
    quick, full = load_plan(True), load_plan()
    assert quick["load"]["users"] < full["load"]["users"] and quick["quick"] and not full["quick"]
    assert quick["failover"] == full["failover"]


def test_election_table_shows_utc_and_only_the_targeted_group():
    """Hole 9: raw ns clocks and untargeted groups' "elections" of tens of seconds are left out."""
    offset = 5e18  # monotonic = wall * 1e9 + offset
    wall = 1_700_000_000.0
    elections = pd.DataFrame([
        {"fault_id": "F1", "fault": "kill-leader", "group": "g0", "targeted": True,
         "fault_start_time": wall * 1e9 + offset, "elected_time": (wall + 0.6) * 1e9 + offset,
         "leader_before": "a", "leader_after": "b", "election_s": 0.6, "resolution_s": 0.1},
        {"fault_id": "F1", "fault": "kill-leader", "group": "g1", "targeted": False,
         "fault_start_time": wall * 1e9 + offset, "elected_time": (wall + 41) * 1e9 + offset,
         "leader_before": "c", "leader_after": "c", "election_s": 41.0, "resolution_s": 0.1}])
    analysis = SimpleNamespace(tables={"elections": elections}, run=SimpleNamespace(offset_ns=offset))
    rows = election_rows(analysis)
    assert len(rows) == 1 and rows[0]["group"] == "g0"
    assert rows[0]["fault_start_utc"] == "22:13:20.000" and rows[0]["elected_utc"] == "22:13:20.600"
    assert not any(isinstance(v, float) and v > 1e12 for v in rows[0].values())


def test_the_engine_imports_no_orchestration():
    """Orchestration (tier7.verify, tier7.load, tier7.chaosrun, targets, chaos) depends on the engine
    (analysis), never the reverse; the engine may read the harness's data formats."""
    import ast

    allowed = {"tier7.errors", "tier7.history", "tier7.ring", "tier7.sampler"}
    offenders = []
    for path in sorted((Path(__file__).resolve().parents[1] / "analysis").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.name}: {n}" for n in names
                          if (n.startswith("tier7") and n not in allowed) or n.split(".")[0] in ("chaos", "testbed")]
    assert offenders == []


def test_leader_kills_cover_every_group_and_quick_rotates_one_kill_by_seed():
    from tier7.verify.criteria.failover import kill_targets

    groups = ["g0", "g1", "g2"]
    full, quick = load_plan()["sizes"], load_plan(quick=True)["sizes"]
    assert kill_targets(groups, full, 7) == groups  # the plan: one kill per group
    assert kill_targets(groups + ["g3"], full, 7) == groups + ["g3"]  # more groups than kills: each still once
    assert [kill_targets(groups, quick, seed) for seed in range(3)] == [["g0"], ["g1"], ["g2"]]
