"""Foreign targets (issue 14): capability protocols, the etcd and Redis Sentinel drivers, and the verdicts the
harness gives on them. The integration tests start real etcd / Redis servers on loopback (Debian's packages,
installed by scripts/install-system-deps.sh) under the shared cluster lock; they skip, saying which package is
missing, only where those packages are not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.judge import judge_run
from analysis.verdict import Status
from tier7.cli import main
from tier7.errors import Tier7Error
from tier7.history import HistoryWriter, read_events
from tier7.targetarg import classify
from tier7.targets import foreign
from tier7.targets.capabilities import CONTRACT_CAPABILITIES, declared, describe
from tier7.targets.etcd import EtcdTarget
from tier7.targets.etcd import parse_log_line as etcd_line
from tier7.targets.redis_sentinel import RedisSentinelTarget
from tier7.targets.redis_sentinel import parse_log_line as redis_line
from tier7.targets.testbed import TestbedTarget

ROOT = Path(__file__).resolve().parents[1]


def need(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} not installed: Debian package {package} (bash scripts/install-system-deps.sh)")


# -- capabilities and their NOT APPLICABLE --


def test_capability_sets_agree_with_the_analysis_copy() -> None:
    from analysis.facts import CONTRACT_CAPABILITIES as ANALYSIS_COPY

    assert {c.value for c in CONTRACT_CAPABILITIES} == set(ANALYSIS_COPY)


def test_drivers_declare_what_they_can_do() -> None:
    assert {"kv", "topology", "kill", "restart", "pause", "logs", "federation"} <= declared(EtcdTarget)
    assert {"preset", "tenants", "contract"}.isdisjoint(declared(EtcdTarget))
    # one Redis group: no federation (etcd federates on the client side over independent clusters)
    assert declared(RedisSentinelTarget) == declared(EtcdTarget) - {"federation"}
    assert {"preset", "tenants", "federation", "contract", "kv"} <= declared(TestbedTarget)


def test_targets_describe_prints_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "describe"]) == 0
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    for kind in ("testbed", "etcd", "redis-sentinel", "target file"):
        assert any(line.startswith(kind + " ") for line in lines), kind
    preset = next(line for line in lines if line.strip().startswith("preset "))
    assert "needs preset" in preset and "NOT APPLICABLE on: etcd, redis-sentinel" in preset
    linear = next(line for line in lines if line.strip().startswith("linearizable "))
    assert "NOT APPLICABLE on: -" in linear
    assert describe() == stdout.rstrip("\n")


def facts_folder(tmp_path: Path, chosen: list[str], capabilities: list[str], foreign_target: bool) -> Path:
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    plan = (ROOT / "analysis" / "plan.toml").read_text()
    import tomllib

    (run / "plan.json").write_text(json.dumps(tomllib.loads(plan)))
    record = {"chosen": chosen, "ran": [], "complete": True, "capabilities": capabilities,
              "target_name": "etcd" if foreign_target else "testbed", "log_nodes": [], "meta": {}}
    if foreign_target:
        record["foreign"] = True
    (run / "facts" / "verify.json").write_text(json.dumps(record))
    return run


def test_a_criterion_needing_a_missing_capability_is_not_applicable_naming_it(tmp_path: Path) -> None:
    run = facts_folder(tmp_path, ["preset", "tenants", "linearizable"], ["kv", "topology", "kill"], True)
    results = {r.criterion.id: r for r in judge_run(run, analysis_error="hand-made", dashboard=False).results}
    assert results["preset"].status is Status.NOT_APPLICABLE
    assert "cannot: preset" in results["preset"].verdict.reason
    assert results["tenants"].status is Status.NOT_APPLICABLE and "tenants" in results["tenants"].verdict.reason
    # kv is there: linearizable is judged (here UNKNOWN: its phases did not run), never excused
    assert results["linearizable"].status is Status.UNKNOWN


def test_a_foreign_target_without_kv_is_not_applicable_for_the_kv_criteria(tmp_path: Path) -> None:
    run = facts_folder(tmp_path, ["linearizable", "no-lost-writes"], ["logs"], True)
    results = {r.criterion.id: r for r in judge_run(run, analysis_error="hand-made", dashboard=False).results}
    for cid in ("linearizable", "no-lost-writes"):
        assert results[cid].status is Status.NOT_APPLICABLE and "cannot: kv" in results[cid].verdict.reason


def test_a_contract_target_folder_keeps_the_contract_capabilities(tmp_path: Path) -> None:
    # folders written before issue 14 list only the driver's own capabilities: still judged, not excused
    run = facts_folder(tmp_path, ["preset", "linearizable"], ["kill", "restart", "logs"], False)
    results = {r.criterion.id: r for r in judge_run(run, analysis_error="hand-made", dashboard=False).results}
    assert results["preset"].status is not Status.NOT_APPLICABLE
    assert results["linearizable"].status is not Status.NOT_APPLICABLE


# -- --target and the command line --


def test_target_names_and_folders(tmp_path: Path) -> None:
    assert classify("etcd").kind == "etcd" and classify("redis-sentinel").kind == "redis-sentinel"
    assert classify("testbed").kind == "testbed"
    (tmp_path / foreign.STATE_FILE).write_text("{}")
    assert classify(str(tmp_path)).kind == "foreign-dir"
    with pytest.raises(Tier7Error, match="etcd or redis-sentinel"):
        classify(str(tmp_path / "nowhere.toml"))


@pytest.mark.parametrize("argv", [["load", "--target", "etcd"], ["chaos", "run", "kill-raft-leader", "--target",
                                                                   "redis-sentinel"]])
def test_contract_only_commands_refuse_a_foreign_target(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    assert "tier7 verify --target" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_missing_binary_is_one_line_naming_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Tier7Error, match="etcd-server package"):
        EtcdTarget.create(tmp_path / "etcd")
    with pytest.raises(Tier7Error, match="redis-server package"):
        RedisSentinelTarget.create(tmp_path / "redis")


# -- the recording client's fail/info split --


class FakeBackend:
    node, group = "m1", "g"

    def __init__(self) -> None:
        self.value: str | None = None

    def put(self, key: str, value: str) -> None:
        if value == "refused":
            raise foreign.NotApplied("ConnectionRefusedError")
        if value == "lost":
            raise foreign.Unknown("TimeoutError", detail="read timed out")
        self.value = value

    def get(self, key: str) -> str | None:
        return self.value

    def cas(self, key: str, expected: str | None, new: str) -> None:
        if expected != self.value:
            raise foreign.CasMismatch()
        self.value = new

    def delete(self, key: str) -> None:
        self.value = None

    def close(self) -> None:
        pass


def test_recording_kv_records_ok_fail_and_info(tmp_path: Path) -> None:
    history = HistoryWriter(tmp_path / "h.jsonl")
    client = foreign.RecordingKv(FakeBackend(), history, "p", tenant="t", region="r")
    assert client.put("k", "a") == "ok"
    assert client.get("k") == "ok" and client.last == "a"
    assert client.cas("k", "zzz", "b") == "fail"
    assert client.put("k", "refused") == "fail"
    assert client.put("k", "lost") == "info"
    assert client.process == "p.1"  # the lost put may still land: a new process from now on
    assert client.delete("k") == "ok"
    history.close()
    events = [e for e in read_events(tmp_path / "h.jsonl") if e["type"] != "invoke"]
    kinds = [(e["f"], e["type"], e.get("error"), e.get("status")) for e in events]
    assert kinds == [("put", "ok", None, None), ("get", "ok", None, None), ("cas", "fail", "cas_mismatch", 409),
                     ("put", "fail", "ConnectionRefusedError", None), ("put", "info", "TimeoutError", None),
                     ("delete", "ok", None, None)]
    assert events[-1]["process"] == "p.1" and events[1]["value"] == "a"


def test_member_logs_become_json_log_entries() -> None:
    entry = etcd_line('{"level":"warn","ts":"2026-12-02T02:05:32.887Z","msg":"slow fdatasync"}')
    assert entry and entry["level"] == "WARNING" and isinstance(entry["ts"], float)
    assert etcd_line('{"level":"fatal","ts":"2026-12-02T02:05:32Z","msg":"x"}')["level"] == "CRITICAL"
    assert etcd_line("panic: runtime error") is None  # kept as is: the log scan reports it
    line = redis_line("23812:X 02 Dec 2026 01:59:53.448 # +sdown master tier7 127.0.0.1 48485")
    assert line and line["level"] == "WARNING" and line["msg"].startswith("+sdown")
    assert redis_line("not a redis line") is None


# -- real servers on loopback --

SHORT_ETCD = """
[workload]
workers = 6
keys = 30
max_operations = 6000
[etcd]
mix = { get = 40, put = 25, cas = 20, delete = 5, once = 10 }
fault = "kill-leader"
faults = 1
before_s = 6.0
hold_s = 0.0
after_s = 3.0
new_leader_timeout_s = 15.0
plain_s = 6.0
plain_min_ok = 800
plain_max_s = 25.0
"""

SHORT_REDIS = """
[workload]
workers = 6
keys = 30
max_operations = 8000
[redis-sentinel]
mix = { get = 20, put = 25, cas = 10, delete = 5, once = 40 }
fault = "pause-primary"
faults = 1
before_s = 3.0
hold_s = 5.0
after_s = 2.0
pace_s = 0.04
new_leader_timeout_s = 15.0
plain_s = 6.0
"""


ONE_ETCD_CLUSTER = (ROOT / "tier7" / "targets" / "etcd.toml").read_text().replace(
    'clusters = ["etcd-a", "etcd-b", "etcd-c"]', 'clusters = ["etcd-a"]').replace(
    "peer_via_proxy = true", "peer_via_proxy = false")


def verify(tmp_path: Path, kind: str, only: str, profile: str,
           layout: str | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "profile.toml").write_text(profile)
    env = {**os.environ, "TIER7_FOREIGN_PROFILE": str(tmp_path / "profile.toml")}
    if layout is not None:
        (tmp_path / "etcd.toml").write_text(layout)
        env["TIER7_ETCD_LAYOUT"] = str(tmp_path / "etcd.toml")
    out = subprocess.run([sys.executable, "-m", "tier7", "verify", "--target", kind, "--only", only, "--seed", "7",
                          "--out", str(tmp_path / "results"), "--status-file", str(tmp_path / "STATUS.md")],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    runs = [p for p in (tmp_path / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, out.stdout[-2000:] + out.stderr[-2000:]
    return out, runs[0]


def verdicts(run: Path) -> dict[str, dict]:
    return {v["id"]: v for v in json.loads((run / "verdicts.json").read_text())["criteria"]}


def no_leftovers(folder: Path) -> None:
    """Every process the driver started is gone (checked by PID and command line, as the driver does)."""
    state = json.loads((folder / foreign.STATE_FILE).read_text())
    for member, pid in state["pids"].items():
        marker = [state["argv"][member][0], state["tags"][member]]
        assert not foreign.processes.is_running(pid, marker), f"{member} (pid {pid}) still running"


def test_etcd_verify_passes_linearizable_and_no_lost_writes(tmp_path: Path) -> None:
    need("etcd", "etcd-server")
    assert 'clusters = ["etcd-a"]' in ONE_ETCD_CLUSTER and "peer_via_proxy = false" in ONE_ETCD_CLUSTER
    # one 3-member cluster: these two checks need no federation (tests/test_foreign_federation.py runs the
    # default 3 x 3 layout) and a 2-core machine running the suite serves 3 members far faster than 9
    out, run = verify(tmp_path, "etcd", "linearizable,no-lost-writes,preset", SHORT_ETCD, ONE_ETCD_CLUSTER)
    found = verdicts(run)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert found["linearizable"]["status"] == "PASS", found["linearizable"]
    assert found["no-lost-writes"]["status"] == "PASS", found["no-lost-writes"]
    assert found["preset"]["status"] == "NOT APPLICABLE" and "preset" in found["preset"]["reason"]
    no_leftovers(run / "etcd")


def test_redis_sentinel_failover_loses_acknowledged_writes(tmp_path: Path) -> None:
    need("redis-server", "redis-server")
    need("redis-sentinel", "redis-sentinel")
    out, run = verify(tmp_path, "redis-sentinel", "failover,no-lost-writes", SHORT_REDIS)
    found = verdicts(run)
    lost = found["no-lost-writes"]
    assert lost["status"] == "FAIL", lost  # a run without loss would be PASS/UNKNOWN: never forced
    assert out.returncode == 1
    assert lost["figures"]["write_once_lost"] > 0
    text = json.dumps(lost["evidence"])
    assert '"write_once": true' in text and "acknowledged_wall" in text
    failover = json.loads((run / "facts" / "failover.json").read_text())
    old_primary = failover["kills"][0]["node"]
    assert f'"node": "{old_primary}"' in text  # the writes the paused primary acknowledged are the lost ones
    no_leftovers(run / "redis-sentinel")


# -- the failover judge with the runner's own nemesis (no Chaos Toolkit journal) --


class StubAnalysis:
    """The analysis verdicts the failover judge reads: the failover checker's, and no journal verdict."""

    def __init__(self, status: Status) -> None:
        from analysis.verdict import Verdict

        self.verdicts = [Verdict("failover", status, "" if status is Status.PASS else "outage 9 s > 5 s", [],
                                 {"worst_outage_s": 1.2, "worst_election_s": 1.1})]


