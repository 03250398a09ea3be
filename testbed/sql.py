"""Federated SQL (contract v5): ``POST /v1/sql`` over the data of every group in every region.

The node that receives the query is its coordinator. Its planner (``testbed/sql_plan.py``) splits the query
into what each group's member computes (filters, and partial aggregates when the query's aggregates split:
count/sum/min/max/avg with GROUP BY over columns; else the named columns of the rows that pass the filter)
and what the coordinator runs over the members' answers. It asks one member of every Raft group (itself when
it is one, else a member in its own region first: read-local). That member first commits a no-op through its
group's log (``KVState.barrier``), so its replica holds every write acknowledged before the query, brings
its tenant's DuckDB tables up to the replica (``testbed/sql_store.py``: kept in step incrementally, never
rebuilt per query) and answers its part. The coordinator loads the parts into an in-memory DuckDB (external
access then switched off) and runs its SELECT. When any group's part cannot be had before the deadline, the
answer is 503 ``sql_incomplete`` naming the groups: never a result over part of the data.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Histogram

from . import auth, sql_model
from .forward import INTERNAL_HEADER
from .raftnode import CommitFailed
from .sql_ingest import Ingest
from .sql_plan import COLUMNS, Plan, Planner
from .sql_store import MemberTables
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
        self.tables = MemberTables(app.me.group, app.me.region)
        self.tables.start(app.raft.state)
        self._planner: Planner | None = None
        self._planner_lock = threading.Lock()
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
        queries = field(body, "queries", dict)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in queries.items()):
            raise HttpError(400, "bad_request", "queries must map names to SQL text")
        try:  # the read fence: after this commit is applied here, this replica has every earlier write
            await self.app.raft.commit(self.app.raft.state.barrier)
        except CommitFailed as exc:
            raise HttpError(503, "unavailable", f"group {self.app.me.group} cannot fence a read: {exc.reason}") \
                from None
        state = self.app.raft.state
        counts = {"kv": len(state.data.get(tenant, ())), "events": len(state.events.get(tenant, ()))}
        try:
            results = await asyncio.to_thread(self.tables.run, tenant, queries, float(QUERY["deadline_s"]))
        except HttpError:
            raise
        except Exception as exc:  # noqa: BLE001 - a member query the planner made: its error, in one line
            raise HttpError(400, "sql_error", f"member {self.app.me.name}: {sql_model.one_line(exc)}") from None
        return 200, {**self.app._who(), "results": results, "rows": counts}

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
            plan = await asyncio.to_thread(self._plan, sql, tables)
            parts, sources = await self._gather(tenant, {t: q.sql for t, q in plan.member.items()})
            columns, rows = await asyncio.to_thread(self._run, plan, parts)
        except HttpError as exc:
            self.seconds.labels(outcome=str(exc.status)).observe(time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        self.seconds.labels(outcome="200").observe(elapsed)
        return 200, {**self.app._who(), "coordinator": self.app.me.name, "columns": columns, "rows": rows,
                     "row_count": len(rows), "sources": sources, "plan": plan.kind, "elapsed_s": round(elapsed, 6)}

    def _plan(self, sql: str, tables: list[str]) -> Plan:
        """The plan (``testbed/sql_plan.py``); 400 for anything but one SELECT."""
        with self._planner_lock:
            if self._planner is None:
                con = sql_model.connect(1)
                for table in TABLES:
                    con.execute(f"CREATE TABLE {table} AS {sql_model.EMPTY[table]}")
                con.execute("SET enable_external_access = false")
                con.execute("SET lock_configuration = true")
                self._planner = Planner(con)
            sql_model.check_statement(self._planner.con, sql)
            return self._planner.plan(sql, tables, bool(self.app.faults.get("sql_wrong_null_aggregate")))

    async def _gather(self, tenant: str, queries: dict[str, str]) -> tuple[dict[str, list[dict]], list[dict]]:
        """Every group's answer to ``queries``, or 503 sql_incomplete (never a result over part of the data)."""
        deadline = time.monotonic() + float(QUERY["deadline_s"])
        groups = list(self.app.ring.groups)
        if self.app.faults.get("sql_drops_group_rows"):  # TEST ONLY: one group's rows silently left out
            groups = groups[:-1]
        results = await asyncio.gather(*(self._part(g, tenant, queries, deadline) for g in groups))
        missing = [{"group": g, "reason": res} for g, res in zip(groups, results, strict=True) if isinstance(res, str)]
        if missing:
            raise HttpError(503, "sql_incomplete", "no answer from every group: "
                            + "; ".join(f"{m['group']}: {m['reason']}" for m in missing), missing_groups=missing)
        parts: dict[str, list[dict]] = {t: [] for t in queries}
        sources = []
        for res in results:
            for t in queries:
                parts[t].append(res["results"][t])
            sources.append({"group": res["group"], "node": res["node"], "region": res["region"],
                            "rows": res.get("rows", {})})
        return parts, sources

    async def _part(self, group: str, tenant: str, queries: dict[str, str], deadline: float) -> dict | str:
        """One group's answer from the first member that gives it (a read: safe to ask another), or why not."""
        last = "no member answered"
        for _round in range(50):  # bounded; the deadline usually ends it first
            for member in self.members_in_order(group):
                left = deadline - time.monotonic()
                if left <= 0.05:
                    return f"deadline passed ({last})"
                try:
                    status, payload = await self.post_member(member, "/v1/internal/sql",
                                                             {"tenant": tenant, "queries": queries},
                                                             min(left, float(QUERY["part_timeout_s"])))
                except httpx.HTTPError as exc:
                    last = f"{member.name}: {exc.__class__.__name__}"
                    continue
                if status == 200 and payload.get("group") == group:
                    return payload
                if status in (400, 504):  # the member query itself failed: the same anywhere
                    error = payload.get("error", {})
                    raise HttpError(status, error.get("code", "sql_error"), error.get("message", "member query"))
                last = f"{member.name}: {status} {payload.get('error', {}).get('message', '')}".strip()
            await asyncio.sleep(0.1)
        return last

    def _run(self, plan: Plan, parts: dict[str, list[dict]]) -> tuple[list[dict], list[list]]:
        """Load the members' answers, lock the engine down, run the plan's SELECT (seconds: deadline_s)."""
        import duckdb  # late: see sql_model

        con = sql_model.connect()
        try:
            for table in TABLES:
                if table in parts:
                    _load(con, table, parts[table], plan.member[table].types)
                else:
                    con.execute(f"CREATE TABLE {table} AS {sql_model.EMPTY[table]}")
            con.execute("SET enable_external_access = false")  # the query cannot read or write files
            con.execute("SET lock_configuration = true")
            sql_model.check_statement(con, plan.final)
            timer = threading.Timer(float(QUERY["deadline_s"]), con.interrupt)
            timer.start()
            try:
                cursor = con.execute(plan.final)
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

    # -- events ingest (testbed/sql_ingest.py) --

    async def ingest(self, r: Request) -> tuple[int, dict]:
        return await self.ingest_service.handle(r)

    async def internal_events(self, r: Request) -> tuple[int, dict]:
        self._check_internal(r)
        return await self.ingest_service.internal(r)


def _load(con: Any, table: str, answers: list[dict], types: dict[str, str] | None) -> None:
    """The members' answers for ``table`` as one typed table: cells travel as JSON (exact text for
    decimals and timestamps) and are cast back to the type the plan (or the members) gives."""
    names = [c[0] for c in answers[0]["columns"]] if answers else list(types or COLUMNS[table])
    kinds = [(types or {}).get(n) or next((c[1] for c in answers[0]["columns"] if c[0] == n), "VARCHAR")
             for n in names]
    rows = [row for answer in answers for row in answer["rows"]]
    frame = sql_model.text_frame(names, rows)
    con.register("frame", frame)
    try:
        select = ", ".join(f'CAST("c{i}" AS {kind}) AS "{name.replace(chr(34), chr(34) * 2)}"'
                           for i, (name, kind) in enumerate(zip(names, kinds, strict=True)))
        con.execute(f"CREATE TABLE {table} AS SELECT {select} FROM frame")
    finally:
        con.unregister("frame")
