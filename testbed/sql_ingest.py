"""Pipelined events ingest (contract v5): ``POST /v1/events?depth=N``.

The batch is cut into chunks of ``chunk_rows`` rows that flow through three stages running concurrently:
parse (validate each row into its stored form), route (split the chunk by the Raft group the ring gives each
row's key) and replicate (commit each group's rows through that group's log, here or on a member of that
group). Up to ``depth`` chunks are in flight in the replicate stage at once; depth 1 is the plain sequential
path. Rows are applied at most once per id (``KVState.append_events``), so a resent batch, or a chunk retried
after an unknown outcome, never doubles a row. A batch is not atomic: on an error the answer says how many
rows were committed before it, and resending the whole batch is safe.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Counter, Histogram

from . import sql_model
from .raftnode import CommitFailed
from .sql_routing import quorum
from .web import HttpError, Request, field

if TYPE_CHECKING:
    from .api import NodeApp
    from .sql import SqlService

INGEST = sql_model.SETTINGS["ingest"]
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Ingest:
    def __init__(self, app: NodeApp, sql: SqlService) -> None:
        self.app = app
        self.sql = sql
        self.stage_seconds = Histogram("testbed_ingest_stage_seconds", "Time one chunk spent in an ingest "
                                       "pipeline stage (parse/route/replicate), seconds", ["stage"],
                                       buckets=STAGE_BUCKETS, registry=app.metrics.registry)
        self.rows_total = Counter("testbed_ingest_rows", "Event rows accepted by this entry node, by outcome "
                                  "(stored/duplicate)", ["outcome"], registry=app.metrics.registry)

    async def handle(self, r: Request) -> tuple[int, dict]:
        tenant = self.app._tenant_for(r, None)
        depth_text = r.query.get("depth", str(INGEST["default_depth"]))
        if not depth_text.isdigit() or not 1 <= int(depth_text) <= int(INGEST["max_depth"]):
            raise HttpError(400, "bad_depth", f"depth must be an integer 1..{INGEST['max_depth']}")
        depth = int(depth_text)
        rows = field(await r.json_object(), "rows", list)
        if not rows:
            raise HttpError(400, "missing_field", "rows must hold at least one row")
        size = int(INGEST["chunk_rows"])
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        started = time.perf_counter()
        totals = {"stored": 0, "duplicates": 0}
        groups: dict[str, dict[str, Any]] = {}
        stage_time = {"parse": 0.0, "route": 0.0, "replicate": 0.0}
        parsed_q: asyncio.Queue = asyncio.Queue(maxsize=depth)
        routed_q: asyncio.Queue = asyncio.Queue(maxsize=depth)
        errors: list[HttpError] = []
        max_key = int(self.app.limits["max_key_bytes"])

        def timed(stage: str, began: float) -> None:
            spent = time.perf_counter() - began
            stage_time[stage] += spent
            self.stage_seconds.labels(stage=stage).observe(spent)

        async def parse() -> None:
            for number, chunk in enumerate(chunks):
                if errors:
                    break
                began = time.perf_counter()
                try:
                    parsed = [sql_model.parse_row(row, max_key) for row in chunk]
                except ValueError as exc:
                    errors.append(HttpError(400, "invalid_row", f"row {number * size + _bad_index(chunk, max_key)}: "
                                            f"{exc}"))
                    break
                timed("parse", began)
                await parsed_q.put(parsed)
                await asyncio.sleep(0)  # let the other stages run between chunks
            await parsed_q.put(None)

        owners: dict[str, str] = {}  # key -> group, once per key and batch (keys repeat: hashing is per row)

        async def route() -> None:
            while (parsed := await parsed_q.get()) is not None:
                began = time.perf_counter()
                by_group: dict[str, list[tuple]] = {}
                for row in parsed:
                    key = row[1]
                    owner = owners.get(key)
                    if owner is None:
                        owner = owners[key] = self.app._owner(tenant, key)
                    by_group.setdefault(owner, []).append(row)
                timed("route", began)
                await routed_q.put(by_group)
            await routed_q.put(None)

        async def replicate_one(by_group: dict[str, list[tuple]], gate: asyncio.Semaphore) -> None:
            try:
                began = time.perf_counter()
                answers = await asyncio.gather(*(self._commit(g, tenant, rs) for g, rs in by_group.items()),
                                               return_exceptions=True)
                timed("replicate", began)
                for (group, rs), answer in zip(by_group.items(), answers, strict=True):
                    if isinstance(answer, HttpError):
                        errors.append(answer)
                        continue
                    if isinstance(answer, BaseException):
                        errors.append(HttpError(503, "unavailable", f"group {group}: {answer.__class__.__name__}"))
                        continue
                    info = groups.setdefault(group, {"rows": 0, "stored": 0, "duplicates": 0, "quorum": None})
                    info["rows"] += len(rs)
                    info["stored"] += answer["stored"]
                    info["duplicates"] += answer["duplicates"]
                    info["quorum"] = answer.get("quorum")
                    totals["stored"] += answer["stored"]
                    totals["duplicates"] += answer["duplicates"]
            finally:
                gate.release()

        async def replicate() -> None:
            gate = asyncio.Semaphore(depth)
            tasks = []
            while (by_group := await routed_q.get()) is not None:
                await gate.acquire()
                tasks.append(asyncio.create_task(replicate_one(by_group, gate)))
            await asyncio.gather(*tasks)

        await asyncio.gather(parse(), route(), replicate())
        self.rows_total.labels(outcome="stored").inc(totals["stored"])
        self.rows_total.labels(outcome="duplicate").inc(totals["duplicates"])
        elapsed = time.perf_counter() - started
        summary = {"rows": len(rows), "committed_rows": totals["stored"] + totals["duplicates"], **totals,
                   "chunks": len(chunks), "depth": depth, "groups": groups,
                   "stage_seconds": {k: round(v, 6) for k, v in stage_time.items()}, "elapsed_s": round(elapsed, 6)}
        if errors:
            first = errors[0]
            raise HttpError(first.status, first.code, first.message, **summary)
        return 200, {**self.app._who(), **summary}

    async def _commit(self, group: str, tenant: str, rows: list[tuple]) -> dict[str, Any]:
        """Commit one group's rows: here when this node is a member, else (or when that fails with 503) on a
        member of the group. Safe to retry on any failure (ids make the append idempotent), until the
        forwarding deadline."""
        deadline = time.monotonic() + float(self.app.retry_deadline)
        last = "no member answered"
        if group == self.app.me.group:
            try:
                return await self.commit_here(tenant, rows)
            except HttpError as exc:  # e.g. the leader changed under the commit: retried like a peer's rows
                if exc.status != 503:
                    raise
                last = f"{self.app.me.name}: {exc.message}"
        body = {"tenant": tenant, "group": group, "rows": [list(r) for r in rows]}
        for _round in range(100):  # bounded; the deadline ends it first
            hint = self.app.forwarder.leader_hint.get(group)
            for member in sorted(self.app.cluster.members(group),
                                 key=lambda m: (m.name != hint, m.region != self.app.me.region)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HttpError(503, "unavailable", f"group {group} did not commit events: {last}", group=group)
                try:
                    status, payload = await self.sql.post_member(member, "/v1/internal/events", body,
                                                                  max(left, 0.5) + 4.0)
                except httpx.HTTPError as exc:
                    last = f"{member.name}: {exc.__class__.__name__}"
                    continue
                if isinstance(payload.get("leader"), str):
                    self.app.forwarder.leader_hint[group] = payload["leader"]
                if status == 200:
                    return payload
                if status == 400:
                    raise HttpError(400, payload.get("error", {}).get("code", "bad_request"),
                                    payload.get("error", {}).get("message", "refused"))
                last = f"{member.name}: {status} {payload.get('error', {}).get('message', '')}".strip()
            await asyncio.sleep(float(self.app.backoff))
        raise HttpError(503, "unavailable", f"group {group} did not commit events: {last}", group=group)

    async def commit_here(self, tenant: str, rows: list[tuple]) -> dict[str, Any]:
        state = self.app.raft.state
        try:
            result = await self.app.raft.commit(state.append_events, tenant, rows)
        except CommitFailed as exc:
            raise HttpError(503, "unavailable", f"group {self.app.me.group} cannot commit: {exc.reason}",
                            leader=self.app.raft.leader_name()) from None
        return {**self.app._who(), **result, "leader": self.app.raft.leader_name(), "quorum": quorum(self.app)}

    async def internal(self, r: Request) -> tuple[int, dict]:
        """``POST /v1/internal/events``: commit rows of this node's group (forwarded by an entry node)."""
        body = await r.json_object()
        tenant, group, raw = body.get("tenant"), body.get("group"), body.get("rows")
        if not isinstance(tenant, str) or not isinstance(raw, list):
            raise HttpError(400, "bad_request", "malformed internal events")
        if group != self.app.me.group:
            raise HttpError(421, "wrong_group", f"rows for {group}, not {self.app.me.group}")
        try:  # rows the entry node already parsed (an authenticated peer): only their shape is checked here
            rows = [sql_model.stored_row(row) for row in raw]
        except (ValueError, TypeError) as exc:
            raise HttpError(400, "invalid_row", str(exc)) from None
        wrong = [key for key in {row[1] for row in rows} if self.app._owner(tenant, key) != group]
        if wrong:
            raise HttpError(421, "wrong_group", f"key {wrong[0]!r} does not belong to {group}")
        return 200, await self.commit_here(tenant, rows)


def _bad_index(chunk: list[Any], max_key: int) -> int:
    for index, row in enumerate(chunk):
        try:
            sql_model.parse_row(row, max_key)
        except ValueError:
            return index
    return 0
