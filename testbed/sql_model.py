"""The SQL table model of contract v5: event rows (validation, canonical form) and the DuckDB side (a group's
partition as Parquet, the coordinator's tables, the statement check, JSON encoding of results).

Tables a query sees (tenant-scoped: only the caller's rows):
  kv(key VARCHAR, value VARCHAR, version BIGINT, grp VARCHAR, region VARCHAR)
  events(id BIGINT, key VARCHAR, n BIGINT, amount DECIMAL(38,6), ts TIMESTAMP, label VARCHAR, score DOUBLE,
         grp VARCHAR, region VARCHAR)
``grp`` is the Raft group that stores the row, ``region`` the region of the member that served it.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import tomllib
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .web import HttpError

if TYPE_CHECKING:  # imported when first used: a node that never serves SQL never loads them (~1 s, ~60 MB)
    import duckdb
    import pandas as pd

SETTINGS = tomllib.loads((Path(__file__).with_name("sql.toml")).read_text(encoding="utf-8"))
EVENT_COLUMNS = ("id", "key", "n", "amount", "ts", "label", "score")
INT64 = (-(2 ** 63), 2 ** 63 - 1)
DECIMAL_RE = re.compile(r"^-?\d{1,32}(\.\d{1,6})?$")  # fits DECIMAL(38,6)
# Every column cast explicitly: an empty partition's columns have no type of their own.
EVENTS_SQL = ("SELECT CAST(id AS BIGINT) AS id, CAST(key AS VARCHAR) AS key, CAST(n AS BIGINT) AS n, CAST(amount AS DECIMAL(38,6)) AS amount, "
              "CAST(ts AS TIMESTAMP) AS ts, CAST(label AS VARCHAR) AS label, CAST(score AS DOUBLE) AS score, "
              "CAST(? AS VARCHAR) AS grp, CAST(? AS VARCHAR) AS region FROM frame")
KV_SQL = ("SELECT CAST(key AS VARCHAR) AS key, CAST(value AS VARCHAR) AS value, CAST(version AS BIGINT) AS version, CAST(? AS VARCHAR) AS grp, "
          "CAST(? AS VARCHAR) AS region FROM frame")
EMPTY = {"events": "SELECT NULL::BIGINT AS id, NULL::VARCHAR AS key, NULL::BIGINT AS n, NULL::DECIMAL(38,6) AS amount,"
                   " NULL::TIMESTAMP AS ts, NULL::VARCHAR AS label, NULL::DOUBLE AS score, NULL::VARCHAR AS grp,"
                   " NULL::VARCHAR AS region WHERE false",
         "kv": "SELECT NULL::VARCHAR AS key, NULL::VARCHAR AS value, NULL::BIGINT AS version, NULL::VARCHAR AS grp,"
               " NULL::VARCHAR AS region WHERE false"}


def _int(name: str, value: Any, nullable: bool) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"{name} must be a 64-bit integer{' or null' if nullable else ''}")
    return value


def parse_row(row: Any, max_key_bytes: int) -> tuple:
    """One event row (JSON object) as the stored tuple, in EVENT_COLUMNS order; ValueError names the field."""
    if not isinstance(row, dict):
        raise ValueError("each row must be a JSON object")
    unknown = set(row) - set(EVENT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    key = row.get("key")
    if not isinstance(key, str) or not key or len(key.encode()) > max_key_bytes:
        raise ValueError(f"key must be a non-empty string of at most {max_key_bytes} bytes")
    amount = row.get("amount")
    if amount is not None:
        if not isinstance(amount, str) or not DECIMAL_RE.match(amount):
            raise ValueError("amount must be a decimal string (up to 32 digits, 6 after the point) or null")
        try:
            amount = format(Decimal(amount).quantize(Decimal("0.000001"), context=Context(prec=60)), "f")
        except InvalidOperation:
            raise ValueError("amount must be a decimal string") from None
    ts = row.get("ts")
    if ts is not None:
        try:
            if not isinstance(ts, str) or len(ts) > 32:
                raise ValueError
            parsed = dt.datetime.fromisoformat(ts)
        except ValueError:
            raise ValueError("ts must be an ISO 8601 timestamp without a zone, or null") from None
        if parsed.tzinfo is not None or not 1 <= parsed.year <= 9999:
            raise ValueError("ts must be an ISO 8601 timestamp without a zone, or null")
        ts = parsed.isoformat(sep=" ")
    label = row.get("label")
    if label is not None and (not isinstance(label, str) or len(label.encode()) > 4096 or "\x00" in label):
        raise ValueError("label must be a string of at most 4096 bytes without NUL, or null")
    score = row.get("score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(float(score)):
            raise ValueError("score must be a finite number or null")
        score = float(score)
    return (_int("id", row.get("id"), False), key, _int("n", row.get("n"), True), amount, ts, label, score)


def stored_row(row: Any) -> tuple:
    """A row in its stored form as a peer forwards it (JSON list), shape-checked: the entry node parsed it."""
    if not isinstance(row, list) or len(row) != len(EVENT_COLUMNS) or isinstance(row[0], bool) \
            or not isinstance(row[0], int) or not isinstance(row[1], str):
        raise ValueError("a forwarded row must be [id, key, n, amount, ts, label, score]")
    return tuple(row)


def _text(values: list[Any]) -> list[str | None]:
    """A column as text for DuckDB's CAST (ints and floats exactly: repr round-trips a float)."""
    return [None if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in values]


def events_frame(rows: list[tuple]) -> pd.DataFrame:
    import pandas as pd

    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in EVENT_COLUMNS]
    return pd.DataFrame({name: pd.Series(_text(list(col)), dtype=object)
                         for name, col in zip(EVENT_COLUMNS, columns, strict=True)})


def text_frame(names: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    """Rows (JSON values) as a frame of text columns ``c0``, ``c1``... for DuckDB's CAST to their types."""
    import pandas as pd

    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pd.DataFrame({f"c{i}": pd.Series(_text(list(col)), dtype=object) for i, col in enumerate(columns)})


def kv_frame(space: dict[str, list[Any]]) -> pd.DataFrame:
    import pandas as pd

    items = sorted(space.items())
    return pd.DataFrame({"key": pd.Series([k for k, _ in items], dtype=object),
                         "value": pd.Series([v[0] for _, v in items], dtype=object),
                         "version": pd.Series([str(v[1]) for _, v in items], dtype=object)})


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads or SETTINGS['query']['threads'])}")
    con.execute(f"SET memory_limit = '{SETTINGS['query']['memory_limit']}'")
    return con


def partition_parquet(frame: pd.DataFrame, table: str, group: str, region: str, path: Path) -> str:
    """A group's partition of ``table`` as base64 Parquet (typed, with grp and region)."""
    con = connect(1)
    try:
        con.register("frame", frame)
        sql = EVENTS_SQL if table == "events" else KV_SQL
        con.execute(f"CREATE TABLE part AS {sql}", [group, region])
        con.execute(f"COPY part TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return base64.b64encode(data).decode()


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Exactly one read-only SELECT statement (400 otherwise)."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise HttpError(400, "sql_error", one_line(exc)) from None
    if len(statements) != 1:
        raise HttpError(400, "sql_unsupported", f"exactly one statement is allowed, got {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise HttpError(400, "sql_unsupported", f"only SELECT queries are allowed, got {statements[0].type.name}")


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500]


def encode(value: Any) -> Any:
    """A DuckDB result value as JSON: DECIMAL as an exact string, timestamps as ISO text, NaN/inf as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return str(value)
