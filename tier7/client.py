"""The recording client: calls the contract's KV and tenant endpoints and records every call in the history.

Each call appends an ``invoke`` before anything is sent and exactly one completion after:

- ``ok``: the target answered success (a read of an absent key is an ``ok`` read of ``None``);
- ``fail``: the target certainly did not apply it: connection refused or timed out *before* the request
  was sent, 503 ``unavailable``, any other 4xx (401/403 refused, 409 ``cas_mismatch``, bad input);
- ``info``: the outcome is unknown: a timeout, reset or truncated answer *after* the request was sent,
  504 ``outcome_unknown``, and any other 5xx.

After an ``info`` the operation may still take effect later, so (Jepsen's convention) the client continues
under a fresh process name (``w0-u17`` -> ``w0-u17.1``): a process never has two operations outstanding.

HTTP/1.1 over gevent sockets (geventhttpclient's connection pool and C response parser, as Locust's
FastHttpUser uses), one keep-alive connection per node, no automatic retries (a silent retry would hide
a second attempt from the history). Works inside Locust and in plain Python. Times are in milliseconds
(``latency_ms``) and seconds (timeouts).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from geventhttpclient.connectionpool import ConnectionPool
from geventhttpclient.response import HTTPParseError, HTTPResponse

from .history import HistoryWriter, now_ns

PROTOCOL = "h1"
# Fields of a CRDT answer the history keeps on the ok completion (docs/contract.md, CRDT keys).
CRDT_ANSWER_FIELDS = ("timestamp", "removed_tags", "version_vector")
MAX_RECONNECT_BACKOFF_S = 0.5


@dataclass(slots=True)
class Result:
    """One completed call: ``type`` is ok | fail | info; ``value`` what was read or written."""

    f: str
    type: str
    status: int | None
    value: Any
    error: str | None
    latency_ms: float
    node: str | None = None
    group: str | None = None
    body: dict[str, Any] | None = None
    length: int = 0
    cross_tenant: bool = False

    @property
    def ok(self) -> bool:
        return self.type == "ok"


class _Pool(ConnectionPool):
    def after_connect(self, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small requests must not wait for Nagle


class NodeConnection:
    """One keep-alive HTTP/1.1 connection to one node (``url`` like ``http://127.0.0.1:8001``)."""

    def __init__(self, url: str, timeout: float = 5.0, connect_timeout: float = 2.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"node URL must look like http://host:port, not {url!r}")
        self.url = url.rstrip("/")
        self.host_header = f"{parts.hostname}:{parts.port}"
        self.pool = _Pool(parts.hostname, parts.port, parts.hostname, parts.port, size=1,
                          connection_timeout=connect_timeout, network_timeout=timeout)

    def exchange(self, request: bytes, method: str) -> tuple[int, bytes]:
        """Send one request; returns ``(status, body)``.

        Raises ``_NotSent`` when no connection could be made (nothing was sent) and ``_Lost`` when the
        connection failed after sending began (the answer is unknown). The socket goes back to the pool
        only after a complete keep-alive answer; otherwise it is closed, exactly once.
        """
        try:
            sock = self.pool.get_socket()
        except (OSError, RuntimeError) as exc:  # refused, unreachable, connect timeout, DNS
            raise _NotSent(exc.__class__.__name__) from None
        answer = _Answer(method)
        try:
            sock.sendall(request)
            while not answer.message_complete:
                data = sock.recv(65536)
                if not data:
                    raise _Lost("ConnectionClosed")
                answer.feed(data)
        except (OSError, HTTPParseError) as exc:  # timeout, reset, truncated or garbled answer
            self.pool.release_socket(sock)
            raise _Lost(exc.__class__.__name__) from None
        except BaseException:
            self.pool.release_socket(sock)
            raise
        if answer.should_close():
            self.pool.release_socket(sock)
        else:
            self.pool.return_socket(sock)
        return answer.status_code, b"".join(answer.chunks)

    def close(self) -> None:
        self.pool.close()


class _Answer(HTTPResponse):
    """geventhttpclient's C (llhttp) response parser, collecting the body."""

    def __init__(self, method: str) -> None:
        super().__init__(method=method)
        self.chunks: list[bytes] = []

    def _on_body(self, buf: bytes | bytearray) -> None:
        self.chunks.append(bytes(buf))


class _NotSent(Exception):
    pass


class _Lost(Exception):
    pass


Reporter = Callable[[Result, str], None]


def classify(f: str, status: int) -> str:
    """Completion type for an HTTP answer to operation ``f`` (see module docstring)."""
    if 200 <= status < 300:
        return "ok"
    if status == 404 and f == "get":
        return "ok"
    if status == 503 or 400 <= status < 500:
        return "fail"
    return "info"


def kv_path(key: str, tenant: str | None = None) -> str:
    encoded = quote(key, safe="")
    return f"/v1/tenants/{quote(tenant, safe='')}/kv/{encoded}" if tenant else f"/v1/kv/{encoded}"


class RecordingClient:
    """Calls one entry node with one token as history process ``process``; every call is recorded.

    ``tenant`` names the token's tenant: recorded on calls to the caller's own keyspace; a call that names
    another tenant records that tenant and ``caller``. ``region`` is recorded on each event (the entry
    node's region: where the client "is").
    ``reporter(result, name)``, when given, is called after each completion (Locust statistics).
    ``reconnect_backoff_s`` > 0: after a call that could not be sent (node down), the next call waits first,
    doubling from that many seconds up to ``MAX_RECONNECT_BACKOFF_S`` (as real client libraries do), so a
    user whose entry node is dead does not spin thousands of refused connections per second. The wait is
    before the ``invoke``: it never counts as latency. 0 (the default) never waits.
    Not for concurrent use: one client per simulated user (one operation outstanding per process).
    """

    def __init__(self, url: str, token: str | None, history: HistoryWriter, process: str,
                 region: str | None = None, timeout: float = 5.0, reporter: Reporter | None = None,
                 tenant: str | None = None, reconnect_backoff_s: float = 0.0,
                 on_close: Callable[[], None] | None = None) -> None:
        self.connection = NodeConnection(url, timeout=timeout)
        self.on_close = on_close  # told once, at the first close (the web UI counts live users per region)
        self.reconnect_backoff_s = reconnect_backoff_s
        self.refused_in_a_row = 0
        self.token = token
        self.tenant = tenant
        self.history = history
        self.base_process = process
        self.process = process
        self.region = region
        self.reporter = reporter
        self.crashes = 0
        # JSON bodies as ASCII with \u escapes (True) or as raw UTF-8 (False): the load uses both, so a
        # target bug in either decoding path is reachable.
        self.ascii_json = True

    # -- operations --

    def put(self, key: str, value: str, tenant: str | None = None, cross_tenant: bool = False,
            once: bool = False) -> Result:
        """Write ``value``; ``once`` marks a write-once key (recorded: the no-lost-writes check lists them)."""
        body = {"value": value}
        return self._call("put", "PUT", kv_path(key, tenant), body, key, tenant, value, cross_tenant,
                          {"once": True} if once else None)

    def get(self, key: str, tenant: str | None = None, consistency: str = "linearizable",
            cross_tenant: bool = False) -> Result:
        """Read; a non-linearizable read records its ``consistency`` (the register checkers skip it)."""
        path = kv_path(key, tenant) + ("" if consistency == "linearizable" else f"?consistency={consistency}")
        extra = None if consistency == "linearizable" else {"consistency": consistency}
        return self._call("get", "GET", path, None, key, tenant, None, cross_tenant, extra)

    def cas(self, key: str, expected: str | None, value: str, tenant: str | None = None,
            cross_tenant: bool = False) -> Result:
        body = {"expected": expected, "value": value}
        return self._call("cas", "POST", kv_path(key, tenant) + "/cas", body, key, tenant, [expected, value],
                          cross_tenant)

    def delete(self, key: str, tenant: str | None = None, cross_tenant: bool = False) -> Result:
        return self._call("delete", "DELETE", kv_path(key, tenant), None, key, tenant, None, cross_tenant)

    # -- CRDT operations (contract v2: every node holds a replica; acknowledged once applied locally) --

    def crdt_inc(self, key: str, delta: int, op_id: str) -> Result:
        """Add ``delta`` (an integer, may be negative) to PN-counter ``key``; recorded as f ``crdt_inc``."""
        return self._crdt("crdt_inc", "counter", key, {"op": "inc", "delta": delta, "op_id": op_id}, delta, op_id)

    def crdt_add(self, key: str, element: str, op_id: str) -> Result:
        """Add ``element`` to OR-set ``key`` (its tag is ``op_id``); recorded as f ``crdt_add``."""
        return self._crdt("crdt_add", "set", key, {"op": "add", "element": element, "op_id": op_id}, element, op_id)

    def crdt_remove(self, key: str, element: str, op_id: str) -> Result:
        """Remove ``element`` from OR-set ``key``; the ``ok`` completion records the ``removed_tags``."""
        return self._crdt("crdt_remove", "set", key, {"op": "remove", "element": element, "op_id": op_id},
                          element, op_id)

    def crdt_set(self, key: str, value: str, op_id: str) -> Result:
        """Write LWW register ``key``; the ``ok`` completion records the write's ``timestamp``."""
        return self._crdt("crdt_set", "register", key, {"op": "set", "value": value, "op_id": op_id}, value, op_id)

    def crdt_read(self, crdt: str, key: str, final: bool = False) -> Result:
        """Read the serving node's replica of ``key`` (``crdt``: counter | set | register); the ``ok``
        completion records the value, the register's ``timestamp`` and the ``version_vector``. ``final``
        marks the reads taken after the writers stopped (the convergence check reads those)."""
        path = f"/v1/crdt/{quote(crdt, safe='')}/{quote(key, safe='')}"
        fields: dict[str, Any] = {"crdt": crdt, **({"final": True} if final else {})}
        return self._call("crdt_read", "GET", path, None, key, None, None, False, fields)

    def _crdt(self, f: str, crdt: str, key: str, body: dict[str, Any], value: Any, op_id: str) -> Result:
        path = f"/v1/crdt/{quote(crdt, safe='')}/{quote(key, safe='')}"
        return self._call(f, "POST", path, body, key, None, value, False, {"crdt": crdt, "op_id": op_id})

    def create_tenant(self, name: str) -> Result:
        """Create (or re-create, idempotently) tenant ``name``; the token is in ``result.body``, never recorded."""
        return self._call("create_tenant", "POST", "/v1/tenants", {"name": name}, None, name, None, False)

    # -- machinery --

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.connection.host_header}\r\n"
        if self.token:
            head += f"Authorization: Bearer {self.token}\r\n"
        payload = (json.dumps(body, separators=(",", ":"), ensure_ascii=self.ascii_json).encode("utf-8")
                   if body is not None else b"")
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        return head.encode("latin-1") + payload

    def _call(self, f: str, method: str, path: str, body: dict[str, Any] | None, key: str | None,
              tenant: str | None, value: Any, cross_tenant: bool, fields: dict[str, Any] | None = None) -> Result:
        if self.refused_in_a_row and self.reconnect_backoff_s > 0:
            time.sleep(min(MAX_RECONNECT_BACKOFF_S, self.reconnect_backoff_s * 2 ** (self.refused_in_a_row - 1)))
        request = self._request(method, path, body)
        process = self.process
        history = self.history
        op = history.next_op(process)
        started = now_ns()
        common = {"process": process, "op": op, "f": f, "key": key, "tenant": tenant or self.tenant,
                  "region": self.region, "protocol": PROTOCOL, "cross_tenant": True if cross_tenant else None,
                  "caller": self.tenant if cross_tenant else None, **(fields or {})}
        history.append({"type": "invoke", "time": started, **common, "value": value})
        status: int | None = None
        answer: dict[str, Any] | None = None
        length = 0
        try:
            status, data = self.connection.exchange(request, method)
            length = len(data)
            answer = _decode(data)
            kind = classify(f, status)
            error = _error_code(answer) if kind != "ok" else None
            if kind != "ok" and error is None:
                error = f"http_{status}"
        except _NotSent as exc:
            kind, error = "fail", str(exc)
            self.refused_in_a_row += 1
        except _Lost as exc:
            kind, error = "info", str(exc)
        except BaseException:  # stopped mid-call (GreenletExit, KeyboardInterrupt): outcome unknown
            history.append({"type": "info", "time": now_ns(), **common, "value": value, "error": "cancelled",
                            "latency_ms": round((now_ns() - started) / 1e6, 3)})
            self._crashed()
            raise
        if status is not None:
            self.refused_in_a_row = 0
        done = now_ns()
        latency_ms = (done - started) / 1e6
        result_value = _completion_value(f, kind, status, value, answer)
        node = group = None
        if answer is not None:
            node, group = answer.get("node"), answer.get("group")
        extra: dict[str, Any] = {}
        if kind == "ok" and answer is not None:
            if "version" in answer:
                extra["version"] = answer["version"]
            if f == "create_tenant":
                extra["created"] = answer.get("created")
            if f.startswith("crdt_"):  # what the CRDT checker recomputes merges from (absent fields omitted)
                for name in CRDT_ANSWER_FIELDS:
                    if name in answer:
                        extra[name] = answer[name]
        history.append({"type": kind, "time": done, **common, "value": result_value, "node": node,
                        "group": group, "error": error, "status": status, "latency_ms": round(latency_ms, 3),
                        **extra})
        if kind == "info":
            self._crashed()
        result = Result(f, kind, status, result_value, error, latency_ms, node, group, answer, length,
                        cross_tenant)
        if self.reporter is not None:
            self.reporter(result, method)
        return result

    def _crashed(self) -> None:
        """After an unknown outcome, continue as a new process (the old one may still have an op in flight)."""
        self.crashes += 1
        self.process = f"{self.base_process}.{self.crashes}"

    def close(self) -> None:
        self.connection.close()
        if self.on_close is not None:
            done, self.on_close = self.on_close, None
            done()


def _decode(data: bytes) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else {"value": decoded}


def _error_code(answer: dict[str, Any] | None) -> str | None:
    error = (answer or {}).get("error")
    return error.get("code") if isinstance(error, dict) else None


def _completion_value(f: str, kind: str, status: int | None, value: Any, answer: dict[str, Any] | None) -> Any:
    """What a completion records as ``value``: the value read for a get, what was written otherwise."""
    if f == "get":
        if kind == "ok" and status == 200 and answer is not None:
            return answer.get("value")
        return None
    if f == "delete" and kind == "ok" and answer is not None:
        return answer.get("deleted")
    if f == "create_tenant":
        return None
    if f == "crdt_read":
        return answer.get("value") if kind == "ok" and answer is not None else None
    return value
