"""The strong KV as a set of registers with compare-and-set: which operations a per-key checker sees.

Operations kept (``KV_FUNCTIONS``), partitioned by (tenant, key) — the key space is per tenant:

- ``put`` writes its invoke value; ``delete`` writes None (absent); ``cas`` (invoke value ``[expected, new]``)
  writes ``new`` if the register holds ``expected`` (``expected`` None = only if absent);
- ``get`` ok reads its completion value (None = absent). A ``get`` that failed with 404 ``not_found`` is a
  definite read of "absent" and counts as an ok read of None;
- ``fail`` never took effect: dropped (a 409 cas mismatch did not apply). ``info`` (outcome unknown, or never
  completed) may have taken effect at any time after its invoke, or never: its response time is +infinity.
  An ``info`` read constrains nothing and is dropped;
- cross-tenant probes (``cross_tenant``) belong to the isolation checker; ``consistency=local`` reads are
  not linearizable by contract and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..frames import column, hashable

KV_FUNCTIONS = ("put", "get", "cas", "delete")
READ, WRITE, CAS = 0, 1, 2


@dataclass
class KeyHistory:
    """One register's operations, as parallel lists. ``complete`` is None for an info op (+infinity)."""

    tenant: str
    key: str
    rows: list[int]          # index into the operations frame, for evidence
    kind: list[int]          # READ | WRITE | CAS
    arg: list[object]        # READ: value read; WRITE: value written; CAS: expected
    new: list[object]        # CAS: value written; else None
    invoke: list[int]
    complete: list[int | None]

    def __len__(self) -> int:
        return len(self.kind)


def kv_operations(ops: pd.DataFrame) -> pd.DataFrame:
    """The operations the register checkers consider (see the module doc), with a ``definite`` outcome:
    type ok, or info (may have applied). 404 gets are turned into ok reads of None."""
    frame = ops[ops["f"].isin(KV_FUNCTIONS) & ops["key"].notna() & ~ops["cross_tenant"].astype(bool)]
    frame = frame[~column(frame, "consistency").isin(["local"])]
    not_found = (frame["f"] == "get") & (frame["type"] == "fail") & (
        (frame["status"] == 404) | column(frame, "error").isin(["not_found"]))
    frame = frame.assign(type=frame["type"].astype(object).mask(not_found, "ok"),
                         value_out=frame["value_out"].mask(not_found, None))
    keep = (frame["type"] == "ok") | ((frame["type"] == "info") & (frame["f"] != "get"))
    frame = frame[keep]
    return frame.assign(tenant=frame["tenant"].fillna(""))


def response_times(frame: pd.DataFrame) -> pd.Series:
    """Each operation's response time (ns, the history's monotonic clock) as the checkers must see it: the
    completion of an ok op; +infinity for an info op, whose completion is only when the client gave up
    (a timeout): the write may still take effect any time later, after writes acknowledged meanwhile."""
    return frame["complete_time"].astype(float).where(frame["type"] == "ok", np.inf)


def register_columns(kv: pd.DataFrame) -> pd.DataFrame:
    """Columns ``kind`` (READ | WRITE | CAS), ``arg`` (read value | written value | cas expected) and ``new``
    (cas new value), computed per column; values made hashable (``analysis.frames.hashable``)."""
    f = kv["f"]
    is_cas = (f == "cas").to_numpy()
    cas_in = kv["value_in"][is_cas]
    malformed = [v for v in cas_in.tolist() if not (isinstance(v, (list, tuple)) and len(v) == 2)]
    if malformed:
        raise ValueError(f"cas invoke value must be [expected, new], not {malformed[0]!r}")
    arg = kv["value_out"].where(f == "get", kv["value_in"]).mask(f == "delete", None)
    arg = arg.astype(object)
    arg[is_cas] = cas_in.str[0]
    new = pd.Series(None, index=kv.index, dtype=object)
    new[is_cas] = cas_in.str[1]
    kind = np.select([(f == "get").to_numpy(), is_cas], [READ, CAS], WRITE)
    frame = pd.DataFrame({"kind": kind}, index=kv.index)
    frame["arg"] = pd.Series([hashable(v) for v in arg.tolist()], index=kv.index, dtype=object)
    frame["new"] = pd.Series([hashable(v) for v in new.tolist()], index=kv.index, dtype=object)
    return frame


def split_by_key(kv: pd.DataFrame) -> list[KeyHistory]:
    """Per (tenant, key) histories: columns computed once, then sliced at the key boundaries."""
    if kv.empty:
        return []
    kv = kv.sort_values(["tenant", "key", "invoke_time"], kind="stable")
    model = register_columns(kv)
    completes = kv["complete_time"].where(kv["type"] == "ok")
    complete_list = [None if np.isnan(c) else int(c) for c in completes.to_numpy(float).tolist()]
    kinds, args, news = model["kind"].tolist(), model["arg"].tolist(), model["new"].tolist()
    invokes, rows = kv["invoke_time"].astype("int64").tolist(), kv.index.tolist()
    tenant, key = kv["tenant"].astype(str).to_numpy(object), kv["key"].astype(str).to_numpy(object)
    change = np.r_[True, (tenant[1:] != tenant[:-1]) | (key[1:] != key[:-1]), True]
    bounds = np.flatnonzero(change).tolist()
    return [KeyHistory(tenant[lo], key[lo], rows[lo:hi], kinds[lo:hi], args[lo:hi], news[lo:hi], invokes[lo:hi],
                       complete_list[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
