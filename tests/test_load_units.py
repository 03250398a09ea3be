"""Pure logic of the recorded load: option checks, redaction, the pairing check (which must be able to
fail), the web UI tabs' readers, target files. No Locust import here (it would gevent-patch pytest)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tier7 import runfolder
from tier7.errors import Tier7Error
from tier7.history import HistoryWriter, load_history
from tier7.load.options import LoadOptions
from tier7.load.summary import nothing_recorded, pairing_problems, summarize
from tier7.load.target import from_file
from tier7.load.tenants import tenant_names, tenant_prefix
from tier7.load.webui import FaultReader, TopologyReader


def test_options_are_validated_with_one_line_messages():
    ok = LoadOptions.from_parsed(SimpleNamespace(tenants="20", read_ratio="0.3", seed=None))  # web UI sends strings
    assert (ok.tenants, ok.read_ratio, ok.keyspace) == (20, 0.3, 1000)
    for bad, words in (({"tenants": 0}, "--tenants"), ({"read_ratio": 0.9, "cas_ratio": 0.2}, "must not exceed"),
                       ({"keyspace": "many"}, "--keyspace must be a int"), ({"op_timeout": 0}, "--op-timeout")):
        with pytest.raises(Tier7Error, match=words):
            LoadOptions.from_parsed(SimpleNamespace(**bad))


def test_secrets_are_redacted_from_command_lines_and_files(tmp_path):
    argv = ["tier7", "load", "--admin-token", "s3cret", "--api-token=abc", "--target-file", "x/s3cret.json"]
    assert runfolder.redact_argv(argv, ["s3cret"]) == ["tier7", "load", "--admin-token", "[REDACTED]",
                                                       "--api-token=[REDACTED]", "--target-file", "x/[REDACTED].json"]
    runfolder.write_json(tmp_path / "a.json", {"token": "s3cret"}, ["s3cret"])
    assert "s3cret" not in (tmp_path / "a.json").read_text()


def test_pairing_check_catches_missing_duplicate_and_early_completions(tmp_path):
    writer = HistoryWriter(tmp_path / "history" / "h.jsonl")
    writer.append({"type": "invoke", "process": "a", "op": 1, "f": "put", "time": 10})   # never completed
    writer.append({"type": "invoke", "process": "b", "op": 1, "f": "put", "time": 11})
    writer.append({"type": "ok", "process": "b", "op": 1, "f": "put", "time": 12})
    writer.append({"type": "info", "process": "b", "op": 1, "f": "put", "time": 13})    # a second completion
    writer.append({"type": "ok", "process": "c", "op": 1, "f": "get", "time": 20})
    writer.append({"type": "invoke", "process": "c", "op": 1, "f": "get", "time": 21})  # completed before invoked
    writer.append({"type": "invoke", "process": "nemesis", "op": 1, "f": "kill", "time": 22})  # nemesis: ignored
    writer.close()
    problems = pairing_problems(load_history(tmp_path))
    assert any(p.startswith("a op 1: 1 invoke(s), 0 completion(s)") for p in problems)
    assert any(p.startswith("b op 1: 1 invoke(s), 2 completion(s)") for p in problems)
    assert any("before their invoke" in p for p in problems)
    assert summarize(tmp_path)["invokes"] == 3


def test_fault_tab_reads_nemesis_events_incrementally(tmp_path):
    history = tmp_path / "history"
    history.mkdir()
    (history / "load-w0-1.jsonl").write_text(json.dumps({"type": "invoke", "process": "w0-u1", "op": 1}) + "\n")
    reader = FaultReader(tmp_path)
    assert reader.rows()[0]["fault"] == "none injected so far"
    nemesis = history / "nemesis-7.jsonl"
    nemesis.write_text(json.dumps({"type": "invoke", "process": "nemesis", "op": 1, "f": "kill-leader",
                                   "wall": 100.0, "value": {"node": "g0-us-east"}}) + "\n")
    assert [(r["fault"], r["outcome"]) for r in reader.rows()] == [("kill-leader", "in progress")]
    with open(nemesis, "a") as out:
        out.write(json.dumps({"type": "ok", "process": "nemesis", "op": 1, "f": "kill-leader", "wall": 101.0}) + "\n")
        out.write('{"type": "inv')  # torn line: waits for the next poll
    row = reader.rows()[0]
    assert (row["outcome"], row["ended"], row["target"]) == ("applied", "00:01:41.000", "g0-us-east")


def test_topology_tab_rows(tmp_path):
    assert TopologyReader(tmp_path).rows()[0]["leader"] == "no topology sample yet"
    sample = {"time": 1, "wall": 1.0, "groups": {"g1": {"leader": None, "term": 3, "members": {"g1-a": "candidate"}},
                                                 "g0": {"leader": "g0-a", "term": 2, "members": {"g0-a": "leader"}}}}
    (tmp_path / "topology.jsonl").write_text(json.dumps(sample) + "\n")
    rows = TopologyReader(tmp_path).rows()
    assert [(r["group"], r["leader"], r["term"]) for r in rows[:2]] == [("g0", "g0-a", 2), ("g1", "NONE (election?)", 3)]


def test_target_files_and_tenant_names(tmp_path):
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"admin_token": "adm", "secret": "sec", "nodes": [
        {"name": "n1", "group": "g0", "region": "r1", "host": "127.0.0.1", "http_port": 1, "dir": "/x/n1"}]}))
    target = from_file(path)
    assert (target.kind, target.nodes[0].url, target.admin_token) == ("testbed", "http://127.0.0.1:1", "adm")
    assert set(target.secrets) == {"adm", "sec"} and str(target.log_files["n1"]) == "/x/n1/node.log"
    path.write_text(json.dumps({"nodes": [{"name": "n1"}]}))
    with pytest.raises(Tier7Error, match="needs name, group, region and url"):
        from_file(path)
    assert tenant_prefix("/r/a", 1.5) == tenant_prefix("/r/a", 1.5) != tenant_prefix("/r/b", 1.5)
    assert tenant_prefix("/r/a", 1.5) != tenant_prefix("/r/a", 2.5)  # the same folder again: new tenants
    names = tenant_names(tenant_prefix("/r/a", 1.5), 3)
    assert len(set(names)) == 3 and all(len(n) <= 64 and n[0].isalnum() for n in names)


def test_a_run_that_started_users_and_recorded_nothing_is_an_error():
    """A worker that crashed before its first request left a run with no operation that exited 0."""
    summary = {"invokes": 0}
    assert "recorded no operation although 20 user(s)" in nothing_recorded(summary, 20)
    assert nothing_recorded({"invokes": 1}, 20) is None
    assert nothing_recorded(summary, 0) is None
