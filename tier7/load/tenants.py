"""Tenant setup: create the run's tenants (idempotent on the target) through the recording client, so
each creation is in the history; return their tokens (kept in memory only, never written)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import gevent
from gevent.pool import Pool

from ..client import RecordingClient, Reporter
from ..errors import Tier7Error
from ..history import HistoryWriter
from ..targets.base import NodeInfo

PERMANENT = {400, 401, 403, 404, 405, 413}


def tenant_prefix(run_dir: str | Path, started_wall: float) -> str:
    """Tenant names of a run start with this: derived from the run folder and the run's start time (both
    in run.json, so every process of the run agrees), so a run folder used again on the same cluster does
    not meet the keys an earlier run left behind."""
    return "t" + hashlib.sha256(f"{run_dir}@{started_wall!r}".encode()).hexdigest()[:10]


def tenant_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(count)]


def create_tenants(names: list[str], nodes: list[NodeInfo], admin_token: str, history: HistoryWriter,
                   process: str, reporter: Reporter | None = None, concurrency: int = 24,
                   attempts: int = 5, timeout: float = 5.0, deadline_s: float = 300.0,
                   should_stop: Callable[[], bool] = lambda: False,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, str]:
    """Create every tenant in ``names`` (``concurrency`` at a time); returns name -> token.

    A creation that did not succeed is retried (creation is idempotent) up to ``attempts`` times, unless
    the target refused it for good (4xx). Raises Tier7Error naming the first tenant that could not be
    created; gives up after ``deadline_s`` seconds in all. ``progress(created, total)`` is told after each
    creation (the web UI's "setting up (tenants 412/1001)").
    """
    tokens: dict[str, str] = {}
    problems: list[str] = []
    deadline = time.monotonic() + deadline_s
    todo = list(names)
    lanes = max(1, min(concurrency, len(todo)))

    def lane(index: int) -> None:
        node = nodes[index % len(nodes)]
        client = RecordingClient(node.url, admin_token, history, f"{process}{index}", region=node.region,
                                 timeout=timeout, reporter=reporter)
        try:
            while todo and not problems and not should_stop():
                name = todo.pop()
                for attempt in range(1, attempts + 1):
                    result = client.create_tenant(name)
                    token = (result.body or {}).get("token") if result.ok else None
                    if isinstance(token, str) and token:
                        tokens[name] = token
                        if progress is not None:
                            progress(len(tokens), len(names))
                        break
                    permanent = result.status in PERMANENT
                    if permanent or attempt == attempts or time.monotonic() > deadline:
                        reason = result.error or f"HTTP {result.status}"
                        problems.append(f"cannot create tenant {name!r} on {node.name}: {reason}"
                                        + (f" (HTTP {result.status})" if result.status else "")
                                        + ("" if permanent else f" after {attempt} attempt(s)"))
                        return
                    gevent.sleep(0.1 * attempt)  # back off before retrying an operation that did not apply
        finally:
            client.close()

    pool = Pool(lanes)
    for index in range(lanes):
        pool.spawn(lane, index)
    pool.join(timeout=deadline_s + timeout)
    pool.kill(block=True, timeout=5)
    if problems:
        raise Tier7Error(problems[0])
    missing = [n for n in names if n not in tokens]
    if missing:
        raise Tier7Error(f"cannot create tenant {missing[0]!r}: setup stopped or timed out "
                         f"({len(tokens)}/{len(names)} created)")
    return tokens
