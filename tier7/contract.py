"""A plain (non-recording) client for the target's HTTP contract (docs/contract.md).

Used by the drivers, the CLI and the checks for setup and probing; load goes through the recording
client so every operation lands in the history.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from .errors import Tier7Error


class Answer:
    """One HTTP answer: ``status`` and the decoded JSON ``body`` (``{}`` when it was not JSON)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        error = self.body.get("error")
        return error.get("code") if isinstance(error, dict) else None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body!r})"


def key_path(key: str, tenant: str | None = None) -> str:
    encoded = quote(key, safe="")
    return f"/v1/tenants/{quote(tenant, safe='')}/kv/{encoded}" if tenant else f"/v1/kv/{encoded}"


class ContractClient:
    """Talks to one node (``base_url``) with one bearer token. Timeouts in seconds."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = client or httpx.Client(timeout=timeout)

    def with_token(self, token: str | None) -> ContractClient:
        return ContractClient(self.base_url, token, client=self.http)

    def at(self, base_url: str) -> ContractClient:
        return ContractClient(base_url, self.token, client=self.http)

    def request(self, method: str, path: str, json: Any = None, params: dict[str, str] | None = None,
                content: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("authorization", f"Bearer {self.token}")
        try:
            response = self.http.request(method, self.base_url + path, json=json, params=params,
                                         content=content, headers=all_headers)
        except httpx.ConnectError as exc:
            raise Tier7Error(f"cannot reach {self.base_url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        return Answer(response.status_code, body if isinstance(body, dict) else {"value": body})

    def get_json(self, path: str) -> dict[str, Any]:
        answer = self.request("GET", path)
        if not answer.ok:
            raise Tier7Error(f"GET {self.base_url}{path} answered {answer.status}: {answer.body}")
        return answer.body

    def create_tenant(self, name: str) -> Answer:
        return self.request("POST", "/v1/tenants", json={"name": name})

    def put(self, key: str, value: str, tenant: str | None = None) -> Answer:
        return self.request("PUT", key_path(key, tenant), json={"value": value})

    def get(self, key: str, consistency: str = "linearizable", tenant: str | None = None) -> Answer:
        return self.request("GET", key_path(key, tenant), params={"consistency": consistency})

    def cas(self, key: str, expected: str | None, value: str, tenant: str | None = None) -> Answer:
        return self.request("POST", key_path(key, tenant) + "/cas", json={"expected": expected, "value": value})

    def delete(self, key: str, tenant: str | None = None) -> Answer:
        return self.request("DELETE", key_path(key, tenant))

    def close(self) -> None:
        self.http.close()
