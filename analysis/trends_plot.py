"""The plotly page of ``tier7 trends``: one line chart per figure family and a verdict grid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trends import Regression
    from .trends_read import RunPoint

PANELS = (("Failover outage (s)", ("outage_p50_s", "outage_max_s", "election_max_s")),
          ("Outage per fault type, max (s)", ("outage_max_s.",)),
          ("Throughput (requests/s)", ("throughput_per_s",)),
          ("p99 latency (ms)", ("latency_p99_ms",)),
          ("Error rate (failures / requests)", ("error_rate",)))
STATUS_CODE = {"PASS": 4, "NOT APPLICABLE": 3, "NOT RUN": 2, "UNKNOWN": 1, "FAIL": 0}


def _matches(figure: str, names: tuple[str, ...]) -> bool:
    return any(figure == n or (n.endswith(".") and figure.startswith(n)) for n in names)


def write_html(points: list[RunPoint], regressions: list[Regression], path: Path) -> None:
    """Write a self-contained page (plotly.js inlined once, so it opens offline as a CI artifact)."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    when = [datetime.fromtimestamp(p.when, UTC) for p in points]
    figures = sorted({f for p in points for f in p.figures})
    parts = []
    for title, names in PANELS:
        fig = go.Figure()
        for figure in (f for f in figures if _matches(f, names)):
            fig.add_trace(go.Scatter(x=when, y=[p.figures.get(figure) for p in points], name=figure,
                                     mode="lines+markers", text=[p.name for p in points]))
            bad = [(w, p.figures[figure]) for w, p in zip(when, points, strict=True)
                   if any(r.run == p.name and r.figure == figure for r in regressions)]
            if bad:
                fig.add_trace(go.Scatter(x=[b[0] for b in bad], y=[b[1] for b in bad], mode="markers",
                                         name=f"{figure} regression", marker={"size": 14, "symbol": "x",
                                                                               "color": "red"}))
        fig.update_layout(title=title, height=320)
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    criteria = sorted({c for p in points for c in p.verdicts})
    if criteria:
        grid = go.Figure(go.Heatmap(
            x=when, y=criteria, zmin=0, zmax=4, colorscale="RdYlGn",
            z=[[STATUS_CODE.get(p.verdicts.get(c, ""), None) for p in points] for c in criteria],
            text=[[p.verdicts.get(c, "") for p in points] for c in criteria], hoverinfo="text+x+y"))
        grid.update_layout(title="Verdicts per criterion (green PASS … red FAIL)", height=40 + 24 * len(criteria))
        parts.append(grid.to_html(full_html=False, include_plotlyjs=False))
    flagged = "".join(f"<li>{r.line()}</li>" for r in regressions) or "<li>none</li>"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>tier7 trends</title>"
            f"<script>{get_plotlyjs()}</script></head><body><h1>tier7 trends — {len(points)} runs</h1>"
            f"<h2>Regressions</h2><ul>{flagged}</ul>{''.join(parts)}</body></html>")
    path.write_text(page, encoding="utf-8")
