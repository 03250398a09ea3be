"""Issue 15: `tier7 trends` over synthetic verify and soak run folders (pure file logic, no cluster)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analysis.trends import load_rules, regressions_of, run_trends
from analysis.trends_read import read_results

STATS_HEADER = "Type,Name,Request Count,Failure Count,Requests/s,99%\n"


def verify_run(results: Path, name: str, when: float, outage_max: float = 0.8, p99: float = 300.0,
               rps: float = 400.0, failures: int = 0, linearizable: str = "PASS") -> Path:
    """A verify-shaped run folder with the files trends reads (facts/verify.json marks it as verify)."""
    folder = results / name
    (folder / "facts").mkdir(parents=True)
    (folder / "locust").mkdir()
    (folder / "facts" / "verify.json").write_text("{}")
    (folder / "run.json").write_text(json.dumps({"started_wall": when}))
    (folder / "verdicts.json").write_text(json.dumps({"result": "PASS", "criteria": [
        {"id": "linearizable", "status": linearizable}, {"id": "failover", "status": "PASS"}]}))
    (folder / "analysis.json").write_text(json.dumps({
        "summary": {"outage_distribution": {"p50_s": 0.2, "max_s": outage_max}},
        "metrics": {"elections": [{"election_s": 0.7, "targeted": True},
                                   {"election_s": 345.0, "targeted": False}],  # another group's next change
                    "outage": [{"fault": "kill-leader", "outage_s": outage_max}],
                    "write_latency": [{"group": "all", "p99_ms": 999.0}]}}))
    (folder / "locust" / "stats.csv").write_text(
        STATS_HEADER + f",Aggregated,10000,{failures},{rps},{p99}\n")
    return folder


def healthy(results: Path, runs: int = 4) -> None:
    for i in range(runs):
        verify_run(results, f"2026120{i + 1}T000000Z-tier7", 1_790_000_000 + i * 86400,
                   outage_max=0.8 + 0.02 * i, p99=300 + i)


def test_healthy_runs_exit_zero_and_write_both_files(tmp_path: Path) -> None:
    healthy(tmp_path)
    points, newest, csv_path, html_path = run_trends(tmp_path)
    assert len(points) == 4 and newest == []
    assert "plotly" in html_path.read_text()[:2_000_000].lower() and "Verdicts per criterion" in html_path.read_text()
    rows = list(csv.DictReader(csv_path.open()))
    assert {r["figure"] for r in rows} >= {"outage_max_s", "outage_max_s.kill-leader", "throughput_per_s",
                                          "latency_p99_ms", "error_rate", "election_max_s", "verdict.linearizable"}
    assert all(r["regression"] == "0" for r in rows)
    assert {float(r["value"]) for r in rows if r["figure"] == "election_max_s"} == {0.7}


@pytest.mark.parametrize(("change", "figure"), [
    ({"outage_max": 4.0}, "outage_max_s"),
    ({"p99": 900.0}, "latency_p99_ms"),
    ({"rps": 100.0}, "throughput_per_s"),
    ({"failures": 500}, "error_rate"),
    ({"linearizable": "FAIL"}, "verdict.linearizable"),
])
def test_injected_regression_is_flagged(tmp_path: Path, change: dict, figure: str) -> None:
    healthy(tmp_path)
    verify_run(tmp_path, "20261209T000000Z-tier7", 1_790_900_000, **change)
    points, newest, csv_path, _ = run_trends(tmp_path)
    assert figure in {r.figure for r in newest}, newest
    assert any(r["run"] == "20261209T000000Z-tier7" and r["figure"] == figure and r["regression"] == "1"
               for r in csv.DictReader(csv_path.open()))


def test_small_noise_and_old_regressions_do_not_fail_the_newest(tmp_path: Path) -> None:
    healthy(tmp_path)
    verify_run(tmp_path, "20261209T000000Z-tier7", 1_790_900_000, outage_max=4.0)  # old regression
    verify_run(tmp_path, "20261210T000000Z-tier7", 1_791_000_000, outage_max=0.9)  # healthy again
    rules = load_rules()
    points = read_results(tmp_path)
    assert [r.figure for r in regressions_of(len(points) - 2, points, rules)] == ["outage_max_s",
                                                                                   "outage_max_s.kill-leader"]
    assert regressions_of(len(points) - 1, points, rules) == []


def test_soak_folders_are_read(tmp_path: Path) -> None:
    healthy(tmp_path, 3)
    soak = tmp_path / "20261209T000000Z-soak"
    soak.mkdir()
    (soak / "soak.json").write_text(json.dumps({"started_wall": 1_790_900_000, "result": "PASS",
                                                "figures": {"outage_max_s": 9.0},
                                                "verdicts": {"result": "PASS", "criteria": []}}))
    (soak / "run.json").write_text(json.dumps({"started_wall": 1_790_900_000}))
    points, newest, _, _ = run_trends(tmp_path)
    assert points[-1].kind == "soak" and [r.figure for r in newest] == ["outage_max_s"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``tier7 trends ARGS`` in-process (the same main() as the console script): (exit, stdout, stderr)."""
    from tier7.cli import main

    code = main(["trends", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_codes_and_bad_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    healthy(tmp_path)
    assert cli(capsys, str(tmp_path))[0] == 0
    verify_run(tmp_path, "20261209T000000Z-tier7", 1_790_900_000, outage_max=4.0)
    code, out, _ = cli(capsys, str(tmp_path))
    assert code == 1 and "REGRESSION 20261209T000000Z-tier7: outage_max_s" in out
    empty = tmp_path / "empty"
    (empty / "junk").mkdir(parents=True)
    broken = tmp_path / "rules.toml"
    broken.write_text("[trends\n")
    for args in ((str(empty),), (str(tmp_path / "missing"),), (str(tmp_path), "--rules", str(broken))):
        code, _, err = cli(capsys, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
