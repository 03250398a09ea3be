"""Consensus latency as clients see it: acknowledged write latency (invoke to ok, milliseconds) per group."""

from __future__ import annotations

import pandas as pd

WRITE_FUNCTIONS = ("put", "cas", "delete")
PERCENTILES = (0.5, 0.9, 0.99)
LATENCY_COLUMNS = ["group", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"]


def write_latency_ms(ops: pd.DataFrame) -> pd.DataFrame:
    """Per serving group (and ``all``): count and p50/p90/p99/max/mean latency in milliseconds of acknowledged
    writes (put, cas, delete with type ok)."""
    writes = ops.loc[(ops["type"] == "ok") & ops["f"].isin(WRITE_FUNCTIONS) & ops["group"].notna(),
                     ["group", "latency_s"]]
    if writes.empty:
        return pd.DataFrame(columns=LATENCY_COLUMNS)
    frame = pd.DataFrame({"group": writes["group"].astype(str), "ms": writes["latency_s"].to_numpy(float) * 1000.0})
    frame = pd.concat([frame, frame.assign(group="all")], ignore_index=True)
    grouped = frame.groupby("group", observed=True)["ms"]
    quantiles = grouped.quantile(list(PERCENTILES)).unstack()
    quantiles.columns = [f"p{int(round(q * 100))}_ms" for q in PERCENTILES]
    table = pd.concat([grouped.size().rename("count"), quantiles, grouped.max().rename("max_ms"),
                       grouped.mean().rename("mean_ms")], axis=1).reset_index()
    return table[LATENCY_COLUMNS]
