"""Issue 9, holes 1 and 7 (pure logic, no cluster): a chaos run whose fault action failed must not read as
a passed experiment nor as a NOT APPLICABLE failover, a failed rollback is a FAIL, and ``wait_until`` lets a
deliberate give-up through at once. Each test here failed on the code before the fix."""

import json
import time

import pandas as pd
import pytest

from analysis.checkers.experiments import check_experiments
from analysis.checkers.failover import check_failover
from analysis.journals import read_journals
from analysis.load import TOPOLOGY_COLUMNS
from analysis.metrics.election import election_per_fault
from analysis.metrics.outage import outage_per_fault
from analysis.metrics.validity import load_gate
from analysis.thresholds import load_thresholds
from analysis.verdict import Status
from analysis.windows import from_nemesis
from tests.analysis_history import BASE_NS, History, ns
from tier7.chaosrun import experiment_folder
from tier7.waiting import DeadlineExceeded, GiveUp, wait_until

NODES = {"n0": "g0", "n1": "g0", "m0": "g1"}


def activity(name, status="succeeded", kind="action", error=None, start="2024-01-01T00:00:05"):
    run = {"activity": {"type": kind, "name": name, "provider": {"type": "python", "arguments": {"group": "g0"}}},
           "status": status, "start": start, "end": start, "output": None}
    if status == "failed":
        run["exception"] = ["Traceback ...", f"chaoslib.exceptions.ActivityFailed: {error or 'failed'}\n"]
    return run


def journal(method=None, rollbacks=None, status="completed", before=True, after=True, **extra):
    """A chaostoolkit-lib journal; by default a healthy leader kill."""
    method = [activity("kill-raft-leader"), activity("new-leader-elected", kind="probe")] if method is None else method
    return {"status": status, "deviated": False, "experiment": {"title": "kill", "method": [
                {"type": r["activity"]["type"], "name": r["activity"]["name"]} for r in method] or
                [{"type": "action", "name": "kill-raft-leader"}]},
            "steady_states": {"before": {"steady_state_met": before}, "after": {"steady_state_met": after}},
            "run": method, "rollbacks": [activity("heal-everything")] if rollbacks is None else rollbacks,
            "start": "2024-01-01T00:00:00", "end": "2024-01-01T00:00:10", **extra}


FAILED_KILL = activity("kill-raft-leader", "failed",
                       error="the fault on n0 did not take effect: 5 s after it, n0 still answers as leader")


# -- hole 1: the experiments check reads every activity, not only the journal's status --

def test_healthy_journal_passes():
    verdict = check_experiments({"kill-raft-leader": journal()})
    assert verdict.status is Status.PASS, verdict


def test_a_failed_method_action_fails_although_chaoslib_says_completed():
    verdict = check_experiments({"kill-raft-leader": journal(method=[FAILED_KILL])})
    assert verdict.status is Status.FAIL
    assert "kill-raft-leader" in verdict.reason and "did not take effect" in verdict.reason


def test_a_failed_method_probe_fails():
    bad = journal(method=[activity("kill-raft-leader"), activity("new-leader-elected", "failed", "probe",
                                                                 "no new leader in g0 within 5s")])
    assert check_experiments({"k": bad}).status is Status.FAIL


def test_a_failed_rollback_fails():
    verdict = check_experiments({"k": journal(rollbacks=[activity("heal-everything", "failed", error="boom")])})
    assert verdict.status is Status.FAIL and "rollback activity 'heal-everything' failed: " in verdict.reason


def test_a_method_that_ran_no_action_fails():
    assert check_experiments({"k": journal(method=[])}).status is Status.FAIL


def test_the_wrappers_own_fail_is_kept():
    wrapped = journal(tier7={"verdict": "FAIL", "problems": ["faults left behind after the rollbacks"]})
    verdict = check_experiments({"k": wrapped})
    assert verdict.status is Status.FAIL and "left behind" in verdict.reason


def test_verdict_json_and_an_experiment_without_journal_are_read(tmp_path):
    done = tmp_path / "chaos" / "kill-raft-leader"
    done.mkdir(parents=True)
    (done / "journal.json").write_text(json.dumps(journal()))
    (done / "verdict.json").write_text(json.dumps({"verdict": "FAIL", "problems": ["safety net healed g0-us-east"]}))
    crashed = tmp_path / "chaos" / "kill-raft-leader-2"
    crashed.mkdir()
    (crashed / "chaostoolkit.log").write_text("started\n")
    journals = read_journals(tmp_path)
    assert journals["kill-raft-leader"]["tier7"]["verdict"] == "FAIL"
    verdict = check_experiments(journals)
    assert verdict.status is Status.FAIL and verdict.figures["failed"] == 2
    assert any("wrote no journal" in p for row in verdict.evidence for p in row["problems"])


