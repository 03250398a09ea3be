"""The recording client's outcome rules (invoke, then exactly one of ok / fail / info) against a scripted
HTTP server on loopback: statuses, refused connections, timeouts and resets after sending."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from tier7.client import RecordingClient, classify
from tier7.history import HistoryWriter, read_events
from tier7.load.workers import free_port


class ScriptedServer:
    """Answers each request with the next scripted reply: (status, body dict) | "hang" | "reset"."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.replies: list = []
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buffer = rest[length:]
                reply = self.replies.pop(0)
                if reply == "hang":
                    self._stop.wait(3)
                    return
                if reply == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                status, body = reply
                data = json.dumps(body).encode()
                conn.sendall(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                             % (status, len(data), data))

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.listener.close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def events_of(path):
    return list(read_events(path))


def error(code: str) -> dict:
    return {"error": {"code": code, "message": code}, "node": "n1", "group": "g1"}


def test_statuses_map_to_outcomes(server, tmp_path):
    path = tmp_path / "h.jsonl"
    client = RecordingClient(f"http://127.0.0.1:{server.port}", "tok-secret", HistoryWriter(path), "p", region="us-east")
    server.replies += [
        (200, {"key": "k", "version": 7, "node": "n1", "group": "g1"}),      # put ok
        (200, {"key": "k", "value": "v", "node": "n2", "group": "g1"}),      # get ok
        (404, error("not_found")),                                          # get of an absent key: ok None
        (409, {**error("cas_mismatch"), "current": "x"}),                   # cas did not apply: fail
        (503, error("unavailable")),                                        # definitely not applied: fail
        (403, error("forbidden")),                                          # refused: fail
        (504, error("outcome_unknown")),                                    # unknown: info
        (500, error("internal")),                                           # a bug, may have applied: info
    ]
    put = client.put("k", "v")
    assert (put.type, put.node, put.group, put.status) == ("ok", "n1", "g1", 200)
    assert client.get("k").value == "v"
    absent = client.get("missing")
    assert (absent.type, absent.value) == ("ok", None)
    cas = client.cas("k", "old", "new")
    assert (cas.type, cas.error) == ("fail", "cas_mismatch")
    assert (client.put("k", "v2").type, client.get("k", tenant="other", cross_tenant=True).error) == ("fail", "forbidden")
    assert client.put("k", "v3").type == "info"
    assert client.process == "p.1"  # an operation may still be in flight: continue as a new process
    assert client.put("k", "v4").type == "info"
    client.close()
    assert b"authorization: bearer tok-secret" in server.requests[0].lower()
    events = events_of(path)
    assert [e["type"] for e in events[::2]] == ["invoke"] * 8
    completions = events[1::2]
    assert [e["type"] for e in completions] == ["ok", "ok", "ok", "fail", "fail", "fail", "info", "info"]
    assert [(e["process"], e["op"]) for e in completions][-2:] == [("p", 7), ("p.1", 1)]
    assert all(e["protocol"] == "h1" and e["region"] == "us-east" and e["latency_ms"] >= 0 for e in completions)
    assert completions[0]["version"] == 7 and completions[2].get("value") is None
    assert events[6]["value"] == ["old", "new"]  # a cas invoke records [expected, new]
    assert completions[5]["cross_tenant"] is True and completions[5]["tenant"] == "other"
    assert "tok-secret" not in path.read_text()


def test_refused_connection_is_fail_and_lost_answers_are_info(server, tmp_path):
    path = tmp_path / "h.jsonl"
    history = HistoryWriter(path)
    port = free_port()  # nothing listens there
    refused = RecordingClient(f"http://127.0.0.1:{port}", None, history, "r").get("k")
    assert (refused.type, refused.error) == ("fail", "ConnectionRefusedError")

    client = RecordingClient(f"http://127.0.0.1:{server.port}", None, history, "c", timeout=0.3)
    server.replies += ["hang", "reset", (200, {"value": "v"})]
    timed_out = client.put("k", "v")
    assert (timed_out.type, timed_out.error) == ("info", "TimeoutError")
    reset = client.put("k", "v")
    assert reset.type == "info"
    assert client.get("k").type == "ok"  # a fresh connection after the broken ones
    assert [e["process"] for e in events_of(path) if e["type"] != "invoke"] == ["r", "c", "c.1", "c.2"]


def test_create_tenant_never_records_the_token(server, tmp_path):
    path = tmp_path / "h.jsonl"
    client = RecordingClient(f"http://127.0.0.1:{server.port}", "admin-secret", HistoryWriter(path), "s")
    server.replies.append((201, {"tenant": "acme", "created": True, "token": "tk.acme.SECRET", "node": "n"}))
    result = client.create_tenant("acme")
    assert result.ok and result.body["token"] == "tk.acme.SECRET"
    text = path.read_text()
    assert "SECRET" not in text and "admin-secret" not in text
    assert events_of(path)[-1]["created"] is True


def test_classify_table():
    assert [classify("get", s) for s in (200, 404, 409, 503, 504, 500, 502)] == \
        ["ok", "ok", "fail", "fail", "info", "info", "info"]
    assert classify("put", 404) == "fail"


def test_refused_connections_back_off_before_the_invoke_and_an_answer_resets(server, tmp_path):
    path = tmp_path / "h.jsonl"
    history = HistoryWriter(path)
    port = free_port()  # nothing listens there
    client = RecordingClient(f"http://127.0.0.1:{port}", None, history, "b", reconnect_backoff_s=0.05)
    for _ in range(5):
        assert client.get("k").error == "ConnectionRefusedError"
    invokes = [e["time"] for e in events_of(path) if e["type"] == "invoke"]
    gaps_s = [(b - a) / 1e9 for a, b in zip(invokes, invokes[1:], strict=False)]
    # waits double from 0.05 s (0.05, 0.1, 0.2, 0.4) and are not part of any operation's latency
    assert [round(g, 2) >= want for g, want in zip(gaps_s, (0.05, 0.1, 0.2, 0.4), strict=True)] == [True] * 4
    assert all(e["latency_ms"] < 50 for e in events_of(path) if e["type"] == "fail")
    assert client.refused_in_a_row == 5

    client.connection = RecordingClient(f"http://127.0.0.1:{server.port}", None, history, "x").connection
    server.replies += [(200, {"value": "v"})]
    assert client.get("k").ok
    assert client.refused_in_a_row == 0
