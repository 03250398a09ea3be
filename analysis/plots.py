"""The dashboard: one self-contained ``dashboard.html`` (plotly.js inlined, opens offline).

Charts: throughput (acknowledged ops/s), latency percentiles (ms) and error rate per group over time
(seconds since the run's first event), each with the fault windows shaded and labelled and a ribbon of the
run's phases above (setup, load, final read: from the history's process names); outage duration and
election time per fault (seconds); commit latency from the nodes' /metrics (ms). Time bins without data
are gaps, never a line drawn over them. The run's metadata (target, seed, commit, criteria verdicts when
``verdicts.json`` exists) and the checkers' verdict table head the page. Every legend entry is distinct;
each time-series row has its own legend.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .metrics.rates import event_time
from .report import headline
from .run import Analysis
from .scaling_plot import add_scaling_windows

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
STATUS_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "UNKNOWN": "#9a6700"}
PHASE_COLORS = {"setup": "#8c8c8c", "load": "#2ca02c", "final read": "#1f77b4"}
OTHER_PHASE_COLOR = "#bcbd22"
GAP_FACTOR = 1.5  # a step between two points longer than this many bins is a gap
USER_PROCESS = re.compile(r"-u\d+")
ROW_LEGENDS = ("legend", "legend2", "legend3")  # one legend per time-series row, beside it


def with_gaps(x: Sequence[float], y: Sequence[Any], step: float) -> tuple[list[float], list[Any]]:
    """The points with a ``None`` between two that are more than ``GAP_FACTOR`` bins (``step`` seconds)
    apart, and NaN as ``None``: plotly breaks the line there instead of drawing across missing data."""
    xs: list[float] = []
    ys: list[Any] = []
    previous: float | None = None
    for a, b in zip(x, y, strict=True):
        a = float(a)
        if previous is not None and a - previous > step * GAP_FACTOR:
            xs.append((previous + a) / 2)
            ys.append(None)
        xs.append(a)
        ys.append(None if b is None or (isinstance(b, float) and b != b) else float(b))
        previous = a
    return xs, ys


def bin_step(times: Sequence[float]) -> float:
    """The series' bin width (seconds): the smallest step between distinct times, else 1 s."""
    distinct = np.unique(np.asarray(times, dtype=float))
    steps = np.diff(distinct)
    return float(steps.min()) if len(steps) else 1.0


def phase_of(process: str) -> str:
    """The run phase an operation's process belongs to: setup, load (Locust users), final read, or the
    process's own name for anything else (verify's phases)."""
    if "final" in process:
        return "final read"
    if "setup" in process:
        return "setup"
    if USER_PROCESS.search(process):
        return "load"
    return re.split(r"[-_.]?\d", process, maxsplit=1)[0] or process  # "load-5.1", "federation2": the name


def phase_spans(analysis: Analysis) -> list[tuple[str, float, float]]:
    """(phase, start s, end s since the run start) of each phase with operations, in time order."""
    ops = analysis.run.ops
    if ops.empty or "process" not in ops.columns:
        return []
    origin = analysis.run.start_time
    frame = ops.assign(phase=ops["process"].astype(str).map(phase_of),
                       start=(ops["invoke_time"].astype(float) - origin) / 1e9,
                       end=(event_time(ops) - origin) / 1e9)
    frame = frame[~frame["process"].astype(str).str.startswith("nemesis")]
    spans = [(str(name), float(part["start"].min()), float(part["end"].max()))
             for name, part in frame.groupby("phase", sort=False)]
    return sorted(spans, key=lambda span: span[1])


def add_phase_ribbon(fig: go.Figure, spans: list[tuple[str, float, float]]) -> None:
    """The phases as bands in a ribbon above the plots (paper coordinates), labelled."""
    for index, (name, start, end) in enumerate(spans):
        color = PHASE_COLORS.get(name, OTHER_PHASE_COLOR)
        low = 1.045 + 0.022 * (index % 2)  # phases that overlap (setup while load starts) stay readable
        fig.add_shape(type="rect", xref="x", yref="paper", x0=start, x1=max(end, start + 0.05), y0=low,
                      y1=low + 0.018, fillcolor=color, opacity=0.55, line_width=0)
        fig.add_annotation(x=start, y=low + 0.009, xref="x", yref="paper", text=f"{name} ({end - start:.1f} s)",
                           showarrow=False, xanchor="left", yanchor="middle", font={"size": 10, "color": "#fff"})


