"""Must hold 6: a malformed experiment file, an unknown action argument or an unreachable target is a
clear error (one line, exit 2) from `tier7 chaos run`, and a failure from `chaos run`."""

import json
import subprocess
import sys

from tests.chaos_support import EXPERIMENTS, ROOT, chaos_run, env_for
from tier7.targets.testbed import TestbedTarget


def wrapper(args, testbed_dir, tmp_path):
    return subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", *args, "--run-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=ROOT, env=env_for(testbed_dir), timeout=120)


def one_line_error(done, text):
    assert done.returncode == 2, done.stdout + done.stderr
    assert text in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr


def test_malformed_experiment_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x", "method": [')
    one_line_error(wrapper([str(bad)], tmp_path / "none", tmp_path), "malformed experiment")
    no_method = tmp_path / "no-method.json"
    no_method.write_text(json.dumps({"title": "t", "description": "d"}))
    one_line_error(wrapper([str(no_method)], tmp_path / "none", tmp_path), "an experiment requires a method")
    assert chaos_run(bad, tmp_path, env_for(tmp_path / "none")).returncode != 0


def test_unknown_action_argument(tmp_path):
    data = json.loads((EXPERIMENTS / "kill-raft-leader.json").read_text())
    data["method"][0]["provider"]["arguments"]["grup"] = "g1"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(data))
    one_line_error(wrapper([str(path)], tmp_path / "none", tmp_path),
                   "arguments.grup: not an argument of chaos.actions.kill_leader; allowed: group")
    assert chaos_run(path, tmp_path, env_for(tmp_path / "none")).returncode != 0


def test_unknown_experiment_and_bad_var(tmp_path):
    one_line_error(wrapper(["no-such-experiment"], tmp_path / "none", tmp_path), "kill-raft-leader")
    one_line_error(wrapper(["kill-raft-leader", "--var", "group"], tmp_path / "none", tmp_path), "--var")


def test_unreachable_target(tmp_path):
    one_line_error(wrapper(["kill-raft-leader"], tmp_path / "none", tmp_path), "run `tier7 testbed up` first")
    init = subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(tmp_path / "down")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert init.returncode == 0, init.stderr
    one_line_error(wrapper(["kill-raft-leader"], tmp_path / "down", tmp_path), "target unreachable")
    try:
        done = chaos_run(EXPERIMENTS / "kill-raft-leader.json", tmp_path, env_for(tmp_path / "down", tmp_path / "r"))
        assert done.returncode == 1
        journal = json.loads((tmp_path / "journal.json").read_text())
        assert journal["status"] == "failed" and not journal["run"]
        assert "target unreachable" in "".join(journal["steady_states"]["before"]["probes"][0]["exception"])
        # the rollbacks' heal refuses a testbed that is not up: it never starts one
        assert "is not up" in "".join(journal["rollbacks"][0]["exception"])
        stopped = TestbedTarget(tmp_path / "down")
        assert stopped.running() == [] and not stopped.proxy_running()
    finally:
        TestbedTarget(tmp_path / "down").stop()
