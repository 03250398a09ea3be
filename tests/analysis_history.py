"""A small builder of hand-written histories for the analysis tests (times in seconds, stored as ns)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.ops import client_operations, nemesis_operations
from tier7.history import COLUMNS

BASE_NS = 1_000_000_000_000
BASE_WALL = 1_700_000_000.0


def ns(seconds: float) -> int:
    return BASE_NS + int(round(seconds * 1e9))


class History:
    """Events in the history format; ``op`` adds an invoke and (unless ``type`` is None) its completion."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.seq: dict[str, int] = {}

    def op(self, process: str, f: str, start: float, end: float | None = None, value: Any = None,
           out: Any = None, type: str | None = "ok", key: str = "x", tenant: str = "t", **fields: Any) -> History:
        self.seq[process] = self.seq.get(process, 0) + 1
        number = self.seq[process]
        base = {"process": process, "op": number, "f": f, "key": key, "tenant": tenant, "source": "h.jsonl"}
        self.events.append({**base, "type": "invoke", "time": ns(start), "wall": BASE_WALL + start, "value": value,
                            **{k: v for k, v in fields.items() if k in ("cross_tenant", "consistency", "region", "once")}})
        if type is not None:
            end = start if end is None else end
            self.events.append({**base, "type": type, "time": ns(end), "wall": BASE_WALL + end,
                                "value": out if f == "get" else (value if out is None else out), **fields})
        return self

    # shorthands: writes, reads and cas on register "x" of tenant "t"
    def put(self, process: str, value: Any, start: float, end: float | None = None, **kw: Any) -> History:
        return self.op(process, "put", start, end, value=value, **kw)

    def get(self, process: str, out: Any, start: float, end: float | None = None, **kw: Any) -> History:
        return self.op(process, "get", start, end, out=out, **kw)

    def cas(self, process: str, expected: Any, new: Any, start: float, end: float | None = None,
            **kw: Any) -> History:
        return self.op(process, "cas", start, end, value=[expected, new], **kw)

    def nemesis(self, f: str, start: float, end: float, **value: Any) -> History:
        return self.op("nemesis", f, start, end, value=value or None, key=None, tenant=None)

    def frame(self) -> pd.DataFrame:
        extra = sorted({k for event in self.events for k in event} - set(COLUMNS))
        frame = pd.DataFrame(self.events, columns=COLUMNS + extra)
        return frame.sort_values("time", kind="stable").reset_index(drop=True)

    def ops(self) -> pd.DataFrame:
        return client_operations(self.frame())

    def nemesis_ops(self) -> pd.DataFrame:
        return nemesis_operations(self.frame())
