"""The owning Raft group of every operation's key, computed by the harness's own ring (``tier7.ring``)
from the ring parameters the runner saved (``target/ring.json``), never asked of the target."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tier7.ring import HarnessRing


def ring_from(params: dict[str, Any] | None) -> HarnessRing | None:
    return HarnessRing.from_contract(params) if params else None


def owner_groups(ops: pd.DataFrame, ring: HarnessRing | None) -> pd.Series:
    """Per operation, the group the ring assigns to (tenant, key); None without a ring, key or tenant.

    The ring is evaluated once per distinct (tenant, key), then joined back (no per-row work)."""
    if ring is None or ops.empty:
        return pd.Series([None] * len(ops), index=ops.index, dtype=object)
    pairs = ops[["tenant", "key"]].dropna().drop_duplicates()
    table = pd.DataFrame({
        "tenant": pairs["tenant"].to_numpy(), "key": pairs["key"].to_numpy(),
        "owner": [ring.group_for(str(t), str(k)) for t, k in zip(pairs["tenant"], pairs["key"], strict=True)],
    })
    joined = ops[["tenant", "key"]].merge(table, on=["tenant", "key"], how="left")
    return pd.Series(joined["owner"].to_numpy(dtype=object), index=ops.index)


def op_groups(ops: pd.DataFrame) -> pd.Series:
    """The group an operation belongs to for per-group rates: the serving group when the target named one,
    else the ring owner, else ``"-"``."""
    group = ops["group"].astype(object).where(ops["group"].notna(), None)
    owner = ops["owner"] if "owner" in ops.columns else pd.Series(None, index=ops.index, dtype=object)
    return group.fillna(owner.astype(object)).fillna("-").astype("category")
