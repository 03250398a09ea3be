"""Operations as evidence: small JSON-safe records naming who did what, when (wall s) and what it saw."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..frames import jsonable, records

OP_FIELDS = ["tenant", "key", "process", "op", "f", "type", "value_in", "value_out", "invoke_wall", "complete_wall",
             "latency_s", "node", "group", "owner", "error", "status", "source"]


def op_records(ops: pd.DataFrame, rows: list[int] | pd.Index, limit: int = 20) -> list[dict[str, Any]]:
    """The given rows of the operations frame as evidence records (at most ``limit``)."""
    part = ops.loc[list(rows)[:limit], [c for c in OP_FIELDS if c in ops.columns]]
    found = records(part)
    for record in found:  # a read of "absent" shows as value_out null rather than no field
        if record.get("f") == "get" and record.get("type") == "ok":
            record.setdefault("value_out", None)
    return found


def op_record(ops: pd.DataFrame, row: int) -> dict[str, Any]:
    found = op_records(ops, [row], 1)
    return found[0] if found else {}


def plain(value: Any) -> Any:
    return jsonable(value)
