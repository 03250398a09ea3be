"""A member's SQL tables (issue 12): each tenant's partition of this replica in an in-memory DuckDB, kept in
step with the replicated state incrementally, so a query never rebuilds a partition.

``events`` is append-only in the replicated state (``KVState.events``): the table takes the rows appended
since it last looked (their tail by position), checked by the id of the last row it holds (a replica that
installed a snapshot holds the same prefix; anything else rebuilds the table). A background thread takes the
tail every ``sync_s`` seconds while events arrive, and a query takes what is left after its read fence.
``kv`` (small, rewritten in place) is rebuilt when the replica's revision moved since it was last built.

Views a member query reads: ``events`` and ``kv`` (with ``grp`` = this group, ``region`` = this member's
region) and ``events_n0`` (TEST ONLY, ``sql_wrong_null_aggregate``: events with NULL ``n`` read as 0).
Each tenant's database is a connection of its own with external access off: a member query (printed by
the coordinator's planner from the caller's SQL) sees only that tenant's rows and no file.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from . import sql_model

if TYPE_CHECKING:
    from .store import KVState

log = logging.getLogger("testbed.sql")
EVENTS_BASE = ("CREATE TABLE events_base (id BIGINT, key VARCHAR, n BIGINT, amount DECIMAL(38,6), ts TIMESTAMP, "
               "label VARCHAR, score DOUBLE)")
EVENTS_INSERT = ("INSERT INTO events_base SELECT CAST(id AS BIGINT), CAST(key AS VARCHAR), CAST(n AS BIGINT), "
                 "CAST(amount AS DECIMAL(38,6)), CAST(ts AS TIMESTAMP), CAST(label AS VARCHAR), "
                 "CAST(score AS DOUBLE) FROM frame")
SYNC_CHUNK = 50_000  # rows converted at once (bounds the memory of one step)
NATIVE = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "VARCHAR", "DOUBLE",
          "FLOAT", "BOOLEAN"}


class TenantTables:
    def __init__(self, group: str, region: str) -> None:
        self.lock = threading.Lock()
        self.con = sql_model.connect()
        self.synced = 0
        self.last_id: int | None = None
        self.kv_revision: int | None = None
        quoted_group, quoted_region = _quote(group), _quote(region)
        self.con.execute(EVENTS_BASE)
        self.con.execute("CREATE TABLE kv_base (key VARCHAR, value VARCHAR, version BIGINT)")
        self.con.execute(f"CREATE VIEW events AS SELECT *, CAST({quoted_group} AS VARCHAR) AS grp, "
                         f"CAST({quoted_region} AS VARCHAR) AS region FROM events_base")
        self.con.execute("CREATE VIEW events_n0 AS SELECT * REPLACE (COALESCE(n, 0) AS n) FROM events")
        self.con.execute(f"CREATE VIEW kv AS SELECT *, CAST({quoted_group} AS VARCHAR) AS grp, "
                         f"CAST({quoted_region} AS VARCHAR) AS region FROM kv_base")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def sync_events(self, rows: list[tuple]) -> int:
        """Take the rows appended since the last sync (call with ``lock`` held); rows added."""
        total = len(rows)
        if self.synced > total or (self.synced and rows[self.synced - 1][0] != self.last_id):
            log.warning("sql tables: the replica's events are not the ones held; rebuilding")
            self.con.execute("DELETE FROM events_base")
            self.synced, self.last_id = 0, None
        added = 0
        for _step in range(total // SYNC_CHUNK + 2):  # bounded: SYNC_CHUNK rows a step
            if self.synced >= total:
                break
            tail = rows[self.synced:min(total, self.synced + SYNC_CHUNK)]
            self.con.register("frame", sql_model.events_frame(tail))
            try:
                self.con.execute(EVENTS_INSERT)
            finally:
                self.con.unregister("frame")
            self.synced += len(tail)
            self.last_id = tail[-1][0]
            added += len(tail)
        return added

    def sync_kv(self, space: dict[str, list[Any]], revision: int) -> None:
        if revision == self.kv_revision:
            return
        self.con.execute("DELETE FROM kv_base")
        if space:
            self.con.register("frame", sql_model.kv_frame(space))
            try:
                self.con.execute("INSERT INTO kv_base SELECT CAST(key AS VARCHAR), CAST(value AS VARCHAR), "
                                 "CAST(version AS BIGINT) FROM frame")
            finally:
                self.con.unregister("frame")
        self.kv_revision = revision


class MemberTables:
    """Every tenant's tables of this member, and the background sync."""

    def __init__(self, group: str, region: str, sync_s: float = 1.0) -> None:
        self.group, self.region, self.sync_s = group, region, sync_s
        self._tenants: dict[str, TenantTables] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: KVState | None = None

    def tenant(self, tenant: str) -> TenantTables:
        with self._lock:
            tables = self._tenants.get(tenant)
            if tables is None:
                tables = self._tenants[tenant] = TenantTables(self.group, self.region)
            return tables

    def start(self, state: KVState) -> None:
        """Keep every tenant's events table in step with ``state`` from a daemon thread."""
        self.state = state
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sql-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.sync_s):
            try:
                self.sync_all()
            except Exception:  # noqa: BLE001 - a query syncs again itself; keep the thread alive
                log.exception("sql tables: background sync failed")

    def sync_all(self) -> int:
        state = self.state
        if state is None:
            return 0
        added = 0
        for tenant in list(state.events):  # a C-level copy of the keys
            rows = state.events.get(tenant)
            if rows is None:
                continue
            tables = self.tenant(tenant)
            if tables.synced == len(rows):
                continue
            with tables.lock:
                added += tables.sync_events(rows)
        return added

    def run(self, tenant: str, queries: dict[str, str], deadline_s: float) -> dict[str, dict[str, Any]]:
        """Bring ``tenant``'s tables up to the replica (after the caller's read fence) and run each member
        query; per query its columns ([name, type]) and rows (JSON values)."""
        import duckdb

        state = self.state
        tables = self.tenant(tenant)
        out: dict[str, dict[str, Any]] = {}
        with tables.lock:
            if state is not None:
                began = time.perf_counter()
                tables.sync_events(state.events.get(tenant, []))
                if any("kv" in sql for sql in queries.values()):
                    tables.sync_kv(dict(state.data.get(tenant, {})), state.revision)
                log.debug("sql tables synced in %.3f s", time.perf_counter() - began)
            for name, sql in queries.items():
                sql_model.check_statement(tables.con, sql)
                timer = threading.Timer(deadline_s, tables.con.interrupt)
                timer.start()
                try:
                    cursor = tables.con.execute(sql)
                    rows = cursor.fetchall()
                except duckdb.InterruptException:
                    from .web import HttpError

                    raise HttpError(504, "sql_timeout", f"member query ran longer than {deadline_s} s") from None
                finally:
                    timer.cancel()
                columns = [[d[0], str(d[1])] for d in cursor.description or []]
                out[name] = {"columns": columns, "rows": _json_rows(rows, columns)}
        return out


def _json_rows(rows: list[tuple], columns: list[list[str]]) -> list[Any]:
    """Rows as JSON values: native columns as they are, others (DECIMAL, TIMESTAMP...) as exact text."""
    odd = [i for i, (_, kind) in enumerate(columns) if kind not in NATIVE]
    if not odd:
        return rows  # tuples: JSON arrays
    out = []
    for row in rows:
        values = list(row)
        for i in odd:
            values[i] = sql_model.encode(values[i])
        out.append(values)
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

