"""Per-group time series for the dashboard and ``analysis/timeseries.csv``: for each ``bin_s`` bin (seconds
since the run's first event) and group: completed, ok and errored operations, ``ok_per_s``, ``error_rate``
(0..1) and p50/p90/p99 latency of acknowledged operations in milliseconds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..owners import op_groups
from .rates import errored, event_time

SERIES_COLUMNS = ["t_s", "group", "completed", "ok", "errors", "ok_per_s", "error_rate", "p50_ms", "p90_ms",
                  "p99_ms"]


def per_group(ops: pd.DataFrame, origin_ns: float, bin_s: float = 1.0) -> pd.DataFrame:
    if ops.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    t_s = (event_time(ops).to_numpy(float) - origin_ns) / 1e9
    frame = pd.DataFrame({"t_s": np.floor(t_s / bin_s) * bin_s, "group": op_groups(ops).to_numpy(),
                          "ok": (ops["type"] == "ok").to_numpy(), "errors": errored(ops).to_numpy(),
                          "ms": np.where(ops["type"] == "ok", ops["latency_s"].to_numpy(float) * 1000.0, np.nan)})
    frame = pd.concat([frame, frame.assign(group="all")], ignore_index=True)
    grouped = frame.groupby(["t_s", "group"], sort=True)
    table = grouped.agg(completed=("ok", "size"), ok=("ok", "sum"), errors=("errors", "sum"))
    quantiles = grouped["ms"].quantile([0.5, 0.9, 0.99]).unstack()
    quantiles.columns = ["p50_ms", "p90_ms", "p99_ms"]
    table = table.join(quantiles).reset_index()
    table["ok_per_s"] = table["ok"] / bin_s
    table["error_rate"] = table["errors"] / table["completed"]
    return table[SERIES_COLUMNS]