def test_each_run_of_an_experiment_gets_its_own_folder(tmp_path):
    first, second = experiment_folder(tmp_path, "kill-raft-leader"), experiment_folder(tmp_path, "kill-raft-leader")
    assert first.name == "kill-raft-leader" and second.name == "kill-raft-leader-2"


# -- hole 1: failover never says NOT APPLICABLE when an experiment ran --

def steady(history, group, start, stop, step, process):
    t, i = start, 0
    while t <= stop + 1e-9:
        history.op(process, "put", round(t - 0.005, 6), round(t, 6), value=f"{process}-{i}", key=f"{group}k",
                   group=group, node=f"{group}-n")
        t, i = t + step, i + 1


def failover(history, journals=None):
    thresholds = load_thresholds()
    windows = from_nemesis(history.nemesis_ops(), NODES, history_end=float(ns(14)))
    topology = pd.DataFrame(columns=TOPOLOGY_COLUMNS)
    return check_failover(outage_per_fault(history.ops(), windows, ["g0", "g1"]),
                          election_per_fault(topology, windows),
                          load_gate(history.ops(), windows, thresholds, float(BASE_NS)), windows, thresholds,
                          journals), windows


def busy() -> History:
    h = History()
    steady(h, "g0", 0.1, 13.0, 0.1, "a")
    steady(h, "g1", 0.1, 13.0, 0.1, "b")
    return h


def test_a_kill_whose_action_failed_is_a_failover_fail():
    h = busy()
    h.op("nemesis", "kill-leader", 5.0, 5.5, value={"activity": "action", "group": "g0"}, type="fail", key=None,
         tenant=None, error="the fault on n0 did not take effect")
    h.nemesis("start-stopped-nodes", 6.0, 6.2, heal=True)
    verdict, windows = failover(h, {"kill-raft-leader": journal(method=[FAILED_KILL])})
    assert not windows["applied"].any()
    assert verdict.status is Status.FAIL, verdict
    assert "not applied" in verdict.reason and "did not take effect" in verdict.reason


def test_applied_false_in_the_value_is_not_an_applied_fault():
    h = busy()
    h.nemesis("kill-leader", 5.0, 5.5, node="n0", applied=False)
    verdict, windows = failover(h)
    assert not windows["applied"].any() and verdict.status is Status.FAIL


def test_one_failed_kill_among_measured_ones_fails():
    h = busy()
    h.nemesis("kill-leader", 5.0, 5.01, node="n0").nemesis("start-stopped-nodes", 6.0, 6.5, heal=True)
    h.op("nemesis", "kill-leader", 9.0, 9.5, value={"group": "g1"}, type="fail", key=None, tenant=None,
         error="group g1 has no agreed leader right now")
    verdict, _ = failover(h)
    assert verdict.status is Status.FAIL and verdict.figures["not_applied"] == 1
    assert any(r["status"] == "FAIL" and "no agreed leader" in r["reason"] for r in verdict.evidence)


def test_experiments_that_applied_no_fault_fail_and_only_a_plain_run_is_not_applicable():
    h = busy()
    never = journal(method=[], status="failed", before=False)
    verdict, _ = failover(h, {"kill-raft-leader": never})
    assert verdict.status is Status.FAIL and "no fault was applied" in verdict.reason
    assert "BEFORE the method" in verdict.reason
    interrupted, _ = failover(h, {"kill-raft-leader": journal(method=[], status="interrupted")})
    assert interrupted.status is Status.UNKNOWN
    plain, _ = failover(h)
    assert plain.status is Status.NOT_APPLICABLE


def test_a_failed_heal_leaves_the_fault_in_force():
    h = busy()
    h.nemesis("kill-leader", 5.0, 5.01, node="n0")
    h.op("nemesis", "start-stopped-nodes", 6.0, 6.5, value={"heal": True}, type="fail", key=None, tenant=None,
         error="n0 would not start")
    h.nemesis("heal-all", 9.0, 9.5, heal=True)
    windows = from_nemesis(h.nemesis_ops(), NODES, history_end=float(ns(14)))
    assert list(windows["healed_by"]) == ["heal-all"] and windows["end_time"].iloc[0] == ns(9.5)


