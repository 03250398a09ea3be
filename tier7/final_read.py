"""The final read: after the writers stop, every key that any process of the run wrote is read once more,
linearizably and recorded in the history, so the no-lost-write check sees each key's final state (without
it, acknowledged writes are "not covered by a final read" and that verdict can only be UNKNOWN).

Used by ``tier7 verify`` (its last phase) and by ``tier7 load`` (when the users have stopped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import gevent

from .client import RecordingClient
from .history import HISTORY_DIR, HistoryWriter, read_events
from .targets.base import NodeInfo

WRITES = {"put", "cas", "delete"}
CONCURRENCY = 32  # keys read at once (one greenlet and one client each)
ATTEMPTS = 3      # a read that failed for certain (no leader yet) is simply asked again


def written_keys(run_dir: Path) -> set[tuple[str, str]]:
    """(tenant, key) of every own-tenant write invoked in the run's history files (cross-tenant attempts
    excluded: the target refused them, or the isolation check reports them)."""
    keys: set[tuple[str, str]] = set()
    for path in sorted((run_dir / HISTORY_DIR).glob("*.jsonl")):
        for event in read_events(path):
            if event.get("type") == "invoke" and event.get("f") in WRITES and event.get("key") is not None:
                tenant = event.get("tenant")
                if tenant and not event.get("cross_tenant"):
                    keys.add((tenant, event["key"]))
    return keys


def read_back(keys: Iterable[tuple[str, str]], tokens: Mapping[str, str], nodes: list[NodeInfo],
              history: HistoryWriter, process: str, timeout: float = 10.0, concurrency: int = CONCURRENCY,
              should_stop: Callable[[], bool] = lambda: False) -> list[tuple[str, str]]:
    """Read every (tenant, key) once more with the tenant's token, entry nodes round-robin; each lane's
    reads are recorded under process ``<process><lane>``. Returns the keys that were not read back (no
    token, every attempt failed, or ``should_stop()``); bounded by ``len(keys) x ATTEMPTS`` reads."""
    todo = sorted(keys, reverse=True)
    unread: list[tuple[str, str]] = []

    def lane(index: int) -> None:
        node = nodes[index % len(nodes)]
        client = RecordingClient(node.url, None, history, f"{process}{index}", region=node.region, timeout=timeout)
        try:
            while todo:
                tenant, key = item = todo.pop()
                token = tokens.get(tenant)
                if token is None or should_stop():
                    unread.append(item)
                    continue
                client.token, client.tenant = token, tenant
                if not any(client.get(key, tenant=tenant).ok for _ in range(ATTEMPTS)):
                    unread.append(item)
        finally:
            client.close()

    lanes = [gevent.spawn(lane, i) for i in range(max(1, min(concurrency, len(todo))))]
    gevent.joinall(lanes, raise_error=True)
    return sorted(unread)
