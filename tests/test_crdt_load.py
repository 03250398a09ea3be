"""The CRDT side of the recording client and of the load, without a cluster: a fake node answers the
contract's CRDT calls; the history must carry what the checker recomputes merges from (type, op id,
timestamp, removed tags, final flag), op ids must be unique, and bad options are one-line errors."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from analysis.load import read_history
from analysis.ops import crdt_operations
from tier7.client import RecordingClient
from tier7.errors import Tier7Error
from tier7.history import HistoryWriter
from tier7.load.crdt import CrdtWriter, crdt_available
from tier7.load.options import DEFAULTS, LoadOptions


class FakeNode:
    """Answers ``POST/GET /v1/crdt/{type}/{key}`` like the contract (one replica, no replication)."""

    host_header = "127.0.0.1:9"
    url = "http://127.0.0.1:9"

    def __init__(self) -> None:
        self.tags: dict[tuple[str, str], list[str]] = {}
        self.clock = 0

    def exchange(self, request: bytes, method: str) -> tuple[int, bytes]:
        head, _, payload = request.partition(b"\r\n\r\n")
        path = head.split(b" ")[1].decode()
        _, _, _, kind, key = path.split("/")
        common = {"region": "us-east", "node": "n0", "type": kind, "key": key}
        if method == "GET":
            value: Any = {"counter": 3, "set": sorted({e for (k, e), t in self.tags.items() if k == key and t}),
                          "register": "v"}[kind]
            extra = {"timestamp": [5, 0, "n0"]} if kind == "register" else {}
            return 200, json.dumps({**common, "value": value, "version_vector": {"n0": 1}, **extra}).encode()
        body = json.loads(payload)
        if body.get("op") not in ("inc", "add", "remove", "set"):
            return 400, b'{"error": {"code": "invalid_op"}}'
        answer = {**common, "op_id": body["op_id"]}
        if body["op"] == "set":
            self.clock += 1
            answer["timestamp"] = [1000 + self.clock, 0, "n0"]
        elif body["op"] == "add":
            self.tags.setdefault((key, body["element"]), []).append(body["op_id"])
            answer["tag"] = body["op_id"]
        elif body["op"] == "remove":
            answer["removed_tags"] = sorted(self.tags.pop((key, body["element"]), []))
        return 200, json.dumps(answer).encode()

    def close(self) -> None:
        pass


def client(tmp_path: Path) -> tuple[RecordingClient, HistoryWriter]:
    history = HistoryWriter(tmp_path / "history" / "load-w0-1.jsonl")
    c = RecordingClient("http://127.0.0.1:9", "token", history, "w0-u1", region="us-east", tenant="t")
    c.connection = FakeNode()  # type: ignore[assignment]
    return c, history


def test_writer_records_what_the_checker_needs(tmp_path):
    c, history = client(tmp_path)
    writer = CrdtWriter(c, random.Random(7), keys_per_type=2, read_ratio=0.1)
    for _ in range(300):
        assert writer.step().ok
    c.crdt_read("set", "crdt-set-0", final=True)
    history.close()
    ops = crdt_operations(read_history(tmp_path))
    writes = ops[ops["f"] != "crdt_read"]
    assert set(writes["f"]) == {"crdt_inc", "crdt_add", "crdt_remove", "crdt_set"}
    assert writes["op_id"].is_unique and writes["op_id"].notna().all()
    assert set(ops["key"]) <= {f"crdt-{t}-{i}" for t in ("counter", "set", "register") for i in range(2)}
    sets = writes[writes["f"] == "crdt_set"]
    assert all(isinstance(ts, list) and len(ts) == 3 for ts in sets["timestamp"])
    assert (sets["value_in"] == sets["op_id"]).all()  # register values are unique: every read is traceable
    removes = writes[writes["f"] == "crdt_remove"]
    assert all(isinstance(tags, list) for tags in removes["removed_tags"])
    final = ops[ops["final"] == True]  # noqa: E712 - object column
    assert len(final) == 1 and final["crdt"].iloc[0] == "set" and isinstance(final["value_out"].iloc[0], list)
    assert set(ops["region"]) == {"us-east"} and set(ops["tenant"]) == {"t"}


def test_refused_crdt_write_is_fail(tmp_path):
    c, history = client(tmp_path)
    result = c._crdt("crdt_inc", "counter", "k", {"op": "bogus", "op_id": "x"}, 1, "x")
    assert result.type == "fail" and result.error == "invalid_op"


def test_crdt_keys_option_is_validated():
    LoadOptions.from_parsed(None)  # defaults are valid
    args = type("Args", (), {**DEFAULTS, "crdt_keys": 0})()
    with pytest.raises(Tier7Error, match="--crdt-keys"):
        LoadOptions.from_parsed(args)


def test_crdt_available_reads_the_published_config(tmp_path):
    assert not crdt_available(tmp_path)
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "config.json").write_text(json.dumps({"features": {"crdt": {"available": False}}}))
    assert not crdt_available(tmp_path)
    (tmp_path / "target" / "config.json").write_text(json.dumps({"features": {"crdt": {"available": True}}}))
    assert crdt_available(tmp_path)
