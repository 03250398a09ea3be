"""`tier7 analyze` on synthetic run folders: outputs, exit status, one-line errors, journal-only windows."""

import json

from analysis.load import load_run
from tests.analysis_history import BASE_WALL, History, ns
from tier7.cli import main
from tier7.ring import HarnessRing

RING = {"epoch": 1, "hash": "sha256-64be", "vnodes": 16, "groups": ["g0", "g1"]}
NODES = [{"name": "n0", "group": "g0", "region": "r0", "url": "http://127.0.0.1:1"},
         {"name": "n1", "group": "g0", "region": "r1", "url": "http://127.0.0.1:2"},
         {"name": "m0", "group": "g1", "region": "r0", "url": "http://127.0.0.1:3"}]


def make_run(folder, lose_write=False, nemesis=True):
    ring = HarnessRing.from_contract(RING)
    h = History()
    keys = [f"k{i}" for i in range(8)]
    t = 0.0
    i = 0
    while t < 12.0:  # a put every 25 ms, round robin over the keys, except g0 is down 5.0 - 5.6
        key = keys[i % len(keys)]
        group = ring.group_for("t", key)
        if not (group == "g0" and 5.0 <= t < 5.6):
            h.put(f"w{i % 4}", f"v{i}", t, t + 0.01, key=key, group=group, node="n0" if group == "g0" else "m0")
        t += 0.025
        i += 1
    last = {}
    for event in h.events:
        if event["type"] == "ok":
            last[event["key"]] = event["value"]
    for j, key in enumerate(keys):  # the final read of every key
        value = last[key] if not (lose_write and j == 0) else "v0"
        h.get("reader", value, 12.5 + j * 0.01, 12.5 + j * 0.01 + 0.005, key=key, group=ring.group_for("t", key))
    h.put("probe", "x", 12.7, 12.71, tenant="t", key="k0", type="fail", status=403, error="forbidden",
          cross_tenant=True)
    h.put("other", "o", 12.8, 12.81, tenant="u", key="k0", group=ring.group_for("u", "k0"))
    h.get("other", "o", 12.85, 12.86, tenant="u", key="k0", group=ring.group_for("u", "k0"))
    if nemesis:
        h.nemesis("kill-leader", 5.0, 5.01, node="n0").nemesis("restart-node", 7.0, 7.5, node="n0")
    (folder / "history").mkdir(parents=True)
    with open(folder / "history" / "load-1.jsonl", "w") as out:
        for event in h.events:
            out.write(json.dumps({k: v for k, v in event.items() if v is not None and k != "source"}) + "\n")
    (folder / "target").mkdir()
    (folder / "target" / "ring.json").write_text(json.dumps(RING))
    (folder / "target" / "nodes.json").write_text(json.dumps(NODES))
    with open(folder / "topology.jsonl", "w") as out:
        for k in range(130):
            s = k / 10
            g0 = ("n0", 1) if s < 5.0 else (None, 2) if s < 5.4 else ("n1", 2)
            out.write(json.dumps({"time": ns(s), "wall": BASE_WALL + s, "groups": {
                "g0": {"leader": g0[0], "term": g0[1], "members": {}},
                "g1": {"leader": "m0", "term": 1, "members": {}}}}) + "\n")
    (folder / "logs").mkdir()
    (folder / "logs" / "n0.log").write_text(
        json.dumps({"ts": BASE_WALL + 1, "level": "INFO", "node": "n0", "event": "start", "msg": "up"}) + "\n")
    return folder


