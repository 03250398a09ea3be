"""Helpers for the testbed CRDT tests: writes and per-replica reads over HTTP, and waiting for convergence."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tier7.waiting import wait_until


def op_id() -> str:
    return "op-" + secrets.token_hex(8)


def write(http: httpx.Client, node, token: str, kind: str, key: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{node.url}/v1/crdt/{kind}/{key}", json={"op_id": op_id(), **body},
                     headers={"authorization": f"Bearer {token}"})


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def read(http: httpx.Client, node, token: str, kind: str, key: str) -> dict[str, Any]:
    return ok(http.get(f"{node.url}/v1/crdt/{kind}/{key}", headers={"authorization": f"Bearer {token}"}))


def values(http: httpx.Client, nodes, token: str, kind: str, key: str) -> dict[str, Any]:
    """node name -> that replica's value (JSON-comparable)."""
    return {n.name: read(http, n, token, kind, key)["value"] for n in nodes}


def converged(http: httpx.Client, nodes, token: str, kind: str, key: str, expected: Any,
              timeout: float = 10.0) -> None:
    """Wait until every replica of ``nodes`` reads ``expected``; fail showing what each one reads."""
    try:
        wait_until(lambda: set(map(repr, values(http, nodes, token, kind, key).values())) == {repr(expected)},
                   timeout, 0.1, f"{kind} {key} to converge")
    except Exception:
        raise AssertionError(f"{kind} {key}: expected {expected!r} everywhere, "
                             f"read {values(http, nodes, token, kind, key)}") from None


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (Prometheus text)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
