"""Comparing a federated SQL answer with the harness's expected rows, and the TLP (ternary logic partitioning)
check, both pure functions of recorded facts (the sql judge and its tests use them).

Rules: a query whose row order is part of its answer (ORDER BY over a total order) is compared row by row;
any other as a multiset of rows. Cells by the column's kind: ``int`` exactly (Python ints, any size), ``dec``
exactly as decimals ("1.50" = "1.500000"), ``float`` within ``rel_tol`` (relative) or ``abs_tol`` (absolute),
``str`` and ``ts`` as exact text; NULL equals only NULL.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def cell_equal(kind: str, expected: Any, actual: Any, rel_tol: float, abs_tol: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind == "int":
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if kind == "dec":
        try:
            return Decimal(str(actual)) == Decimal(str(expected))
        except InvalidOperation:
            return False
    if kind == "float":
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        e, a = float(expected), float(actual)
        return abs(e - a) <= max(abs_tol, rel_tol * max(abs(e), abs(a)))
    return isinstance(actual, str) and actual == expected


def _sort_key(row: list[Any], kinds: list[str]) -> tuple:
    """A key that puts equal rows (by the rules above) next to each other: floats rounded to 6 significant
    digits, decimals normalised, NULL first."""
    out = []
    for kind, value in zip(kinds, row, strict=False):
        if value is None:
            out.append((0, ""))
        elif kind == "float" and isinstance(value, int | float):
            out.append((1, f"{float(value):.5e}"))
        elif kind == "dec":
            try:
                out.append((1, str(Decimal(str(value)).normalize())))
            except InvalidOperation:
                out.append((1, str(value)))
        else:
            out.append((1, repr(value)))
    return tuple(out)


def compare(expected: list[list[Any]], actual: list[list[Any]], kinds: list[str], ordered: bool,
            rel_tol: float = 1e-6, abs_tol: float = 1e-6) -> tuple[bool, str]:
    """(equal, first difference in words)."""
    if not isinstance(actual, list) or not all(isinstance(r, list) for r in actual):
        return False, "the answer has no rows list"
    if len(expected) != len(actual):
        return False, f"{len(actual)} rows, expected {len(expected)}"
    if not ordered:
        expected = sorted(expected, key=lambda r: _sort_key(r, kinds))
        actual = sorted(actual, key=lambda r: _sort_key(r, kinds))
    for index, (e_row, a_row) in enumerate(zip(expected, actual, strict=True)):
        if len(a_row) != len(kinds):
            return False, f"row {index}: {len(a_row)} columns, expected {len(kinds)}"
        for col, (kind, e, a) in enumerate(zip(kinds, e_row, a_row, strict=True)):
            if not cell_equal(kind, e, a, rel_tol, abs_tol):
                where = "row" if ordered else "sorted row"
                return False, f"{where} {index} column {col} ({kind}): got {a!r}, expected {e!r}"
    return True, ""


def tlp_check(answer: list[list[Any]]) -> tuple[bool, str]:
    """Rows ``[part, count, sum]`` for parts whole/true/false/null: the three partitions add up to the whole."""
    parts: dict[str, tuple[int, int]] = {}
    for row in answer if isinstance(answer, list) else []:
        if isinstance(row, list) and len(row) == 3 and isinstance(row[0], str):
            count = row[1] if isinstance(row[1], int) else None
            total = row[2] if isinstance(row[2], int) or row[2] is None else None
            if count is None:
                return False, f"partition {row[0]}: count {row[1]!r} is not an integer"
            parts[row[0]] = (count, total or 0)
    if set(parts) != {"whole", "true", "false", "null"}:
        return False, f"partitions answered: {sorted(parts)} (need whole, true, false, null)"
    count = sum(parts[p][0] for p in ("true", "false", "null"))
    total = sum(parts[p][1] for p in ("true", "false", "null"))
    if count != parts["whole"][0]:
        return False, f"true+false+null = {count} rows, the whole table has {parts['whole'][0]}"
    if total != parts["whole"][1]:
        return False, f"sum(id) over the partitions = {total}, over the whole table {parts['whole'][1]}"
    return True, ""
