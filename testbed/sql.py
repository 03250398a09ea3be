"""Federated SQL (contract v5): ``POST /v1/sql`` over the data of every group in every region.

The node that receives the query is its coordinator. It asks one member of every Raft group (itself when
it is one, else a member in its own region first: read-local) for the caller's partition of the tables the
query names. That member first commits a no-op through its group's log (``KVState.barrier``), so its replica
holds every write acknowledged before the query, then answers the partition as Parquet. The coordinator
loads every partition into an in-memory DuckDB (external access then switched off) and runs the one SELECT.
When any group's partition cannot be had before the deadline, the answer is 503 ``sql_incomplete`` naming
the groups: never a result over part of the data.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Histogram

from . import auth, sql_model
from .forward import INTERNAL_HEADER
from .raftnode import CommitFailed
from .sql_ingest import Ingest
from .web import HttpError, Request, field

if TYPE_CHECKING:
    from .api import NodeApp

log = logging.getLogger("testbed.sql")
TABLES = ("kv", "events")
QUERY = sql_model.SETTINGS["query"]


class SqlService:
    """The SQL endpoints of one node (coordinator and partition server) and the events ingest."""

    def __init__(self, app: NodeApp) -> None:
        self.app = app
        self.tmp = Path(app.me.dir) / "sql-tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._events_cache: dict[str, tuple[int, str]] = {}  # tenant -> (rows, base64 Parquet)
        self.seconds = Histogram("testbed_sql_query_seconds", "Federated SQL query time at the coordinator, "
                                 "seconds, by outcome", ["outcome"], registry=app.metrics.registry,
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.ingest_service = Ingest(app, self)

    # -- helpers --

    def _check_internal(self, r: Request) -> None:
        if not auth.same(r.headers.get(INTERNAL_HEADER, ""), self.app.forwarder.auth):
            raise HttpError(403, "forbidden", "internal endpoint")

    def members_in_order(self, group: str) -> list[Any]:
        """Members of ``group`` to ask: this node, then its region, then the rest (read-local)."""
        me = self.app.me
        return sorted(self.app.cluster.members(group), key=lambda m: (m.name != me.name, m.region != me.region,
                                                                      m.name))

    async def post_member(self, member: Any, path: str, body: dict[str, Any], timeout: float) -> tuple[int, dict]:
        fwd = self.app.forwarder
        response = await fwd.client.post(f"{fwd.bases[member.name]}{path}", json=body,
                                         headers={INTERNAL_HEADER: fwd.auth}, timeout=timeout)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"error": {"code": "bad_gateway", "message": "non-JSON answer"}}

    # -- the partition server: POST /v1/internal/sql --

    async def internal_part(self, r: Request) -> tuple[int, dict]:
        self._check_internal(r)
        body = await r.json_object()
        tenant = field(body, "tenant", str)
        tables = [t for t in field(body, "tables", list) if t in TABLES]
        try:  # the read fence: after this commit is applied here, this replica has every earlier write
            await self.app.raft.commit(self.app.raft.state.barrier)
        except CommitFailed as exc:
            raise HttpError(503, "unavailable", f"group {self.app.me.group} cannot fence a read: {exc.reason}") \
                from None
        space, events = self.app.raft.state.local_tables(tenant)
        parts = await asyncio.to_thread(self._export, tenant, tables, space, events)
        return 200, {**self.app._who(), "tables": parts, "rows": {"kv": len(space), "events": len(events)}}

    def _export(self, tenant: str, tables: list[str], space: dict, events: list[tuple]) -> dict[str, str]:
        me = self.app.me
        out: dict[str, str] = {}
        if "kv" in tables:
            out["kv"] = sql_model.partition_parquet(sql_model.kv_frame(space), "kv", me.group, me.region,
                                                    self.tmp / f"{uuid.uuid4().hex}.parquet")
        if "events" in tables:
            cached = self._events_cache.get(tenant)
            if cached and cached[0] == len(events):  # append-only: the same length is the same rows
                out["events"] = cached[1]
            else:
                out["events"] = sql_model.partition_parquet(sql_model.events_frame(events), "events", me.group,
                                                            me.region, self.tmp / f"{uuid.uuid4().hex}.parquet")
                self._events_cache[tenant] = (len(events), out["events"])
        return out

    # -- the coordinator: POST /v1/sql --

    async def query(self, r: Request) -> tuple[int, dict]:
        tenant = self.app._tenant_for(r, None)
        body = await r.json_object()
        sql = field(body, "sql", str)
        if not sql.strip():
            raise HttpError(400, "sql_error", "sql must not be empty")
        if len(sql.encode()) > int(QUERY["max_sql_bytes"]):
            raise HttpError(413, "value_too_large", f"sql over {QUERY['max_sql_bytes']} bytes")
        started = time.perf_counter()
        tables = [t for t in TABLES if re.search(rf"\b{t}\b", sql, re.IGNORECASE)]
        try:
            parts, sources = await self._gather(tenant, tables)
            columns, rows = await asyncio.to_thread(self._run, sql, tables, parts)
        except HttpError as exc:
            self.seconds.labels(outcome=str(exc.status)).observe(time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        self.seconds.labels(outcome="200").observe(elapsed)
        return 200, {**self.app._who(), "coordinator": self.app.me.name, "columns": columns, "rows": rows,
                     "row_count": len(rows), "sources": sources, "elapsed_s": round(elapsed, 6)}

    async def _gather(self, tenant: str, tables: list[str]) -> tuple[dict[str, list[bytes]], list[dict]]:
        """Every group's partition, or 503 sql_incomplete (the query is never run on part of the data)."""
        deadline = time.monotonic() + float(QUERY["deadline_s"])
        groups = list(self.app.ring.groups)
        if self.app.faults.get("sql_drops_group_rows"):  # TEST ONLY: one group's rows silently left out
            groups = groups[:-1]
        results = await asyncio.gather(*(self._part(g, tenant, tables, deadline) for g in groups))
        missing = [{"group": g, "reason": res} for g, res in zip(groups, results, strict=True) if isinstance(res, str)]
        if missing:
            raise HttpError(503, "sql_incomplete", "no answer from every group: "
                            + "; ".join(f"{m['group']}: {m['reason']}" for m in missing), missing_groups=missing)
        parts: dict[str, list[bytes]] = {t: [] for t in tables}
        sources = []
        for res in results:
            for t in tables:
                parts[t].append(base64.b64decode(res["tables"][t]))
            sources.append({"group": res["group"], "node": res["node"], "region": res["region"],
                            "rows": res.get("rows", {})})
        return parts, sources

    async def _part(self, group: str, tenant: str, tables: list[str], deadline: float) -> dict | str:
        """One group's partition from the first member that answers (a read: safe to ask another), or why not."""
        last = "no member answered"
        for _round in range(50):  # bounded; the deadline usually ends it first
            for member in self.members_in_order(group):
                left = deadline - time.monotonic()
                if left <= 0.05:
                    return f"deadline passed ({last})"
                try:
                    status, payload = await self.post_member(member, "/v1/internal/sql",
                                                             {"tenant": tenant, "tables": tables},
                                                             min(left, float(QUERY["part_timeout_s"])))
                except httpx.HTTPError as exc:
                    last = f"{member.name}: {exc.__class__.__name__}"
                    continue
                if status == 200 and payload.get("group") == group:
                    return payload
                last = f"{member.name}: {status} {payload.get('error', {}).get('message', '')}".strip()
            await asyncio.sleep(0.1)
        return last

    def _run(self, sql: str, tables: list[str], parts: dict[str, list[bytes]]) -> tuple[list[dict], list[list]]:
        """Load the partitions, lock the engine down, run the one SELECT (seconds: deadline_s at most)."""
        import duckdb  # late: see sql_model

        con = sql_model.connect()
        files: list[Path] = []
        try:
            for table in TABLES:
                paths = []
                for data in parts.get(table, []):
                    path = self.tmp / f"{uuid.uuid4().hex}.parquet"
                    path.write_bytes(data)
                    files.append(path)
                    paths.append(str(path))
                if paths:
                    source = f"read_parquet({paths!r})"
                    select = "SELECT * FROM " + source
                    if table == "events" and self.app.faults.get("sql_wrong_null_aggregate"):
                        # TEST ONLY: NULL integers loaded as 0, so COUNT(n)/AVG(n)/MIN(n) over NULLs are wrong
                        select = f"SELECT * REPLACE (COALESCE(n, 0) AS n) FROM {source}"
                    con.execute(f"CREATE TABLE {table} AS {select}")
                else:
                    con.execute(f"CREATE TABLE {table} AS {sql_model.EMPTY[table]}")
            con.execute("SET enable_external_access = false")  # the query cannot read or write files
            con.execute("SET lock_configuration = true")
            sql_model.check_statement(con, sql)
            timer = threading.Timer(float(QUERY["deadline_s"]), con.interrupt)
            timer.start()
            try:
                cursor = con.execute(sql)
                limit = int(QUERY["max_rows"])
                rows = cursor.fetchmany(limit + 1)
            except duckdb.InterruptException:
                raise HttpError(504, "sql_timeout", f"query ran longer than {QUERY['deadline_s']} s") from None
            except duckdb.Error as exc:
                raise HttpError(400, "sql_error", sql_model.one_line(exc)) from None
            finally:
                timer.cancel()
            if len(rows) > limit:
                raise HttpError(400, "result_too_large", f"result over {limit} rows; add a LIMIT or aggregate")
            columns = [{"name": d[0], "type": str(d[1])} for d in cursor.description or []]
            return columns, [[sql_model.encode(v) for v in row] for row in rows]
        finally:
            con.close()
            for path in files:
                path.unlink(missing_ok=True)

    # -- events ingest (testbed/sql_ingest.py) --

    async def ingest(self, r: Request) -> tuple[int, dict]:
        return await self.ingest_service.handle(r)

    async def internal_events(self, r: Request) -> tuple[int, dict]:
        self._check_internal(r)
        return await self.ingest_service.internal(r)