# -- hole 7: a deliberate give-up ends the wait at once --

def test_give_up_propagates_at_once():
    started = time.monotonic()
    with pytest.raises(GiveUp, match="load exited"):
        wait_until(lambda: (_ for _ in ()).throw(GiveUp("load exited early")), timeout=10, interval=0.05)
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="inner"):  # an inner wait that ran out is not retried either
        wait_until(lambda: (_ for _ in ()).throw(DeadlineExceeded("inner")), timeout=10, interval=0.05)
    assert time.monotonic() - started < 1.0


def test_other_errors_still_mean_not_yet():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("restarting")
        return "up"

    assert wait_until(flaky, timeout=5, interval=0.01) == "up" and len(calls) == 3
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="last error: still down"):
        wait_until(lambda: (_ for _ in ()).throw(OSError("still down")), timeout=0.3, interval=0.05)
    assert time.monotonic() - started >= 0.3


# -- hole 1 end to end: `tier7 analyze` on a run whose kill did not happen exits non-zero --

def test_analyze_a_run_whose_kill_failed_exits_non_zero(tmp_path, capsys):
    from tests.test_analysis_cli import make_run
    from tier7.cli import main

    run = make_run(tmp_path / "run", nemesis=False)
    h = History()
    h.op("nemesis", "kill-leader", 5.0, 5.5, value={"activity": "action", "phase": "method", "group": "g0",
                                                    "applied": False}, type="fail", key=None, tenant=None,
         error="ActivityFailed: the fault on n0 did not take effect")
    h.nemesis("start-stopped-nodes", 7.0, 7.5, heal=True)
    with open(run / "history" / "nemesis-1.jsonl", "w") as out:
        for event in h.events:
            out.write(json.dumps({k: v for k, v in event.items() if v is not None and k != "source"}) + "\n")
    folder = run / "chaos" / "kill-raft-leader"
    folder.mkdir(parents=True)
    (folder / "journal.json").write_text(json.dumps(journal(method=[FAILED_KILL])))
    assert main(["analyze", str(run), "--no-dashboard"]) == 1
    verdicts = {v["name"]: v for v in json.loads((run / "analysis.json").read_text())["verdicts"]}
    assert verdicts["chaos-experiments"]["status"] == "FAIL", verdicts["chaos-experiments"]
    assert verdicts["failover"]["status"] == "FAIL", verdicts["failover"]
    assert "did not take effect" in verdicts["failover"]["reason"]


def test_a_phase_fault_marked_not_for_failover_is_not_measured_but_a_failed_one_still_counts():
    """The sql phase kills a leader with no load running (it queries during the kill): its window attributes
    log lines, but measuring a failover on it could only say UNKNOWN; a kill measured normally still counts."""
    h = History()
    steady(h, "g0", 0.1, 8.0, 0.1, "a")
    steady(h, "g1", 0.1, 8.0, 0.1, "b")
    h.nemesis("kill-leader", 5.0, 5.01, node="n0").nemesis("start-stopped-nodes", 6.0, 6.5, heal=True)
    h.nemesis("kill-node", 11.0, 11.01, node="n1", measure_failover=False)
    h.nemesis("restart-node", 12.0, 12.5, heal=True)
    verdict, windows = failover(h)
    assert len(windows) == 2 and verdict.figures["faults"] == 1 and verdict.figures["measured"] == 1, verdict
    alone = History()
    steady(alone, "g0", 0.1, 8.0, 0.1, "a")
    steady(alone, "g1", 0.1, 8.0, 0.1, "b")
    alone.nemesis("kill-leader", 5.0, 5.01, node="n0").nemesis("start-stopped-nodes", 6.0, 6.5, heal=True)
    assert verdict.status is failover(alone)[0].status, verdict  # as if the phase's kill had not happened
    unmarked = History()
    steady(unmarked, "g0", 0.1, 8.0, 0.1, "a")
    steady(unmarked, "g1", 0.1, 8.0, 0.1, "b")
    unmarked.nemesis("kill-leader", 5.0, 5.01, node="n0").nemesis("start-stopped-nodes", 6.0, 6.5, heal=True)
    unmarked.nemesis("kill-node", 11.0, 11.01, node="n1").nemesis("restart-node", 12.0, 12.5, heal=True)
    judged = failover(unmarked)[0]
    assert judged.figures["faults"] == 2 and "load too thin" in json.dumps(judged.evidence), judged
