"""Federated SQL pushdown (issue 12), in-process: three groups' member tables (testbed/sql_store.py) and the
coordinator's planner and merge (testbed/sql.py, testbed/sql_plan.py) on the sql phase's wide rows, without
HTTP or Raft.

* Every suite query and every TLP query answers what the harness's oracle (tier7/sqlsuite.py, plain
  Python) expects, with NULLs everywhere, a group with no rows at all and a tenant with no rows; the plans
  really push down (partial aggregates, filters, top-N) rather than shipping every row.
* The member tables follow the replica incrementally (only the new tail is converted) and rebuild when the
  replica's rows are not the ones they hold.
* The TEST-ONLY switches still break the answer with pushdown: ``sql_drops_group_rows`` leaves a group out
  (the count is wrong), ``sql_wrong_null_aggregate`` reads NULL n as 0 in every plan.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from analysis.sql_compare import compare, tlp_check
from testbed import sql_model
from testbed.sql import SqlService
from testbed.sql_store import MemberTables
from tier7 import sqlsuite

GROUPS = ("g0", "g1", "g2")
TENANT = "t1"


def _grp(key: str) -> str:
    """The test's placement: g2 gets no key at all (an empty group)."""
    return "g0" if sum(map(ord, key)) % 2 else "g1"


class Cluster:
    """Three groups' member tables and a coordinator, wired without HTTP."""

    def __init__(self, rows: list[dict], kv: dict[str, str], faults: dict | None = None,
                 placement: Callable[[str], str] = _grp) -> None:
        stored = [sql_model.parse_row(sqlsuite.to_json(r), 256) for r in rows]
        self.members: dict[str, MemberTables] = {}
        for g in GROUPS:
            mine = [s for s in stored if placement(s[1]) == g]
            space = {k: [v, 1] for k, v in kv.items() if placement(k) == g}
            tables = MemberTables(g, "us-east")
            tables.state = SimpleNamespace(events={TENANT: mine}, data={TENANT: space}, revision=1)
            self.members[g] = tables
        self.service = SqlService.__new__(SqlService)
        self.service.app = SimpleNamespace(faults=faults or {}, me=SimpleNamespace(name="g0-us-east", group="g0"),
                                           ring=SimpleNamespace(groups=list(GROUPS)))
        self.service._planner = None
        self.service._planner_lock = threading.Lock()
        self.asked: list[str] = []

        async def part(group, tenant, queries, deadline):
            self.asked.append(group)
            return {"group": group, "node": f"{group}-us-east", "region": "us-east",
                    "results": self.members[group].run(tenant, queries, 20.0)}

        self.service._part = part

    def query(self, sql: str, tenant: str = TENANT) -> tuple[str, list[list]]:
        tables = [t for t in ("kv", "events") if t in sql.lower()]
        plan = self.service._plan(sql, tables)
        parts, _sources = asyncio.run(self.service._gather(tenant, {t: q.sql for t, q in plan.member.items()}))
        return plan.kind, self.service._run(plan, parts)[1]


@pytest.fixture(scope="module")
def data():
    rng = random.Random(12)
    keys = sqlsuite.make_keys(20)
    rows = sqlsuite.make_rows(rng, 900, keys)
    kv = {k: f"v-{k}-é" for k in keys[::2]}
    grp = {r["key"]: _grp(r["key"]) for r in rows}
    return rows, kv, grp, Cluster(rows, kv)


EXPECTED_PLANS = {"count": "aggregate", "aggregates_over_nulls": "aggregate", "filter_order": "rows",
                  "group_by_grp": "aggregate", "group_by_null_label": "aggregate", "order_limit": "rows",
                  "distinct": "rows", "join_kv_events": "ship", "one_group": "aggregate", "unicode_like": "aggregate"}


@pytest.mark.parametrize("name", list(EXPECTED_PLANS))
def test_every_suite_query_answers_what_the_oracle_expects(data, name):
    rows, kv, grp, cluster = data
    query = next(q for q in sqlsuite.suite(kv, "g0") if q.name == name)
    kind, answer = cluster.query(query.sql)
    assert kind == EXPECTED_PLANS[name]
    expected = sqlsuite.expected_json(query.oracle(rows, grp, "g0"), query.kinds)
    ok, why = compare(expected, answer, list(query.kinds), query.ordered)
    assert ok, why


