"""Issue 17, web UI (pure logic on hand-made run folders): the leader-change log, the Faults tab in
human terms, the "setting up" state instead of the start form, readable failure messages, the status
line after STOP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

from tier7.load.messages import ReadableFailure, describe
from tier7.load.target import normalized_hosts
from tier7.load.webui import FaultReader, TopologyReader, setup_state, status, utc_ms

WALL = 1764633600.0  # 2025-12-02T00:00:00Z


def sample(wall: float, leaders: dict[str, str | None], term: int) -> str:
    groups = {g: {"leader": leader, "term": term, "members": {f"{g}-us-east": "leader" if leader else "candidate"}}
              for g, leader in leaders.items()}
    return json.dumps({"time": int(wall * 1e9), "wall": wall, "half_width_ns": 1000, "groups": groups}) + "\n"


def test_topology_tab_keeps_a_leader_change_log(tmp_path: Path) -> None:
    path = tmp_path / "topology.jsonl"
    path.write_text(sample(WALL, {"g0": "g0-us-east", "g1": "g1-us-east"}, 2))
    reader = TopologyReader(tmp_path)
    rows = reader.rows()
    assert [r["leader"] for r in rows[:2]] == ["g0-us-east", "g1-us-east"]
    assert any(r["leader"] == "none so far" for r in rows)
    with open(path, "a") as out:  # an election: no leader for a sample, then a new one at a higher term
        out.write(sample(WALL + 1, {"g0": "g0-us-east", "g1": None}, 3))
        out.write(sample(WALL + 1.5, {"g0": "g0-us-east", "g1": "g1-eu-west"}, 3))
        out.write('{"torn')  # a line still being written waits
    rows = reader.rows()
    changes = [r for r in rows if r["members"] == "leader change"]
    assert changes == [{"group": "g1", "leader": "g1-us-east → g1-eu-west", "term": 3, "members": "leader change",
                        "time": "00:00:01.500"}]
    assert rows[1]["leader"] == "g1-eu-west" and "sampled 00:00:01.500" in rows[1]["time"]


def nemesis(path: Path, events: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_faults_tab_reads_like_a_person_wrote_it(tmp_path: Path) -> None:
    history = tmp_path / "history"
    nemesis(history / "load-w0-1.jsonl", [{"type": "invoke", "process": "w0-u0", "f": "put", "op": 0, "wall": WALL}])
    nemesis(history / "nemesis-77.jsonl", [
        {"type": "invoke", "process": "nemesis", "op": 0, "f": "kill-leader", "wall": WALL + 2.0,
         "value": {"activity": "action", "phase": "method", "name": "kill-leader-of-group",
                   "arguments": {"group": "g1"}}},
        {"type": "ok", "process": "nemesis", "op": 0, "f": "kill-leader", "wall": WALL + 2.25, "node": "g1-us-east",
         "group": "g1", "value": {"phase": "method", "node": "g1-us-east", "applied": True}},
        {"type": "invoke", "process": "nemesis", "op": 1, "f": "restart-node", "wall": WALL + 9.0,
         "value": {"phase": "rollbacks", "name": "restart", "arguments": {"node": "g1-us-east"}}},
        {"type": "fail", "process": "nemesis", "op": 1, "f": "restart-node", "wall": WALL + 9.5,
         "error": "node did not come back", "value": {"phase": "rollbacks", "applied": False}},
    ])
    rows = FaultReader(tmp_path).rows()
    assert rows[0] == {"fault": "kill-leader", "target": "g1-us-east (group g1)", "started": "00:00:02.000",
                       "ended": "00:00:02.250", "duration": "0.250 s", "outcome": "applied",
                       "details": "method: kill-leader-of-group"}
    assert rows[1]["outcome"] == "FAILED: node did not come back" and rows[1]["target"] == "g1-us-east"
    assert not any("{" in str(v) for row in rows for v in row.values()), "no raw JSON in the Faults tab"
    assert FaultReader(tmp_path / "empty").rows()[0]["fault"] == "none injected so far"


def test_setup_state_replaces_the_start_form() -> None:
    session = SimpleNamespace(phase="setting up", setup_progress=(412, 1001), error=None)
    assert setup_state(session, "ready") == "setting up (tenants 412/1001)"
    assert setup_state(session, "stopped") == "setting up (tenants 412/1001)"  # a second START
    assert setup_state(session, "spawning") == "setting up (tenants 412/1001)"  # listener still creating
    assert setup_state(session, "running") == "running"
    session.error = "cannot create tenant"
    assert setup_state(session, "stopped") == "stopped"  # a failed setup must not hide the stop
    session.phase, session.error = "finished", None
    assert setup_state(session, "ready") == "ready"


def test_status_line_after_stop_names_the_folder_and_analyze(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "results" / "20260101T000000Z-load"
    run_dir.mkdir(parents=True)
    target = SimpleNamespace(source="results/testbed/cluster.json", nodes=[1, 2, 3],
                             describe=lambda: {"kind": "testbed"})
    session = SimpleNamespace(phase="finished", target=target, run_dir=run_dir, error=None, setup_progress=None)
    said = status(session)
    assert said["analyze"] == "tier7 analyze results/20260101T000000Z-load"
    assert "run folder results/20260101T000000Z-load" in said["message"] and said["analyze"] in said["message"]
    session.phase, session.setup_progress = "setting up", (5, 20)
    assert "setting up (tenants 5/20)" in status(session)["message"]


def test_failure_messages_are_readable() -> None:
    assert describe("fail", "ConnectionRefusedError", "g1-us-east") == "connection refused (g1-us-east)"
    assert describe("info", "TimeoutError", "g0-eu-west") == "outcome unknown: timed out (g0-eu-west)"
    assert describe("fail", "http_500", "g2-ap-south", 500) == "HTTP 500 (g2-ap-south)"
    # Locust's Failures tab shows repr(exception)
    assert repr(ReadableFailure("connection refused (g1-us-east)")) == "connection refused (g1-us-east)"
    session = (Path(__file__).parents[1] / "tier7" / "load" / "session.py").read_text()  # no locust import here
    assert re.search(r"class RecordedFailure\(ReadableFailure\)", session)
    assert re.search(r"class IsolationLeak\(ReadableFailure\)", session)


def test_host_field_lists_compare_as_endpoint_lists() -> None:
    assert normalized_hosts(" http://127.0.0.1:1/, http://127.0.0.1:2 ") == "http://127.0.0.1:1,http://127.0.0.1:2"
    assert normalized_hosts(None) == ""
    assert utc_ms(WALL + 0.0429) == "00:00:00.042"


def test_topology_tab_counts_running_users_per_region() -> None:
    from collections import Counter

    from tier7.load.webui import users_row

    row = users_row(Counter({"us-east": 34, "eu-west": 33, "ap-south": 0}))
    assert row["leader"] == "per region: eu-west 33 · us-east 34" and row["members"] == "67 in all"
    assert users_row(Counter())["leader"] == "per region: none running"


def test_a_closed_client_leaves_the_region_count_once(tmp_path) -> None:
    from collections import Counter

    from tier7.client import RecordingClient
    from tier7.history import HistoryWriter

    users = Counter({"eu-west": 1})
    client = RecordingClient("http://127.0.0.1:9", None, HistoryWriter(tmp_path / "h.jsonl"), "p0",
                             region="eu-west", on_close=lambda: users.subtract(["eu-west"]))
    client.close()
    client.close()
    assert users["eu-west"] == 0
