"""The SQL criterion's pure parts on hand-made data: the comparison rules (row order, float tolerance,
decimals, NULL), the TLP union check, and the harness's oracle against the testbed's engine (DuckDB, run here
in-process on the same rows) for every suite query and TLP predicate: the oracle and the engine must agree
on right data, and a wrong answer must be caught."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from analysis.sql_compare import compare, tlp_check
from testbed import sql_model
from tier7 import sqlsuite

# -- comparison rules --


def test_unordered_results_compare_as_multisets_and_ordered_ones_row_by_row():
    kinds = ["str", "int"]
    assert compare([["a", 1], ["b", 2]], [["b", 2], ["a", 1]], kinds, ordered=False)[0]
    ok, why = compare([["a", 1], ["b", 2]], [["b", 2], ["a", 1]], kinds, ordered=True)
    assert not ok and "row 0" in why
    assert not compare([["a", 1], ["a", 1]], [["a", 1]], kinds, ordered=False)[0]  # a missing duplicate
    assert not compare([["a", 1], ["a", 1]], [["a", 1], ["a", 2]], kinds, ordered=False)[0]


def test_floats_within_tolerance_decimals_exact_ints_exact_null_only_null():
    assert compare([[1.0]], [[1.0 + 1e-9]], ["float"], True)[0]
    assert not compare([[1.0]], [[1.001]], ["float"], True)[0]
    assert compare([[0.0]], [[1e-9]], ["float"], True)[0]  # absolute tolerance near zero
    assert compare([["1.5"]], [["1.500000"]], ["dec"], True)[0]
    assert not compare([["1.5"]], [["1.500001"]], ["dec"], True)[0]
    assert not compare([[2 ** 63]], [[2 ** 63 - 1]], ["int"], True)[0]
    assert not compare([[1]], [[1.0]], ["int"], True)[0]
    assert not compare([[None]], [[0]], ["int"], True)[0]
    assert not compare([[0]], [[None]], ["int"], True)[0]
    assert compare([[None]], [[None]], ["float"], True)[0]
    assert not compare([["é"]], [["e"]], ["str"], True)[0]
    assert not compare([[1]], None, ["int"], True)[0]


def test_tlp_partitions_must_add_up():
    good = [["whole", 10, 55], ["true", 4, 10], ["false", 5, 40], ["null", 1, 5]]
    assert tlp_check(good)[0]
    assert not tlp_check([["whole", 10, 55], ["true", 4, 10], ["false", 5, 40], ["null", 0, None]])[0]
    assert not tlp_check([["whole", 10, 55], ["true", 4, 10], ["false", 6, 40], ["null", 0, None]])[0]
    assert not tlp_check(good[:3])[0]
    assert not tlp_check("error")[0]


# -- the oracle against the testbed's engine on the same hand-made rows --


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Wide rows (the phase's generator), loaded the testbed's way into DuckDB, in three 'groups'."""
    rng = random.Random(7)
    keys = sqlsuite.make_keys(20)
    rows = sqlsuite.make_rows(rng, 600, keys)
    kv = {k: f"v-{k}-é" for k in keys[::2]}
    grp = {r["key"]: f"g{sum(map(ord, r['key'])) % 3}" for r in rows}
    stored = [sql_model.parse_row(sqlsuite.to_json(r), 256) for r in rows]
    tmp = tmp_path_factory.mktemp("sql")
    con = sql_model.connect(1)
    parts = {"events": [], "kv": []}
    for g in ("g0", "g1", "g2"):
        mine = [s for s in stored if grp[s[1]] == g]
        parts["events"].append(sql_model.partition_parquet(sql_model.events_frame(mine), "events", g, "r",
                                                           tmp / f"e{g}.parquet"))
        space = {k: [v, 1] for k, v in kv.items() if sum(map(ord, k)) % 3 == int(g[1])}
        parts["kv"].append(sql_model.partition_parquet(sql_model.kv_frame(space), "kv", g, "r", tmp / f"k{g}.parquet"))
    for table, blobs in parts.items():
        paths = []
        for i, blob in enumerate(blobs):
            path = Path(tmp / f"{table}{i}.parquet")
            path.write_bytes(base64.b64decode(blob))
            paths.append(str(path))
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet({paths!r})")
    yield rows, kv, grp, con
    con.close()


def _engine(con, sql):
    return [[sql_model.encode(v) for v in row] for row in con.execute(sql).fetchall()]


@pytest.mark.parametrize("name", [q.name for q in sqlsuite.suite({}, "g0")])
def test_oracle_agrees_with_the_engine_on_right_data(data, name):
    rows, kv, grp, con = data
    query = next(q for q in sqlsuite.suite(kv, "g0") if q.name == name)
    expected = sqlsuite.expected_json(query.oracle(rows, grp, "g0"), query.kinds)
    ok, why = compare(expected, _engine(con, query.sql), list(query.kinds), query.ordered)
    assert ok, why


def test_wrong_answers_are_caught(data):
    rows, kv, grp, con = data
    suite = {q.name: q for q in sqlsuite.suite(kv, "g0")}
    # one group's rows missing: the count differs
    count = suite["count"]
    assert not compare(count.oracle(rows, grp, "g0"), _engine(con, "SELECT count(*) FROM events WHERE grp <> 'g2'"),
                       list(count.kinds), False)[0]
    # NULL integers as 0: COUNT(n) and AVG(n) differ
    agg = suite["aggregates_over_nulls"]
    wrong = _engine(con, agg.sql.replace("FROM events", "FROM (SELECT * REPLACE (COALESCE(n, 0) AS n) FROM events)"))
    assert not compare(sqlsuite.expected_json(agg.oracle(rows, grp, "g0"), agg.kinds), wrong, list(agg.kinds),
                       False)[0]
    # a reversed order: the ordered query fails, the multiset rule would not
    top = suite["order_limit"]
    expected = sqlsuite.expected_json(top.oracle(rows, grp, "g0"), top.kinds)
    assert not compare(expected, list(reversed(_engine(con, top.sql))), list(top.kinds), True)[0]


@pytest.mark.parametrize("predicate", sqlsuite.TLP_PREDICATES)
def test_tlp_holds_on_the_engine(data, predicate):
    assert tlp_check(_engine(data[3], sqlsuite.tlp_sql(predicate)))[0]


def test_row_validation_refuses_bad_shapes():
    good = {"id": 1, "key": "k", "n": None, "amount": "-1.5", "ts": "2024-01-02T03:04:05.5", "label": "é",
            "score": 0.5}
    assert sql_model.parse_row(good, 256)[3] == "-1.500000"
    for bad in ({**good, "id": 2 ** 63}, {**good, "id": True}, {**good, "amount": 1.5}, {**good, "amount": "1e5"},
                {**good, "ts": "2024-01-02T03:04:05+01:00"}, {**good, "score": float("nan")}, {**good, "key": ""},
                {**good, "extra": 1}, {**good, "label": "a\x00b"}):
        with pytest.raises(ValueError):
            sql_model.parse_row(bad, 256)
