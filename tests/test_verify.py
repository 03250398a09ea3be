"""`tier7 verify` as users run it: outputs, FAIL on a broken target, secrets kept out, STATUS.md idempotent,
Ctrl-C still writes a partial report, bad targets are one-line errors."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from analysis.plan import CRITERIA_BY_ID
from tier7.report.redact import find_secrets
from tier7.targets.processes import is_running
from tier7.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


def verify(tmp_path, *args, timeout=600):
    command = [sys.executable, "-m", "tier7", "verify", "--out", str(tmp_path / "results"),
               "--status-file", str(tmp_path / "STATUS.md"), "--seed", "4504", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def latest(tmp_path) -> Path:
    return (tmp_path / "results" / "latest").resolve()


def criterion_lines(text: str) -> list[str]:
    """The criterion table `tier7 verify` and `tier7 analyze` print (status, id, figure, reason)."""
    return [line for line in text.splitlines()
            if line.startswith(("  PASS ", "  FAIL ", "  UNKNOWN ", "  NOT RUN ", "  NOT APPLICABLE "))]


def test_three_mutants_fail_their_criteria_and_zip_has_no_secrets(tmp_path):
    """One testbed with three independent bugs (2% of keys misrouted, 2% of puts acknowledged but not
    stored, a token accepted on another tenant's keys): each criterion that judges one of them FAILs with
    its evidence, the preset still PASSes. (One run instead of three: the suite's time, issue 9.)"""
    done = verify(tmp_path, "--quick", "--only", "federation,preset,no-lost-writes,tenants", "--testbed-faults",
                  '{"misroute_fraction": 0.02, "lose_write_fraction": 0.02, "tenant_leak": true}')
    assert done.returncode == 1, done.stderr[-2000:]
    run = latest(tmp_path)
    # the same engine over the same folder: `tier7 analyze` prints exactly the verdicts verify printed,
    # and rewrites verdicts.json from its own judgement (a stale one must not survive)
    (run / "verdicts.json").write_text('{"criteria": []}')
    analyzed = subprocess.run([sys.executable, "-m", "tier7", "analyze", str(run), "--no-dashboard"],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    printed = criterion_lines(done.stdout + done.stderr)
    assert len(printed) == len(CRITERIA_BY_ID) and printed == criterion_lines(analyzed.stdout), \
        analyzed.stdout[-3000:]
    assert analyzed.returncode == done.returncode == 1
    verdicts = {c["id"]: c for c in json.loads((run / "verdicts.json").read_text())["criteria"]}
    statuses = {name: c["status"] for name, c in verdicts.items()}
    assert statuses["preset"] == "PASS" and statuses["federation"] == "FAIL"
    assert statuses["no-lost-writes"] == "FAIL" and verdicts["no-lost-writes"]["evidence"], "the lost writes are listed"
    assert statuses["tenants"] == "FAIL" and "not refused" in verdicts["tenants"]["reason"]
    again = {c["id"]: c["status"] for c in json.loads((run / "analysis.json").read_text())["criteria"]["criteria"]}
    assert again == statuses
    report = (run / "45-04-verification-report.md").read_text()
    federation_row = next(line for line in report.splitlines() if "Federation: consistent hash" in line)
    assert "**FAIL**" in federation_row
    evidence = json.loads((run / "evidence" / "federation.json").read_text())
    assert 5 <= len(evidence["misplaced"]) <= 60
    assert evidence["misplaced"][0]["key"] in report  # the report names misrouted keys
    cluster = json.loads((run / "testbed" / "cluster.json").read_text())  # raw, outside the zip
    with zipfile.ZipFile(run / "45-04-tier7-evidence.zip") as archive:
        names = archive.namelist()
        text = "\n".join(archive.read(n).decode("utf-8", "replace") for n in names)
    assert {"45-04-verification-report.md", "target/ring.json", "evidence/federation.json"} <= set(names)
    assert any(n.startswith("logs/") for n in names) and any(n.startswith("history/") for n in names)
    assert find_secrets(text, [cluster["admin_token"], cluster["secret"]]) == []
    assert "FAIL" in (tmp_path / "STATUS.md").read_text()


def test_ctrl_c_writes_partial_report_and_stops_testbed(tmp_path):
    command = [sys.executable, "-m", "tier7", "verify", "--only", "tenants", "--out", str(tmp_path / "results"),
               "--status-file", str(tmp_path / "STATUS.md")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        state = tmp_path / "results" / "latest" / "testbed" / "state.json"
        history = tmp_path / "results" / "latest" / "history"
        wait_until(lambda: state.exists() and history.exists() and any(
            p.stat().st_size > 20_000 for p in history.glob("*.jsonl")), 60, 0.1, "the tenants phase to be under way")
        pids = json.loads(state.read_text())["pids"]
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stderr[-2000:]
    run = latest(tmp_path)
    report = (run / "45-04-verification-report.md").read_text()
    assert "INCOMPLETE" in report and "Ctrl-C" in report
    assert (run / "45-04-tier7-evidence.zip").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(is_running(int(p), []) for p in pids.values()):
        time.sleep(0.1)
    assert not [p for p in pids.values() if is_running(int(p), [])], "testbed nodes left running"


def test_unreachable_target_is_one_line_error(tmp_path):
    target = tmp_path / "target.toml"
    target.write_text('admin_token = "x"\n[[nodes]]\nname = "n1"\ngroup = "g0"\nregion = "r"\n'
                      'url = "http://127.0.0.1:9"\n')
    done = verify(tmp_path, "--target", str(target), "--only", "preset")
    assert done.returncode == 2 and "unreachable" in done.stderr
    assert "Traceback" not in done.stderr
    malformed = tmp_path / "bad.toml"
    malformed.write_text("[[nodes]\n")
    done = verify(tmp_path, "--target", str(malformed))
    assert done.returncode == 2 and "malformed target file" in done.stderr and "Traceback" not in done.stderr
    done = verify(tmp_path, "--only", "nope")
    assert done.returncode == 2 and "unknown criterion 'nope'" in done.stderr
    remote = tmp_path / "remote.toml"
    remote.write_text(target.read_text().replace("127.0.0.1", "192.0.2.7"))
    done = verify(tmp_path, "--target", str(remote))
    assert done.returncode == 2 and "192.0.2.7 is not a loopback address" in done.stderr
    assert "Traceback" not in done.stderr


def test_only_linearizable_runs_a_load_and_judges_enough_operations(tmp_path):
    """Hole 2: `--only linearizable` ran no load and passed on an idle cluster."""
    done = verify(tmp_path, "--quick", "--only", "linearizable")
    run = latest(tmp_path)
    verdicts = {c["id"]: c for c in json.loads((run / "verdicts.json").read_text())["criteria"]}
    linearizable = verdicts["linearizable"]
    load = json.loads((run / "facts" / "load.json").read_text())
    assert load["ok_operations"] > 0 and "load" in json.loads((run / "facts" / "verify.json").read_text())["ran"]
    floor = json.loads((run / "plan.json").read_text())["evidence"]["linearizable_min_operations"]
    assert linearizable["figures"]["operations"] >= floor, linearizable
    assert linearizable["status"] == "PASS" and done.returncode == 0, done.stderr[-2000:]


def test_a_running_testbed_is_verified_through_its_cluster_file(tmp_path):
    """Two runs on one running testbed (not started by them, so not stopped by them): the second keeps one
    45-04 section of STATUS.md and the other phases' lines; the report measures every region pair."""
    from tier7.targets.testbed import TestbedTarget

    (tmp_path / "STATUS.md").write_text("# Phase 45\n\n## 45-03 Tier 6\n- [x] kept\n")
    testbed = TestbedTarget.create(tmp_path / "tb")
    try:
        testbed.start(timeout=60)
        done = verify(tmp_path, "--quick", "--target", str(testbed.cluster_file), "--only", "preset,multi-raft")
        assert done.returncode == 0, done.stderr[-2000:]
        verdicts = {c["id"]: c["status"] for c in json.loads((latest(tmp_path) / "verdicts.json").read_text())["criteria"]}
        assert verdicts["preset"] == verdicts["multi-raft"] == "PASS"
        # not started by the run, so not stopped by it (killed leaders were restarted: PIDs from state.json)
        assert len(TestbedTarget(testbed.dir).running()) == 9
        second = verify(tmp_path, "--target", str(testbed.cluster_file), "--only", "preset")
        assert second.returncode == 0, second.stderr[-2000:]
    finally:
        testbed.stop()
    status = (tmp_path / "STATUS.md").read_text()
    assert status.count("## 45-04") == 1 and "- [x] kept" in status
    assert "[x] God-tier preset loads without errors" in status
    runs = [p for p in (tmp_path / "results").iterdir() if p.name != "latest"]
    assert len(runs) == 2 and latest(tmp_path).name in status
    # the report measures each simulated region pair: the link adds its configured baseline round trip
    report = (latest(tmp_path) / "45-04-verification-report.md").read_text()
    rows = [line.split("|") for line in report.split("### Cross-region RTT")[1].split("\n\n")[1].splitlines()[2:]]
    assert len(rows) == 3, report
    for row in rows:
        baseline_ms, added_ms = float(row[2]), float(row[5])
        assert baseline_ms > 0 and 0.8 * baseline_ms <= added_ms <= baseline_ms + 25, row

    done = verify(tmp_path, "--target", str(testbed.cluster_file), "--only", "preset")
    assert done.returncode == 2 and "is not running" in done.stderr and "Traceback" not in done.stderr
