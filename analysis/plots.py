"""The dashboard: one self-contained ``dashboard.html`` (plotly.js inlined, opens offline).

Charts: throughput (acknowledged ops/s), latency percentiles (ms) and error rate per group over time
(seconds since the run's first event), each with the fault windows shaded and labelled; outage duration
and election time per fault (seconds); commit latency from the nodes' /metrics (ms). The verdict table
heads the page.
"""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .report import headline
from .run import Analysis

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
STATUS_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "UNKNOWN": "#9a6700"}


def timeline_figure(analysis: Analysis) -> go.Figure:
    series = analysis.tables["timeseries"]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Throughput (acknowledged ops/s)", "Latency of acknowledged ops (ms)",
                                        "Error rate (errored / completed)"))
    groups = sorted(g for g in series["group"].unique() if g not in ("all", "-")) if not series.empty else []
    for index, group in enumerate(groups):
        part = series[series["group"] == group]
        color = COLORS[index % len(COLORS)]
        fig.add_trace(go.Scatter(x=part["t_s"], y=part["ok_per_s"], name=f"{group} ok/s", legendgroup=group,
                                 line={"color": color}), row=1, col=1)
        fig.add_trace(go.Scatter(x=part["t_s"], y=part["p99_ms"], name=f"{group} p99", legendgroup=group,
                                 line={"color": color, "dash": "dot"}), row=2, col=1)
        fig.add_trace(go.Scatter(x=part["t_s"], y=part["error_rate"], name=f"{group} errors", legendgroup=group,
                                 line={"color": color}, showlegend=False), row=3, col=1)
    overall = series[series["group"] == "all"] if not series.empty else series
    for name, dash in (("p50_ms", "solid"), ("p90_ms", "dash")):
        if not overall.empty:
            fig.add_trace(go.Scatter(x=overall["t_s"], y=overall[name], name=f"all {name.removesuffix('_ms')}",
                                     line={"color": "#444", "dash": dash}), row=2, col=1)
    if not overall.empty:
        fig.add_trace(go.Scatter(x=overall["t_s"], y=overall["error_rate"], name="all errors",
                                 line={"color": "#444"}), row=3, col=1)
    origin = analysis.run.start_time
    windows = analysis.run.windows
    for row in (windows[windows["applied"].astype(bool)] if not windows.empty else windows).itertuples(index=False):
        start, end = (row.start_time - origin) / 1e9, (row.end_time - origin) / 1e9
        label = f"{row.fault_id} {row.fault}" + (f" ({row.node})" if isinstance(row.node, str) else "")
        fig.add_vrect(x0=start, x1=max(end, start + 0.05), fillcolor="#d62728", opacity=0.15, line_width=0,
                      row="all", col=1)
        fig.add_annotation(x=start, y=1.0, yref="paper", text=label, showarrow=False, xanchor="left",
                           font={"size": 10, "color": "#d62728"})
    fig.update_xaxes(title_text="seconds since run start", row=3, col=1)
    fig.update_layout(height=820, title="Load and faults over time", hovermode="x unified",
                      margin={"t": 80, "l": 60, "r": 20, "b": 50})
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
                      yaxis_title="seconds")
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
    fig.update_layout(title="Consensus latency per group (ms)", barmode="group", height=420, yaxis_title="ms")
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


def write_dashboard(analysis: Analysis, path: Path | None = None) -> Path:
    """Write ``dashboard.html`` into the run folder (or ``path``) and return its path."""
    path = path or analysis.run.path / "dashboard.html"
    figures = [("timeline", timeline_figure(analysis)), ("outage", outage_figure(analysis)),
               ("latency", commit_figure(analysis))]
    parts = [fig.to_html(full_html=False, include_plotlyjs=(index == 0), div_id=name)
             for index, (name, fig) in enumerate(figures)]
    title = html.escape(f"tier7 analysis: {analysis.run.path.name}")
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:20px}} table.verdicts{{border-collapse:collapse;margin-bottom:20px}}
table.verdicts td,table.verdicts th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>{title}</h1>
{verdict_table(analysis)}
{''.join(f'<div class="chart">{part}</div>' for part in parts)}
<p>Data: analysis.json and analysis/*.csv in this folder.</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path