def failover_facts(tmp_path: Path, nemesis: str | None, exit_status: int = 0):
    from analysis.facts import RunFacts

    run = facts_folder(tmp_path, ["failover"], ["kv", "topology", "kill", "restart"], True)
    facts = {"experiments": [{"group": "etcd", "exit_status": exit_status}] * 3, "kills": []}
    if nemesis:
        facts["nemesis"] = nemesis
    (run / "facts" / "failover.json").write_text(json.dumps(facts))
    return RunFacts(run)


def test_failover_with_the_harness_nemesis_needs_no_journal(tmp_path: Path) -> None:
    from analysis.criteria.failover import judge

    assert judge(failover_facts(tmp_path / "a", "harness"), StubAnalysis(Status.PASS)).status is Status.PASS
    # the same facts from a Chaos Toolkit run without its journal: not judged a PASS
    assert judge(failover_facts(tmp_path / "b", None), StubAnalysis(Status.PASS)).status is Status.UNKNOWN
    # the checker's FAIL and a fault that did not apply still FAIL
    assert judge(failover_facts(tmp_path / "c", "harness"), StubAnalysis(Status.FAIL)).status is Status.FAIL
    assert judge(failover_facts(tmp_path / "d", "harness", 1), StubAnalysis(Status.PASS)).status is Status.FAIL
