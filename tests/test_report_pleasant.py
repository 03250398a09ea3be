"""Issue 17, "Make it pleasant", report: fault ids on outage rows, UTC times, integer terms, no ``nan``
anywhere, the reproduce line with ``--seed``, versions as a table, and a link to the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.judge import judge_run
from analysis.sections import outage_rows
from tier7.report.markdown import render

NAN = float("nan")
OFFSET = 5e18  # monotonic ns = wall s * 1e9 + OFFSET
WALL = 1_700_000_000.0  # 22:13:20 UTC


def ns(wall: float) -> float:
    return wall * 1e9 + OFFSET


def run_folder(tmp_path: Path, command: str = "tier7 verify --quick") -> Path:
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "target").mkdir()
    (run / "target" / "nodes.json").write_text("[]")
    meta = {"plan_id": "45-04", "plan_title": "Tier 7", "preset": "god-tier", "report_file": "r.md",
            "evidence_file": "e.zip", "run_dir": str(run), "command": command, "seed": 4242, "target": "testbed",
            "started_utc": "2023-11-14 22:13:00", "started_wall": WALL - 20, "duration_s": 60.0,
            "version": "0.1.0", "git_commit": "abc123", "python": "3.11.9",
            "packages": {"locust": "2.31", "pandas": "2.2"}}
    (run / "facts" / "verify.json").write_text(json.dumps({
        "meta": meta, "chosen": ["failover"], "ran": ["failover"], "complete": True, "target_name": "testbed",
        "capabilities": [], "log_nodes": []}))
    (run / "facts" / "topology.json").write_text(json.dumps({
        "before": {"g0": {"leader": "g0-a", "term": 4.0, "members": {"g0-a": {"region": "r1", "role": "leader",
                                                                             "reachable": True}}}},
        "after": {"g0": {"leader": None, "term": None, "members": {}}}}))
    return run


def analysis_with_nans() -> SimpleNamespace:
    windows = pd.DataFrame([{"fault_id": "F1", "fault": "kill-leader", "node": "g0-a", "group": "g0",
                             "start_wall": WALL, "duration_s": NAN, "applied": True, "healed_by": NAN},
                            {"fault_id": "F2", "fault": "pause", "node": NAN, "group": NAN,
                             "start_wall": NAN, "duration_s": 1.5, "applied": False, "healed_by": "F3"}])
    outage = pd.DataFrame([
        {"fault_id": "F1", "fault": "kill-leader", "group": "g0", "targeted": True, "fault_start_time": ns(WALL),
         "last_ok_time": ns(WALL - 0.1), "first_ok_time": ns(WALL + 1.2), "outage_s": 1.3, "recovered": True},
        {"fault_id": "F1", "fault": "kill-leader", "group": "g1", "targeted": False, "fault_start_time": ns(WALL),
         "last_ok_time": NAN, "first_ok_time": NAN, "outage_s": NAN, "recovered": False}])
    elections = pd.DataFrame([{"fault_id": "F1", "fault": "kill-leader", "group": "g0", "targeted": True,
                               "fault_start_time": ns(WALL), "elected_time": NAN, "leader_before": "g0-a",
                               "leader_after": NAN, "term_before": np.float64(4.0), "term_after": NAN,
                               "election_s": NAN, "resolution_s": 0.1}])
    latency = pd.DataFrame([{"group": "g0", "count": 10, "p50_ms": 3.2, "p90_ms": NAN, "p99_ms": np.nan}])
    return SimpleNamespace(verdicts=[], summary={"operations": 10, "outage_distribution": {"max_s": NAN}},
                           tables={"windows": windows, "outage": outage, "elections": elections,
                                   "write_latency": latency},
                           run=SimpleNamespace(topology=pd.DataFrame(), offset_ns=OFFSET))


def test_report_from_a_run_with_nans_never_says_nan(tmp_path):
    run = run_folder(tmp_path)
    text = render(judge_run(run, analysis_with_nans()))
    # "nan" as a word ("tenants" contains the letters)
    assert not re.search(r"\bnan\b", text, re.I), [line for line in text.splitlines() if re.search(r"\bnan\b", line, re.I)]
    assert "| g0 | g0-a | 4 |" in text  # integer term in the topology table
    assert "4.0" not in text


def test_outage_rows_carry_fault_ids_and_utc_times():
    rows = outage_rows(analysis_with_nans())
    assert [r["fault_id"] for r in rows] == ["F1", "F1"]
    assert rows[0]["fault_start_utc"] == "22:13:20.000" and rows[0]["first_ok_utc"] == "22:13:21.200"
    assert rows[1]["outage_s"] == "not recovered" and rows[1]["last_ok_utc"] == "?"


def test_fault_timeline_election_terms_reproduce_versions_dashboard(tmp_path):
    run = run_folder(tmp_path)
    (run / "dashboard.html").write_text("<html></html>")
    text = render(judge_run(run, analysis_with_nans()))
    assert "| fault id | start (UTC) |" in text and "| F1 | 22:13:20.000 | kill-leader |" in text
    assert "tier7 verify --quick --seed 4242" in text  # the seed picked from the clock, made explicit
    assert "| locust | 2.31 |" in text and "| git commit | `abc123` |" in text
    assert "[`dashboard.html`](dashboard.html)" in text
    election = next(line for line in text.splitlines() if line.startswith("| F1 kill-leader | g0 |"))
    assert "| 4 |" in election and "4.0" not in election


def test_reproduce_keeps_a_given_seed_and_says_when_there_is_no_dashboard(tmp_path):
    run = run_folder(tmp_path, command="tier7 verify --seed 9")
    text = render(judge_run(run, analysis_with_nans()))
    assert "tier7 verify --seed 9\n" in text and "--seed 4242" not in text
    assert "Dashboard: not written" in text
