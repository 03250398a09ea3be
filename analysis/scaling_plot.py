"""The scaling phase on the dashboard's timeline: each scaling operation (driver call -> the rebalance's
``finished``, then until the operation's checks ended) shaded in blue on every row and labelled, so the
per-group throughput lines show the load moving to the new group and off the drained one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from .metrics.rebalance import scaling_windows

COLOR = "#1f5fbf"


def read_facts(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(run_dir) / "facts" / "scaling.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def add_scaling_windows(fig: go.Figure, run_dir: Path, origin_ns: float) -> int:
    """Shade the scaling operations of the run in ``fig`` (x: seconds since ``origin_ns``); how many."""
    windows = scaling_windows(read_facts(run_dir))
    for index, row in enumerate(windows.itertuples(index=False)):
        start = (row.start_time - origin_ns) / 1e9
        moved = row.finished_time if isinstance(row.finished_time, int | float) else row.end_time
        end = (max(moved, row.start_time) - origin_ns) / 1e9
        fig.add_vrect(x0=start, x1=max(end, start + 0.05), fillcolor=COLOR, opacity=0.15, line_width=0,
                      row="all", col=1)
        fig.add_annotation(x=start, y=0.91 - 0.025 * index, yref="paper", showarrow=False, xanchor="left",
                           text=f"scale {'out +' if row.action == 'add' else 'in -'}{row.group} (to rebalance finished)",
                           font={"size": 10, "color": COLOR}, bgcolor="rgba(255,255,255,0.7)")
    return len(windows)