def test_analyze_writes_verdicts_csv_and_dashboard(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    assert main(["analyze", str(run)]) == 0
    out = capsys.readouterr().out
    assert "linearizability" in out and "F1 kill-leader on g0" in out
    document = json.loads((run / "analysis.json").read_text())
    verdicts = {v["name"]: v for v in document["verdicts"]}
    assert verdicts["linearizability"]["status"] == "PASS"
    assert verdicts["no-lost-writes"]["status"] == "PASS"
    assert verdicts["placement"]["status"] == "PASS"
    assert verdicts["tenant-isolation"]["status"] == "PASS"
    assert verdicts["failover"]["status"] == "PASS", verdicts["failover"]
    assert verdicts["chaos-experiments"]["status"] == "NOT APPLICABLE"
    outage = [r for r in document["metrics"]["outage"] if r["targeted"]]
    assert len(outage) == 1 and 0.6 <= outage[0]["outage_s"] <= 0.7
    assert (run / "analysis" / "outage.csv").is_file() and (run / "analysis" / "timeseries.csv").is_file()
    page = (run / "dashboard.html").read_text()
    assert "plotly" in page.lower() and 'id="timeline"' in page and 'id="outage"' in page


def test_analyze_exits_non_zero_on_fail(tmp_path, capsys):
    run = make_run(tmp_path / "run", lose_write=True)
    assert main(["analyze", str(run), "--no-dashboard"]) == 1
    document = json.loads((run / "analysis.json").read_text())
    verdicts = {v["name"]: v["status"] for v in document["verdicts"]}
    assert verdicts["no-lost-writes"] == "FAIL" and verdicts["linearizability"] == "FAIL"


def test_missing_or_invalid_run_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "empty")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    bad = tmp_path / "bad"
    (bad / "history").mkdir(parents=True)
    (bad / "history" / "x.jsonl").write_text("{bad\n{}\n")
    assert main(["analyze", str(bad)]) == 2
    assert "not a JSON history line" in capsys.readouterr().err


def test_windows_come_from_chaos_journals_when_there_are_no_nemesis_events(tmp_path):
    run = make_run(tmp_path / "run", nemesis=False)
    journal = {"status": "completed", "deviated": False, "experiment": {"title": "kill"},
               "steady_states": {"before": {"steady_state_met": True}, "after": {"steady_state_met": True}},
               "start": "2023-11-14T22:13:20+00:00",
               "run": [{"activity": {"type": "probe", "name": "leader"}, "status": "succeeded",
                        "start": iso(4.0), "end": iso(4.1)},
                       {"activity": {"type": "action", "name": "kill-leader",
                                     "provider": {"arguments": {"node": "n0"}}},
                        "status": "succeeded", "start": iso(5.0), "end": iso(5.01)}],
               "rollbacks": [{"activity": {"type": "action", "name": "restart-node",
                                           "provider": {"arguments": {"node": "n0"}}},
                              "status": "succeeded", "start": iso(7.0), "end": iso(7.5)}]}
    (run / "chaos" / "kill").mkdir(parents=True)
    (run / "chaos" / "kill" / "journal.json").write_text(json.dumps(journal))
    data = load_run(run)
    assert len(data.windows) == 1
    window = data.windows.iloc[0]
    assert window["fault"] == "kill-leader" and window["healed_by"] == "restart-node"
    assert abs(window["start_time"] - ns(5.0)) < 2e6 and abs(window["end_time"] - ns(7.5)) < 2e6
    assert any("journals" in note for note in data.notes)


def iso(seconds):
    import datetime

    return datetime.datetime.fromtimestamp(BASE_WALL + seconds, tz=datetime.UTC).isoformat()


def test_run_folder_without_operations_gives_no_pass(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "history").mkdir(parents=True)
    (run / "history" / "nemesis-1.jsonl").write_text(json.dumps(
        {"type": "invoke", "process": "nemesis", "op": 1, "f": "kill-leader", "time": 5, "wall": 1.0}) + "\n")
    assert main(["analyze", str(run), "--no-dashboard"]) == 0
    statuses = {v["name"]: v["status"] for v in json.loads((run / "analysis.json").read_text())["verdicts"]}
    assert "PASS" not in statuses.values(), statuses
    assert main(["analyze", str(run), "--no-dashboard", "--strict"]) == 1
