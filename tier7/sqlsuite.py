"""The SQL phase's data and query suite, with the harness's own oracle (plain Python over its own record of
the rows it wrote: never the target's engine).

Rows are wide on purpose: unicode keys and labels (multi-byte, emoji, quotes, LIKE wildcards, empty),
NULL in every nullable column, negative/zero/near-limit 64-bit integers, decimals with 6 places (negative,
tiny, 20 integer digits) and timestamps with and without microseconds from 1970 to 2099.

Each query declares its column kinds (``int``, ``dec``, ``float``, ``str``, ``ts``) and whether its row order
is part of the answer; ``analysis.sql_compare`` compares with those rules.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

Row = dict[str, Any]
LABELS = ["alpha", "Ünïcödé", "中文标签", "emoji 😀🚀", "it's", "50% off", "under_score", "", "ALPHA", "ß"]
KEYS_EXTRA = ["ключ", "键/2", "emoji😀", "a b", "quote'key", "x%y_z"]
BIG = 2 ** 62
EXACT = Context(prec=80)  # decimal sums and rounding without the default 28-digit precision


def make_keys(count: int) -> list[str]:
    """KV keys the join uses: plain and unicode (events refer to these and to keys the KV lacks)."""
    return [f"sql-k{i}" for i in range(max(count - len(KEYS_EXTRA), 1))] + KEYS_EXTRA


def make_rows(rng: random.Random, count: int, keys: list[str]) -> list[Row]:
    """``count`` event rows with unique ids, as Python values (the record) and JSON (``to_json``)."""
    ids: list[int] = []
    seen: set[int] = set()
    while len(ids) < count:  # unique ids over the whole signed 63-bit range (a few collide: drawn again)
        ident = rng.randint(-BIG, BIG)
        if ident not in seen:
            seen.add(ident)
            ids.append(ident)
    rows = []
    for i, ident in enumerate(ids):
        pick = rng.random()
        n = None if pick < 0.15 else rng.choice([0, 1, -1, BIG, -BIG, 2 ** 63 - 1 - i, -(2 ** 63) + i,
                                                   rng.randint(-10 ** 6, 10 ** 6), rng.randint(-100, 100)])
        amount = None if rng.random() < 0.15 else Decimal(rng.choice([
            f"{rng.randint(-10 ** 6, 10 ** 6)}.{rng.randint(0, 999999):06d}", "0.000001", "-0.000001", "0",
            f"{rng.randint(10 ** 19, 10 ** 20 - 1)}.{rng.randint(0, 999999):06d}", f"-{rng.randint(1, 999)}.5"]))
        ts = None if rng.random() < 0.15 else (
            dt.datetime(1970, 1, 1) + dt.timedelta(seconds=rng.randint(0, 4_102_444_799),
                                                   microseconds=rng.choice([0, rng.randint(1, 999_999)])))
        label = None if rng.random() < 0.2 else rng.choice(LABELS)
        score = None if rng.random() < 0.2 else rng.choice([0.0, 0.5, -1.25, rng.uniform(-1e6, 1e6),
                                                            rng.uniform(0, 1), 1e-300])
        key = rng.choice(keys) if rng.random() < 0.7 else f"orphan-{rng.randint(0, 50)}-é"
        rows.append({"id": ident, "key": key, "n": n, "amount": amount, "ts": ts, "label": label, "score": score})
    return rows


def to_json(row: Row) -> dict[str, Any]:
    """A record row as the events endpoint takes it (decimals and timestamps as text)."""
    return {**row, "amount": None if row["amount"] is None else format(row["amount"], "f"),
            "ts": None if row["ts"] is None else row["ts"].isoformat()}


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    kinds: tuple[str, ...]
    ordered: bool
    oracle: Callable[[list[Row], dict[str, str], str], list[list[Any]]]  # rows, key->grp, first group
    touches: str = "all groups"


def _dec(d: Decimal | None) -> str | None:
    return None if d is None else format(d.quantize(Decimal("0.000001"), context=EXACT), "f")


def _ts(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat(sep=" ")


def _nn(rows: list[Row], col: str) -> list[Any]:
    return [r[col] for r in rows if r[col] is not None]


def _avg(values: list[Any]) -> float | None:
    return float(sum(values)) / len(values) if values else None


def _sum(values: list[Any]) -> Any:
    if values and isinstance(values[0], Decimal):
        total = Decimal(0)
        for value in values:
            total = EXACT.add(total, value)
        return total
    return sum(values) if values else None


def _aggregates(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    n, amount, score = _nn(rows, "n"), _nn(rows, "amount"), _nn(rows, "score")
    return [[len(rows), len(n), _sum(n), min(n) if n else None, max(n) if n else None, _avg(n),
             _dec(_sum(amount)), _dec(min(amount)) if amount else None, _avg(score), len(_nn(rows, "label")),
             _ts(min(_nn(rows, "ts"))) if _nn(rows, "ts") else None]]


def _by_group(rows: list[Row], grp: dict[str, str], _f: str) -> list[list[Any]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(grp[r["key"]], []).append(r)
    return [[g, len(rs), _dec(_sum(_nn(rs, "amount"))), len(_nn(rs, "n"))] for g, rs in out.items()]


def _by_label(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    out: dict[Any, list[Row]] = {}
    for r in rows:
        out.setdefault(r["label"], []).append(r)
    return [[label, len(rs), _sum(_nn(rs, "n")), _avg(_nn(rs, "score"))] for label, rs in out.items()]


def _filter(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    hit = [r for r in rows if r["n"] is not None and r["n"] > 0 and r["label"] is not None
           and r["ts"] is not None and r["ts"] >= dt.datetime(2000, 1, 1)]
    return [[r["id"], r["label"], _ts(r["ts"])] for r in sorted(hit, key=lambda r: r["id"])][:500]


def _top(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    hit = sorted((r for r in rows if r["amount"] is not None), key=lambda r: (-r["amount"], r["id"]))
    return [[r["id"], _dec(r["amount"]), r["key"]] for r in hit[:25]]


def _distinct(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    return [[label] for label in {r["label"] for r in rows}]


def _join(kv: dict[str, str]) -> Callable[[list[Row], dict, str], list[list[Any]]]:
    def oracle(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
        out: dict[str, list[Row]] = {}
        for r in rows:
            if r["key"] in kv:
                out.setdefault(r["key"], []).append(r)
        return [[k, kv[k], len(rs), _sum(_nn(rs, "n"))] for k, rs in out.items()]
    return oracle


def _one_group(rows: list[Row], grp: dict[str, str], first: str) -> list[list[Any]]:
    mine = [r for r in rows if grp[r["key"]] == first]
    return [[len(mine), _sum(_nn(mine, "n")), _dec(_sum(_nn(mine, "amount")))]]


def _unicode(rows: list[Row], _g: dict, _f: str) -> list[list[Any]]:
    hit = [r for r in rows if r["label"] is not None and (r["label"].startswith("emoji") or "%" in r["label"]
                                                          or r["label"] == "ß")]
    return [[len(hit), len({r["key"] for r in hit})]]


def suite(kv: dict[str, str], first_group: str) -> list[Query]:
    """The query suite; ``kv`` is the harness's record of the KV rows, ``first_group`` the one-group query's."""
    return [
        Query("count", "SELECT count(*) AS c FROM events", ("int",), False, lambda r, g, f: [[len(r)]]),
        Query("aggregates_over_nulls",
              "SELECT count(*), count(n), sum(n), min(n), max(n), avg(n), sum(amount), min(amount), avg(score), "
              "count(label), min(ts) FROM events",
              ("int", "int", "int", "int", "int", "float", "dec", "dec", "float", "int", "ts"), False, _aggregates),
        Query("filter_order",
              "SELECT id, label, ts FROM events WHERE n > 0 AND label IS NOT NULL "
              "AND ts >= TIMESTAMP '2000-01-01 00:00:00' ORDER BY id LIMIT 500",
              ("int", "str", "ts"), True, _filter),
        Query("group_by_grp", "SELECT grp, count(*), sum(amount), count(n) FROM events GROUP BY grp",
              ("str", "int", "dec", "int"), False, _by_group),
        Query("group_by_null_label", "SELECT label, count(*), sum(n), avg(score) FROM events GROUP BY label",
              ("str", "int", "int", "float"), False, _by_label),
        Query("order_limit", "SELECT id, amount, key FROM events WHERE amount IS NOT NULL "
              "ORDER BY amount DESC, id ASC LIMIT 25", ("int", "dec", "str"), True, _top),
        Query("distinct", "SELECT DISTINCT label FROM events", ("str",), False, _distinct),
        Query("join_kv_events", "SELECT k.key, k.value, count(*), sum(e.n) FROM kv k JOIN events e ON e.key = k.key "
              "GROUP BY k.key, k.value", ("str", "str", "int", "int"), False, _join(kv)),
        Query("one_group", f"SELECT count(*), sum(n), sum(amount) FROM events WHERE grp = '{first_group}'",
              ("int", "int", "dec"), False, _one_group, touches=first_group),
        Query("unicode_like", "SELECT count(*), count(DISTINCT key) FROM events WHERE label LIKE 'emoji%' "
              "OR label LIKE '%\\%%' ESCAPE '\\' OR label = 'ß'", ("int", "int"), False, _unicode),
    ]


# TLP (ternary logic partitioning, as SQLancer): for a predicate p, the rows where p, where NOT p and where
# p IS NULL are disjoint and make up the table: their counts and sums of id add up to the whole's.
TLP_PREDICATES = ["n > 0", "score < 0.5", "label = 'alpha'", "amount > 100", "ts < TIMESTAMP '2025-01-01'",
                  "key LIKE 'sql-k%'", "label <> ''"]


def tlp_sql(predicate: str) -> str:
    parts = [("whole", "true"), ("true", f"({predicate})"), ("false", f"NOT ({predicate})"),
             ("null", f"({predicate}) IS NULL")]
    return " UNION ALL ".join(f"SELECT '{name}' AS part, count(*) AS c, sum(id) AS s FROM events WHERE {cond}"
                              for name, cond in parts)


def expected_json(rows: list[list[Any]], kinds: tuple[str, ...]) -> list[list[Any]]:
    """The oracle's rows in the answer's JSON form (decimals and timestamps already text)."""
    return [[v if not isinstance(v, Decimal) else _dec(v) for v in row] for row in rows]