def test_queries_on_the_empty_group_and_an_empty_tenant(data):
    rows, kv, grp, cluster = data
    query = next(q for q in sqlsuite.suite(kv, "g2") if q.name == "one_group")
    assert cluster.query(query.sql)[1] == [[0, None, None]]  # g2 holds no row: count 0, sums NULL
    agg = next(q for q in sqlsuite.suite(kv, "g0") if q.name == "aggregates_over_nulls")
    assert cluster.query(agg.sql, tenant="nobody")[1] == [[0, 0, None, None, None, None, None, None, None, 0, None]]
    assert cluster.query("SELECT label, count(*) FROM events GROUP BY label", tenant="nobody")[1] == []
    assert cluster.query("SELECT count(*), count(DISTINCT key), sum(DISTINCT n) FROM events",
                         tenant="nobody") == ("aggregate", [[0, 0, None]])
    assert cluster.query("SELECT grp, count(*) FROM events GROUP BY grp ORDER BY grp")[1] == [
        ["g0", sum(grp[r["key"]] == "g0" for r in rows)], ["g1", sum(grp[r["key"]] == "g1" for r in rows)]]


@pytest.mark.parametrize("predicate", sqlsuite.TLP_PREDICATES)
def test_tlp_holds_and_each_partition_matches_a_pushed_down_count(data, predicate):
    _rows, _kv, _grp, cluster = data
    kind, answer = cluster.query(sqlsuite.tlp_sql(predicate))
    assert kind == "ship" and tlp_check(answer)[0]
    parts = {row[0]: row[1:] for row in answer}
    for part, cond in (("true", f"({predicate})"), ("false", f"NOT ({predicate})"), ("null", f"({predicate}) IS NULL")):
        kind, pushed = cluster.query(f"SELECT count(*) AS c, sum(id) AS s FROM events WHERE {cond}")
        assert kind == "aggregate" and pushed == [parts[part]]


@pytest.mark.parametrize("sql", [
    "SELECT e.label AS l, count(*) AS c, max(e.n), min(ts), avg(amount) FROM events e WHERE e.score > 0 "
    "GROUP BY e.label HAVING count(*) > 1 ORDER BY c DESC, l NULLS FIRST LIMIT 4",
    "SELECT key, sum(n) * 2 AS twice, count(n) FROM events GROUP BY key ORDER BY key",
    "SELECT id, n FROM events WHERE n IS NULL ORDER BY id DESC LIMIT 7 OFFSET 3",
    "SELECT DISTINCT label, grp FROM events WHERE label IS NOT NULL ORDER BY 1, 2",
    "SELECT count(DISTINCT label), median(n) FROM events WHERE amount < 0",
    "SELECT id, row_number() OVER (ORDER BY id) FROM events WHERE n > 0 ORDER BY id LIMIT 5",
    "SELECT * FROM events WHERE id < 0 ORDER BY id LIMIT 3",
    "SELECT label FROM events GROUP BY label ORDER BY label NULLS LAST",
    "SELECT grp, count(DISTINCT key), count(*), sum(DISTINCT n), avg(DISTINCT score), min(DISTINCT ts), "
    "count(DISTINCT grp) FROM events WHERE label IS NOT NULL GROUP BY grp ORDER BY grp",
    "SELECT count(DISTINCT amount), count(DISTINCT label), max(n) FROM events WHERE n < 0",
])
def test_pushdown_matches_the_engine_on_all_rows(data, sql):
    """The same query on one DuckDB holding every row (no pushdown) answers the same."""
    rows, _kv, grp, cluster = data
    con = sql_model.connect(1)
    stored = [sql_model.parse_row(sqlsuite.to_json(r), 256) for r in rows]
    con.register("frame", sql_model.events_frame(stored))
    con.execute("CREATE TABLE e0 AS " + sql_model.EVENTS_SQL, ["x", "us-east"])
    con.execute("CREATE TABLE events AS SELECT * REPLACE (CASE WHEN hash(key) IS NULL THEN '' END AS grp) "
                "FROM e0 WHERE false")
    for g in ("g0", "g1"):
        keys = sorted({s[1] for s in stored if grp[s[1]] == g})
        con.execute("INSERT INTO events SELECT * REPLACE (? AS grp) FROM e0 WHERE list_contains(?, key)", [g, keys])
    whole = [[sql_model.encode(v) for v in row] for row in con.execute(sql).fetchall()]
    con.close()
    _kind, answer = cluster.query(sql)
    assert len(answer) == len(whole)
    for got, want in zip(answer, whole, strict=True):  # floats: the partial sums add up in another order
        assert [pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for v in want] == got


