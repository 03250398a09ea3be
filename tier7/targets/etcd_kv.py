"""Raw etcd v3 JSON-gateway calls (``/v3/kv/put``, ``range``, ``txn``, ``deleterange``; keys and values
base64) and the client-side federation over several etcd clusters.

``EtcdKv`` talks to one cluster through one member (its entry), moving to the next member when the entry
refuses the connection (a killed member), as etcd's own client balancer does. ``FederatedKv`` holds one
``EtcdKv`` per cluster and sends each key to the cluster the harness's ring names (tier7/ring.py); ``node``
and ``group`` say who served the last call, so the history records the cluster that acknowledged a write.

Recording (tier7/targets/foreign.py): connection refused before sending -> ``fail``; a timeout or lost
connection after sending, or any gateway error -> ``info`` (etcd may have applied it: a proposal can commit
after "request timed out" or "leader changed"); a txn whose comparison failed -> ``fail`` (cas mismatch).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from ..ring import HarnessRing
from .foreign import CasMismatch, NotApplied, Unknown

TIMEOUT_S = 3.0  # one KV call, seconds; longer than an election (1 s election timeout) so most calls complete


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8")


def prefix_end(prefix: str) -> str:
    """etcd's ``range_end`` for every key starting with ``prefix`` (its last byte plus one)."""
    raw = prefix.encode("utf-8")
    return base64.b64encode(raw[:-1] + bytes([raw[-1] + 1])).decode("ascii")


class EtcdKv:
    """One cluster's raw calls through one member at a time (see the module doc)."""

    def __init__(self, urls: dict[str, str], first: int, group: str) -> None:
        self.urls = urls
        self.order = list(urls)
        self.index = first % len(self.order)
        self.node: str | None = self.order[self.index]
        self.group = group
        self.http = httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=1.0))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.node = self.order[self.index]
        try:
            answer = self.http.post(self.urls[self.node] + path, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent: certainly not applied
            self.index = (self.index + 1) % len(self.order)
            label = "TimeoutError" if isinstance(exc, httpx.ConnectTimeout) else "ConnectionRefusedError"
            raise NotApplied(label, detail=str(exc)) from None
        except httpx.HTTPError as exc:  # sent: the member may have proposed it
            self.index = (self.index + 1) % len(self.order)
            label = "TimeoutError" if isinstance(exc, httpx.TimeoutException) else "ConnectionError"
            raise Unknown(label, detail=exc.__class__.__name__) from None
        try:
            data = answer.json()
        except ValueError:
            raise Unknown(f"http_{answer.status_code}", answer.status_code, "not JSON") from None
        if answer.status_code != 200 or "error" in data:
            # "leader changed", "request timed out": a proposal may still commit, so unknown
            raise Unknown(f"http_{answer.status_code}", answer.status_code,
                          str(data.get("error") or data.get("message")))
        return data

    def put(self, key: str, value: str) -> None:
        self._post("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def get(self, key: str) -> str | None:
        kvs = self._post("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
        return unb64(kvs[0].get("value", "")) if kvs else None

    def cas(self, key: str, expected: str | None, new: str) -> None:
        compare = ({"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
                   if expected is None else
                   {"key": b64(key), "target": "VALUE", "result": "EQUAL", "value": b64(expected)})
        data = self._post("/v3/kv/txn", {"compare": [compare],
                                         "success": [{"request_put": {"key": b64(key), "value": b64(new)}}]})
        if not data.get("succeeded"):
            raise CasMismatch()

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": b64(key)})

    def close(self) -> None:
        self.http.close()


class FederatedKv:
    """Client-side federation: each key to the cluster ``ring`` names for ``(tenant, key)``."""

    def __init__(self, clusters: dict[str, dict[str, str]], ring: HarnessRing, tenant: str, first: int) -> None:
        self.ring, self.tenant = ring, tenant
        self.backends = {c: EtcdKv(urls, first, c) for c, urls in clusters.items()}
        self.node: str | None = None
        self.group: str | None = None

    def _route(self, key: str) -> EtcdKv:
        backend = self.backends[self.ring.group_for(self.tenant, key)]
        self.group, self.node = backend.group, backend.order[backend.index]
        return backend

    def _served(self, backend: EtcdKv) -> None:
        self.node = backend.node

    def put(self, key: str, value: str) -> None:
        backend = self._route(key)
        try:
            backend.put(key, value)
        finally:
            self._served(backend)

    def get(self, key: str) -> str | None:
        backend = self._route(key)
        try:
            return backend.get(key)
        finally:
            self._served(backend)

    def cas(self, key: str, expected: str | None, new: str) -> None:
        backend = self._route(key)
        try:
            backend.cas(key, expected, new)
        finally:
            self._served(backend)

    def delete(self, key: str) -> None:
        backend = self._route(key)
        try:
            backend.delete(key)
        finally:
            self._served(backend)

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()


def local_keys(http: httpx.Client, url: str, prefix: str, timeout: float = 5.0) -> list[str] | None:
    """The keys starting with ``prefix`` in one member's own store (a serializable range: answered from the
    member's local state, no leader involved); None when the member does not answer."""
    body = {"key": b64(prefix), "range_end": prefix_end(prefix), "keys_only": True, "serializable": True}
    try:
        data = http.post(url + "/v3/kv/range", json=body, timeout=timeout).json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(data, dict) or "error" in data:
        return None
    return [unb64(kv["key"]) for kv in data.get("kvs") or []]