def timeline_figure(analysis: Analysis) -> go.Figure:
    series = analysis.tables["timeseries"]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=("Throughput: acknowledged operations per second",
                                        "Latency of acknowledged operations (ms)",
                                        "Error rate: errored / completed operations"))
    step = bin_step(series["t_s"]) if not series.empty else 1.0
    groups = sorted(g for g in series["group"].unique() if g not in ("all", "-")) if not series.empty else []

    def line(part: Any, column: str, name: str, row: int, style: dict[str, Any]) -> None:
        xs, ys = with_gaps(part["t_s"].to_list(), part[column].to_list(), step)
        fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="lines", connectgaps=False, line=style,
                                 legend=ROW_LEGENDS[row - 1]), row=row, col=1)

    for index, group in enumerate(groups):
        part = series[series["group"] == group].sort_values("t_s")
        color = COLORS[index % len(COLORS)]
        line(part, "ok_per_s", f"{group} ok/s", 1, {"color": color})
        line(part, "p99_ms", f"{group} p99 ms", 2, {"color": color, "dash": "dot"})
        line(part, "error_rate", f"{group} error rate", 3, {"color": color})
    overall = series[series["group"] == "all"].sort_values("t_s") if not series.empty else series
    if not overall.empty:
        line(overall, "p50_ms", "all groups p50 ms", 2, {"color": "#444", "dash": "solid"})
        line(overall, "p90_ms", "all groups p90 ms", 2, {"color": "#444", "dash": "dash"})
        line(overall, "error_rate", "all groups error rate", 3, {"color": "#444"})
    origin = analysis.run.start_time
    windows = analysis.run.windows
    applied = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    for index, row in enumerate(applied.itertuples(index=False)):
        start, end = (row.start_time - origin) / 1e9, (row.end_time - origin) / 1e9
        if end != end:  # still open at the end of the history: shade to the last data point
            end = float(series["t_s"].max()) + step if not series.empty else start + 1.0
        label = f"{row.fault_id} {row.fault}" + (f" ({row.node})" if isinstance(row.node, str) else "")
        fig.add_vrect(x0=start, x1=max(end, start + 0.05), fillcolor="#d62728", opacity=0.15, line_width=0,
                      row="all", col=1)
        fig.add_annotation(x=start, y=0.985 - 0.025 * (index % 3), yref="paper", text=label, showarrow=False,
                           xanchor="left", font={"size": 10, "color": "#d62728"}, bgcolor="rgba(255,255,255,0.7)")
    add_scaling_windows(fig, analysis.run.path, origin)  # scale-out / scale-in, blue
    add_phase_ribbon(fig, phase_spans(analysis))
    fig.update_xaxes(title_text="time since run start (s)", row=3, col=1)
    fig.update_yaxes(title_text="ops/s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ms", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="errored / completed (0-1)", rangemode="tozero", row=3, col=1)
    legends = {}
    for index, name in enumerate(ROW_LEGENDS):  # each beside its own row (rows split the paper in thirds)
        domain = fig.layout[f"yaxis{index + 1 if index else ''}"].domain
        legends[name] = {"x": 1.01, "y": domain[1], "yanchor": "top", "xanchor": "left", "font": {"size": 10}}
    fig.update_layout(height=880, title="Load, phases and faults over time", hovermode="x unified",
                      margin={"t": 140, "l": 70, "r": 170, "b": 50}, **legends)
    return fig


def outage_figure(analysis: Analysis) -> go.Figure:
    outage = analysis.tables["outage"]
    elections = analysis.tables["elections"]
    fig = go.Figure()
    targeted = outage[outage["targeted"].astype(bool)] if not outage.empty else outage
    if not targeted.empty:
        labels = targeted["fault_id"] + " " + targeted["fault"].astype(str) + " / " + targeted["group"]
        fig.add_trace(go.Bar(x=labels, y=targeted["outage_s"], name="outage (s)", marker_color="#d62728",
                             text=targeted["outage_s"].round(3), textposition="outside"))
        if not elections.empty:
            merged = targeted.merge(elections[["fault_id", "group", "election_s"]], on=["fault_id", "group"],
                                    how="left")
            fig.add_trace(go.Bar(x=labels, y=merged["election_s"], name="election (s)", marker_color="#1f77b4",
                                 text=merged["election_s"].round(3), textposition="outside"))
    limit = analysis.run.thresholds["failover"]["outage_max_s"]
    fig.add_hline(y=limit, line_dash="dash", line_color="#444", annotation_text=f"limit {limit} s")
    fig.update_layout(title="Outage and election time per fault (seconds)", barmode="group", height=420,
                      yaxis_title="time (s)", xaxis_title="fault / Raft group")
    return fig


