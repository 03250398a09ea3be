"""Commit latency from the nodes' own Prometheus histograms (``metrics/<node>.prom``,
``testbed_commit_latency_seconds``): buckets summed per group, quantiles estimated the way Prometheus's
``histogram_quantile`` does (linear within a bucket). Output in milliseconds."""

from __future__ import annotations

import math

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

HISTOGRAM = "testbed_commit_latency_seconds"
PROM_COLUMNS = ["group", "nodes", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms"]


def buckets(texts: dict[str, str], name: str = HISTOGRAM) -> pd.DataFrame:
    """Cumulative bucket counts: one row per (node, group, le) with ``le`` in seconds (inf for +Inf), plus
    ``_sum`` rows as le = NaN with the sum in ``count``."""
    rows = []
    for node, text in texts.items():
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError:
            continue  # a torn scrape: this node contributes nothing
        for family in families:
            if family.name != name:
                continue
            for sample in family.samples:
                group = sample.labels.get("group", "-")
                if sample.name.endswith("_bucket"):
                    rows.append((sample.labels.get("node", node), group, float(sample.labels["le"]), sample.value))
                elif sample.name.endswith("_sum"):
                    rows.append((sample.labels.get("node", node), group, math.nan, sample.value))
    return pd.DataFrame(rows, columns=["node", "group", "le", "count"])


def histogram_quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """Prometheus's estimate of quantile ``q`` from cumulative bucket counts (``bounds`` ascending, last inf)."""
    total = cumulative[-1] if cumulative else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    for index, (bound, count) in enumerate(zip(bounds, cumulative, strict=True)):
        if count >= rank:
            if math.isinf(bound):
                return bounds[index - 1] if index > 0 else math.nan
            lower = bounds[index - 1] if index > 0 else 0.0
            below = cumulative[index - 1] if index > 0 else 0.0
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
    return math.nan


def commit_latency_ms(texts: dict[str, str]) -> pd.DataFrame:
    """Per group (and ``all``): commits counted, mean and p50/p90/p99 commit latency in milliseconds."""
    table = buckets(texts)
    if table.empty:
        return pd.DataFrame(columns=PROM_COLUMNS)
    table = pd.concat([table, table.assign(group="all")], ignore_index=True)
    rows = []
    for group, part in table.groupby("group", sort=True):
        hist = part[part["le"].notna()].groupby("le")["count"].sum().sort_index()
        total_sum = part.loc[part["le"].isna(), "count"].sum()
        count = float(hist.iloc[-1]) if len(hist) else 0.0
        bounds, cumulative = hist.index.tolist(), hist.tolist()
        rows.append({"group": group, "nodes": int(part["node"].nunique()), "count": int(count),
                     "mean_ms": total_sum / count * 1000.0 if count else math.nan,
                     **{f"p{p}_ms": histogram_quantile(p / 100, bounds, cumulative) * 1000.0 for p in (50, 90, 99)}})
    return pd.DataFrame(rows, columns=PROM_COLUMNS)
