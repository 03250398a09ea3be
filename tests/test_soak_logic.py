"""Issue 15: the soak's pure parts — load curve, fault schedule, window/whole-run verdicts, arguments."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tier7.errors import Tier7Error
from tier7.soak.cli import parse_duration
from tier7.soak.schedule import load_schedule
from tier7.soak.shape import load_profile, users_at
from tier7.soak.summary import combine, window_summary

SOAK_DIR = Path(__file__).resolve().parents[1] / "tier7" / "soak"


def test_curve_ramps_follows_the_day_and_spikes() -> None:
    profile = load_profile("soak")
    assert users_at(profile, 0) == profile["soak"]["min_users"]  # the ramp starts from nothing
    peak, trough = users_at(profile, 900), users_at(profile, 2700)  # quarter and three quarters of the period
    assert peak > trough >= profile["soak"]["min_users"]
    spike = profile["spikes"]
    during, before = users_at(profile, spike["every_s"] + 1), users_at(profile, spike["every_s"] - 1)
    assert during - before >= spike["users"] - 2


def test_schedule_gaps_one_at_a_time_and_cap() -> None:
    schedule = load_schedule(SOAK_DIR / "faults.toml")
    assert schedule.may_start(100.0, None, 500.0, 0)
    assert not schedule.may_start(100.0, 100.0 - schedule.min_gap_s + 1, 500.0, 1)  # too soon after the last
    assert schedule.may_start(100.0, 100.0 - schedule.min_gap_s, 500.0, 1)
    assert not schedule.may_start(100.0, None, schedule.needs_s - 1, 0)  # would not finish in its window
    smoke = load_schedule(SOAK_DIR / "faults-smoke.toml")
    assert smoke.max_faults == 1 and not smoke.may_start(100.0, None, 500.0, 1)


def test_weighted_seeded_choice_covers_every_fault_kind() -> None:
    schedule = load_schedule(SOAK_DIR / "faults.toml")
    picks = [schedule.pick(random.Random(7)) for _ in range(3)]
    assert len({(p.name, tuple(p.var_items)) for p in picks}) == 1  # same seed, same fault
    rng = random.Random(1)
    names = [schedule.pick(rng).name for _ in range(400)]
    counts = {n: names.count(n) for n in set(names)}
    assert set(counts) == {"leader-kill", "leader-pause", "region-latency", "region-partition"}
    assert counts["leader-kill"] > counts["region-partition"]  # weight 3 vs 1
    kill = next(p for p in (schedule.pick(rng) for _ in range(50)) if p.name == "leader-kill")
    assert kill.experiment == "kill-raft-leader" and kill.var_items[0].startswith("group=g")


@pytest.mark.parametrize("text", ["[schedule]\nmin_gap_s = 1\n", "[schedule]\nmin_gap_s=1\nfirst_after_s=1\nneeds_s=1\n"
                                  "[[fault]]\nname='x'\nexperiment='e'\nweight=0\n", "not toml ["])
def test_bad_schedule_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.toml"
    path.write_text(text)
    with pytest.raises(Tier7Error) as caught:
        load_schedule(path)
    assert "\n" not in str(caught.value)


def test_durations() -> None:
    assert parse_duration("8h") == 28800 and parse_duration("20m") == 1200 and parse_duration("90") == 90
    for bad in ("", "-1s", "5 weeks", "0", "8d"):
        with pytest.raises(Tier7Error):
            parse_duration(bad)


def window(tmp_path: Path, name: str, statuses: dict[str, str], fault: str | None = "PASS",
           outage: float = 0.5) -> dict:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "analysis.json").write_text(json.dumps({
        "verdicts": [{"name": k, "status": v} for k, v in statuses.items()],
        "summary": {"outage_distribution": {"p50_s": outage / 2, "max_s": outage}}}))
    if fault:
        (folder / "chaos" / "kill-raft-leader").mkdir(parents=True)
        (folder / "chaos" / "kill-raft-leader" / "verdict.json").write_text(json.dumps(
            {"experiment": "kill-raft-leader", "verdict": fault, "vars": {"group": "g1", "tier7_run_dir": "x"}}))
    return window_summary(folder)


def test_whole_run_verdict_from_the_windows(tmp_path: Path) -> None:
    good = {"linearizability": "PASS", "no-lost-writes": "PASS"}
    w1, w2 = window(tmp_path, "w1", good), window(tmp_path, "w2", good, fault=None, outage=2.0)
    assert w1["verdict"] == "PASS" and w1["faults"][0]["vars"] == {"group": "g1"}
    healed = {"exit_code": 0}
    whole = combine([w1, w2], healed, complete=True)
    assert whole["result"] == "PASS" and whole["figures"]["outage_max_s"] == 2.0 and whole["faults"] == 1
    lost = window(tmp_path, "w3", {**good, "no-lost-writes": "FAIL"})
    assert lost["verdict"] == "FAIL" and combine([w1, lost], healed, True)["result"] == "FAIL"
    stuck = window(tmp_path, "w4", good, fault="FAIL")  # a fault whose rollback failed
    result = combine([w1, stuck], healed, True)
    assert result["result"] == "FAIL" and {"id": "faults-rolled-back", "name": "faults-rolled-back",
                                           "status": "FAIL"} in result["criteria"]
    assert combine([w1], {"exit_code": 1}, True)["result"] == "FAIL"  # the final heal found a fault left
    assert combine([w1], None, True)["result"] == "UNKNOWN"  # the heal did not run: not proven
    assert combine([w1], healed, complete=False)["result"] == "INCOMPLETE"
    empty = tmp_path / "w5"
    empty.mkdir()
    assert window_summary(empty)["verdict"] == "UNKNOWN"  # a window without its analysis proves nothing


def test_only_the_profiles_checks_decide_and_a_missing_one_is_unknown(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "analysis.json").write_text(json.dumps({"verdicts": [
        {"name": "linearizability", "status": "PASS"}, {"name": "tenant-isolation", "status": "UNKNOWN"}]}))
    judged = window_summary(folder, ["linearizability"])
    assert judged["verdict"] == "PASS" and judged["not_judged"] == {"tenant-isolation": "UNKNOWN"}
    assert window_summary(folder, ["linearizability", "no-lost-writes"])["verdict"] == "UNKNOWN"
    assert load_profile("smoke")["soak"]["judged"]


def test_a_window_without_a_fault_does_not_outweigh_the_ones_that_measured(tmp_path: Path) -> None:
    measured = window(tmp_path, "a", {"failover": "PASS"})
    quiet = window(tmp_path, "b", {"failover": "NOT APPLICABLE"}, fault=None)
    assert quiet["verdict"] == "NOT APPLICABLE"
    whole = combine([measured, quiet], {"exit_code": 0}, True)
    assert whole["result"] == "PASS" and {"id": "failover", "name": "failover", "status": "PASS"} in whole["criteria"]
    failed = window(tmp_path, "c", {"failover": "FAIL"})
    assert combine([measured, quiet, failed], {"exit_code": 0}, True)["result"] == "FAIL"