def test_member_tables_follow_the_replica_incrementally():
    rows = [sql_model.parse_row({"id": i, "key": f"k{i}", "n": i or None}, 256) for i in range(10)]
    tables = MemberTables("g0", "eu")
    live = rows[:4]
    tables.state = SimpleNamespace(events={TENANT: live}, data={}, revision=0)
    assert tables.sync_all() == 4 and tables.sync_all() == 0
    live.extend(rows[4:])
    assert tables.sync_all() == 6
    got = tables.run(TENANT, {"q": "SELECT count(*), count(n), min(grp), min(region) FROM events"}, 5.0)["q"]
    assert got["rows"] == [(10, 9, "g0", "eu")]
    tables.state.events[TENANT] = [sql_model.parse_row({"id": 99, "key": "z"}, 256)]  # not the rows held
    assert tables.run(TENANT, {"q": "SELECT list(id) FROM events"}, 5.0)["q"]["rows"] == [[[99]]]


def test_member_queries_cannot_touch_files(data):
    cluster = data[3]
    with pytest.raises(Exception, match="(?i)external|disabled|permission"):
        cluster.members["g0"].run(TENANT, {"q": "SELECT * FROM read_csv('/etc/hostname')"}, 5.0)
    from testbed.web import HttpError

    with pytest.raises(HttpError) as caught:
        cluster.query("SELECT count(*) FROM events WHERE key IN (SELECT * FROM read_csv('/etc/hostname'))")
    assert caught.value.status == 400


def _grp3(key: str) -> str:
    return f"g{sum(map(ord, key)) % 3}"


def test_drops_group_rows_switch_is_caught_with_pushdown(data):
    """Every group holds rows here: the switch leaves g2 out and the suite's answers are wrong."""
    rows, kv, _grp, _healthy = data
    grp = {r["key"]: _grp3(r["key"]) for r in rows}
    healthy, broken = Cluster(rows, kv, placement=_grp3), Cluster(rows, kv, {"sql_drops_group_rows": True}, _grp3)
    wrong = []
    for query in sqlsuite.suite(kv, "g0"):
        expected = sqlsuite.expected_json(query.oracle(rows, grp, "g0"), query.kinds)
        assert compare(expected, healthy.query(query.sql)[1], list(query.kinds), query.ordered)[0], query.name
        broken.asked.clear()
        answer = broken.query(query.sql)[1]
        assert broken.asked == ["g0", "g1"]
        if not compare(expected, answer, list(query.kinds), query.ordered)[0]:
            wrong.append(query.name)
    assert {"count", "aggregates_over_nulls", "group_by_grp", "join_kv_events"} <= set(wrong)
    assert "one_group" not in wrong  # g0's own rows are all there


def test_wrong_null_aggregate_switch_is_caught_in_every_plan(data):
    rows, kv, grp, _healthy = data
    broken = Cluster(rows, kv, {"sql_wrong_null_aggregate": True})
    for name in ("aggregates_over_nulls", "group_by_grp"):
        query = next(q for q in sqlsuite.suite(kv, "g0") if q.name == name)
        expected = sqlsuite.expected_json(query.oracle(rows, grp, "g0"), query.kinds)
        ok, _why = compare(expected, broken.query(query.sql)[1], list(query.kinds), query.ordered)
        assert not ok, name
    nulls = "SELECT count(*) FROM events WHERE n IS NULL"  # the member's filter reads them as 0 too
    assert broken.query(nulls) == ("aggregate", [[0]]) and _healthy.query(nulls)[1][0][0] > 0
    join = "SELECT count(e.n) FROM kv k JOIN events e ON e.key = k.key"  # rows shipped: read as 0 too
    assert broken.query(join)[0] == "ship" and broken.query(join)[1] != _healthy.query(join)[1]
    distinct = "SELECT count(DISTINCT n) FILTER (WHERE n IS NULL OR n = 0) FROM events"  # the filter plan
    assert broken.query(distinct) == ("filter", [[1]]) and _healthy.query(distinct)[1] == [[1 if any(
        r["n"] == 0 for r in rows) else 0]]
