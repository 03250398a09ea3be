"""Must hold 2: rollbacks heal when the method fails midway and when the harness wrapper gets Ctrl-C: no
paused process, no latency toxic, no partition left behind. And actions fail with useful messages."""

import json
import os
import signal
import subprocess
import sys

import pytest
from chaoslib.exceptions import ActivityFailed

from tests.chaos_support import (
    EXPERIMENTS,
    ROOT,
    action,
    chaos_run,
    env_for,
    events,
    experiment_variant,
    left_in_force,
    nothing_left,
    probe,
    started_testbed,
)
from tier7.topology import observe
from tier7.waiting import wait_until


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    with started_testbed(tmp_path_factory.mktemp("rollbacks") / "tb") as target:
        yield target


def faults_then(*rest):
    return [action("pause-leader", "pause_leader", group="g0"),
            action("add-latency", "add_region_latency", region_a="us-east", region_b="eu-west", rtt_ms=50),
            action("partition", "partition_region", region="ap-south", mode="refuse"), *rest]


def test_rollbacks_heal_when_the_method_fails_midway(testbed, tmp_path):
    broken = action("fails", "kill_node", node="no-such-node")
    path = experiment_variant(EXPERIMENTS / "pause-leader.json", "fails-midway", tmp_path,
                              faults_then(broken, probe("never-mind", "leader_of", group="g0")))
    done = chaos_run(path, tmp_path, env_for(testbed.dir, tmp_path / "run"),
                     "--hypothesis-strategy", "before-method-only")
    journal = json.loads((tmp_path / "journal.json").read_text())
    statuses = {r["activity"]["name"]: r["status"] for r in journal["run"]}
    assert statuses == {"pause-leader": "succeeded", "add-latency": "succeeded", "partition": "succeeded",
                        "fails": "failed", "never-mind": "succeeded"}, done.stderr[-3000:]
    assert "unknown node 'no-such-node'" in "".join(journal["run"][3]["exception"])
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    assert left_in_force(testbed) == {"paused": [], "down": [], "toxics": [], "disabled": [], "missing": []}
    # the partitioned region's members come back with higher terms: the groups settle (bounded) after the heal
    wait_until(lambda: observe(testbed.nodes()).healthy(), 20, 0.2, "a healthy cluster after the rollbacks")
    kinds = [(e["f"], e["type"]) for e in events(tmp_path / "run")]
    assert ("kill-node", "fail") in kinds and ("heal-all", "ok") in kinds


def test_wrapper_fails_on_a_failed_method_activity(testbed, tmp_path):
    method = [action("add-latency", "add_region_latency", region_a="us-east", region_b="eu-west", rtt_ms=20),
              action("fails", "partition_region", region="mars"),
              action("remove-latency", "remove_region_latency", region_a="us-east", region_b="eu-west")]
    path = experiment_variant(EXPERIMENTS / "region-latency.json", "wrapper-fails", tmp_path, method)
    done = subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", str(path), "--run-dir", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT, env=env_for(testbed.dir), timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    assert "FAIL" in done.stdout and "'fails' failed" in done.stdout and "unknown region 'mars'" in done.stdout
    journal = json.loads((tmp_path / "r" / "chaos" / "wrapper-fails" / "journal.json").read_text())
    assert journal["tier7"]["verdict"] == "FAIL"
    assert nothing_left(testbed)


def test_ctrl_c_of_the_wrapper_rolls_back(testbed, tmp_path):
    method = faults_then(probe("observe", "observe_cluster", seconds=120))
    method[2]["provider"]["arguments"]["mode"] = "blackhole"
    path = experiment_variant(EXPERIMENTS / "pause-leader.json", "interrupted", tmp_path, method)
    run_dir = tmp_path / "run"
    wrapper = subprocess.Popen([sys.executable, "-m", "tier7", "chaos", "run", str(path), "--run-dir", str(run_dir)],
                               cwd=ROOT, env=env_for(testbed.dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        wait_until(lambda: any(e["f"] == "partition-region" and e["type"] == "ok" for e in events(run_dir)),
                   60, 0.1, "the partition to be in force")
        assert left_in_force(testbed)["paused"] and left_in_force(testbed)["toxics"]
        os.kill(wrapper.pid, signal.SIGINT)  # Ctrl-C
        output, _ = wrapper.communicate(timeout=120)
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
            wrapper.wait(10)
    assert wrapper.returncode == 130, output[-3000:]
    journal = json.loads((run_dir / "chaos" / "interrupted" / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    safety = journal["tier7"]["safety_net"]
    assert not safety["resumed"] and not safety["started"] and not any(safety["network"].values()), safety
    assert left_in_force(testbed) == {"paused": [], "down": [], "toxics": [], "disabled": [], "missing": []}
    wait_until(lambda: observe(testbed.nodes()).healthy(), 20, 0.2, "a healthy cluster after the rollbacks")


def test_a_hypothesis_failing_before_the_method_fails_the_wrapper(testbed, tmp_path):
    """`chaos run` exits 0 when the hypothesis fails before the method; `tier7 chaos run` does not."""
    data = json.loads((EXPERIMENTS / "kill-raft-leader.json").read_text())
    data["steady-state-hypothesis"]["probes"] = [{**probe("g0-led-by-nobody", "leader_of", group="g0"),
                                                  "tolerance": "nobody"}]
    path = experiment_variant(EXPERIMENTS / "kill-raft-leader.json", "not-steady", tmp_path,
                              **{"steady-state-hypothesis": data["steady-state-hypothesis"]})
    plain = chaos_run(path, tmp_path, env_for(testbed.dir, tmp_path / "plain"))
    assert plain.returncode == 0  # the bite (design brief, "Things that bite")
    assert not json.loads((tmp_path / "journal.json").read_text())["steady_states"]["before"]["steady_state_met"]
    done = subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", str(path), "--run-dir", str(tmp_path / "w")],
                          capture_output=True, text=True, cwd=ROOT, env=env_for(testbed.dir), timeout=180)
    assert done.returncode == 1 and "BEFORE the method" in done.stdout, done.stdout + done.stderr[-2000:]
    assert [e for e in events(tmp_path / "w") if e["f"] == "kill-leader"] == []  # the method never ran
    assert nothing_left(testbed)


def test_actions_fail_with_useful_messages(testbed):
    from chaos import actions, probes

    configuration = {"tier7_testbed_dir": str(testbed.dir)}
    cases = [(lambda: actions.kill_leader("g9", configuration), "unknown group 'g9'; groups: g0, g1, g2"),
             (lambda: actions.pause_node("g0-mars", configuration), "unknown node 'g0-mars'; nodes: g0-us-east"),
             (lambda: actions.partition_region("mars", configuration=configuration), "unknown region 'mars'"),
             (lambda: actions.partition_region("us-east", "sideways", configuration), "partition mode must be"),
             (lambda: actions.add_link_latency("raft.nowhere", 10, configuration=configuration), "unknown link"),
             (lambda: actions.add_region_latency("us-east", "us-east", 10, configuration=configuration),
              "regions must differ"),
             (lambda: probes.leader_of("g0", {"tier7_testbed_dir": "/nonexistent"}), "no testbed in")]
    for call, message in cases:
        with pytest.raises(ActivityFailed) as failure:
            call()
        assert message in str(failure.value)
    assert nothing_left(testbed)
