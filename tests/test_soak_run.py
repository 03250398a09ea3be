"""Issue 15: a short real soak on its own testbed (shaped load, one leader kill, windows judged,
final heal), and a SIGTERM in the middle of a fault: rolled back, partial window analysed, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import start_cluster
from tier7.targets.testbed import TestbedTarget

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def soak_testbed(tmp_path_factory: pytest.TempPathFactory):
    """A cluster of this module's own: faults restart nodes under new PIDs (the state file has them)."""
    target = start_cluster(tmp_path_factory.mktemp("soak-testbed"))
    yield target
    TestbedTarget(target.dir).stop()  # fresh read of the state file: restarted nodes included


def soak(cluster: TestbedTarget, run_dir: Path, duration: str, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tier7", "soak", "--duration", duration, "--profile", "smoke",
                             "--target", str(cluster.dir), "--seed", str(seed), "--run-dir", str(run_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def healthy(cluster: TestbedTarget) -> None:
    fresh = TestbedTarget(cluster.dir)  # the fixture's object knows only the PIDs it started
    assert len(fresh.running()) == len(fresh.nodes()), "a node was left stopped"


def test_short_soak_windows_fault_and_final_verdict(soak_testbed: TestbedTarget, tmp_path: Path) -> None:
    cluster = soak_testbed
    run = tmp_path / "soak"
    child = soak(cluster, run, "30s", 11)
    out, _ = child.communicate(timeout=300)
    doc = json.loads((run / "soak.json").read_text())
    assert doc["complete"] and len(doc["windows"]) == 2, out
    faults = [f for w in doc["windows"] for f in w["faults"]]
    assert [f["experiment"] for f in faults] == ["kill-raft-leader"] and faults[0]["verdict"] == "PASS", out
    for w in doc["windows"]:  # checkpoint verdicts from each window's own analysis
        assert (run / "windows" / w["folder"] / "analysis.json").is_file()
        assert w["verdicts"] and w["verdict"] in ("PASS", "FAIL", "UNKNOWN")
    assert doc["final_heal"]["exit_code"] == 0
    memory = doc["memory"]  # the smoke profile samples every 5 s: both windows' load processes were seen
    assert len(memory) >= 4 and all(m["harness_rss_kib"] > 0 for m in memory), memory
    assert sum(1 for m in memory if m["load_rss_kib"] > 0) >= 2, memory
    checks = {c["id"]: c["status"] for c in doc["verdicts"]["criteria"]}
    assert checks["faults-rolled-back"] == "PASS" and doc["figures"]["throughput_per_s"] > 0
    assert child.returncode == (0 if doc["result"] == "PASS" else 1), out
    healthy(cluster)


def test_sigterm_mid_fault_rolls_back_and_reports(soak_testbed: TestbedTarget, tmp_path: Path) -> None:
    cluster = soak_testbed
    run = tmp_path / "soak"
    child = soak(cluster, run, "10m", 12)
    deadline = time.monotonic() + 120
    journal_dir = run / "windows" / "w001" / "history"
    while time.monotonic() < deadline and child.poll() is None:  # the fault is in progress once it recorded
        if any(p.name.startswith("nemesis") for p in journal_dir.glob("*.jsonl")):
            break
        time.sleep(0.2)
    assert child.poll() is None, "the soak ended before its first fault"
    os.kill(child.pid, signal.SIGTERM)
    out, _ = child.communicate(timeout=300)
    assert child.returncode == 130, out
    doc = json.loads((run / "soak.json").read_text())
    assert doc["interrupted_by"] == "SIGTERM" and not doc["complete"] and doc["result"] in ("INCOMPLETE", "FAIL")
    assert doc["final_heal"]["exit_code"] == 0, doc["final_heal"]
    assert len(doc["windows"]) == 1 and (run / "windows" / "w001" / "analysis.json").is_file()
    healthy(cluster)