def commit_figure(analysis: Analysis) -> go.Figure:
    table = analysis.tables["commit_latency_metrics"]
    client = analysis.tables["write_latency"]
    fig = go.Figure()
    for frame, source in ((table, "commit (/metrics)"), (client, "acknowledged write (history)")):
        if frame.empty:
            continue
        for name in ("p50_ms", "p90_ms", "p99_ms"):
            fig.add_trace(go.Bar(x=frame["group"], y=frame[name], name=f"{source} {name.removesuffix('_ms')}"))
    fig.update_layout(title="Consensus latency per group (ms)", barmode="group", height=420,
                      yaxis_title="latency (ms)", xaxis_title="Raft group")
    return fig


def verdict_table(analysis: Analysis) -> str:
    rows = []
    for verdict in analysis.verdicts:
        color = STATUS_COLORS.get(verdict.status.value, "#57606a")
        detail = verdict.reason or headline(verdict.name, verdict.figures)
        rows.append(f"<tr><td>{html.escape(verdict.name)}</td><td style='color:{color};font-weight:bold'>"
                    f"{html.escape(verdict.status.value)}</td><td>{html.escape(detail)}</td></tr>")
    return ("<table class='verdicts'><tr><th>criterion</th><th>verdict</th><th>reason / figures</th></tr>"
            + "".join(rows) + "</table>")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _target_text(target: Any) -> str:
    if isinstance(target, dict):
        shown = target.get("source") or target.get("testbed_dir") or target.get("kind")
        nodes = f", {target['nodes']} nodes" if target.get("nodes") else ""
        return f"{target.get('kind', '?')}: {shown}{nodes}" if shown != target.get("kind") else f"{shown}{nodes}"
    return str(target) if target else "?"


def run_metadata(run_dir: Path, criteria: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(label, text) lines heading the page: kind, target, seed, commit, start (UTC) from ``run.json`` or
    ``facts/verify.json``, and the criteria's headline and verdicts (``criteria``, else ``verdicts.json``)."""
    run = _read_json(run_dir / "run.json")
    meta = _read_json(run_dir / "facts" / "verify.json").get("meta", {})
    started = run.get("started_wall") or meta.get("started_wall")
    lines = [("run", f"{run_dir.name} ({run.get('kind') or ('verify' if meta else '?')})"),
             ("target", _target_text(meta.get("target") or run.get("target"))),
             ("seed", str(meta.get("seed", run.get("seed", "?")))),
             ("git commit", str(meta.get("git_commit") or run.get("git_commit") or "?")),
             ("started (UTC)", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(started)))
              if isinstance(started, int | float) else "?")]
    criteria = criteria if criteria is not None else _read_json(run_dir / "verdicts.json")
    if criteria:
        lines.append(("criteria", str(criteria.get("headline", criteria.get("result", "?")))))
        shown = [f"{c.get('id')}: {c.get('status')}" for c in criteria.get("criteria", [])
                 if c.get("status") not in (None, "NOT RUN")]
        if shown:
            lines.append(("criteria verdicts", ", ".join(shown)))
    return lines


def metadata_html(lines: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines)
    return f"<table class='meta'>{rows}</table>"


def write_dashboard(analysis: Analysis, path: Path | None = None, criteria: dict[str, Any] | None = None) -> Path:
    """Write ``dashboard.html`` into the run folder (or ``path``) and return its path. ``criteria``: the
    verdicts document of the plan's criteria (default: the folder's ``verdicts.json``, when there is one)."""
    path = path or analysis.run.path / "dashboard.html"
    figures = [("timeline", timeline_figure(analysis)), ("outage", outage_figure(analysis)),
               ("latency", commit_figure(analysis))]
    parts = [fig.to_html(full_html=False, include_plotlyjs=(index == 0), div_id=name)
             for index, (name, fig) in enumerate(figures)]
    title = html.escape(f"tier7 analysis: {analysis.run.path.name}")
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:20px}} table.verdicts{{border-collapse:collapse;margin-bottom:20px}}
table.verdicts td,table.verdicts th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
table.meta{{margin-bottom:16px}} table.meta th{{text-align:left;padding-right:12px;color:#57606a}}</style></head>
<body><h1>{title}</h1>
{metadata_html(run_metadata(analysis.run.path, criteria))}
{verdict_table(analysis)}
{''.join(f'<div class="chart">{part}</div>' for part in parts)}
<p>Data: analysis.json and analysis/*.csv in this folder.</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path



