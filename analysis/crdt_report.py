"""The report's CRDT tables (``analysis.sections.report_metrics`` adds them when the run has CRDT writes):

- "CRDT merge proofs": per multi-region round, the competing writes (region, node, op id, value, register
  timestamp), the winner the harness computes, and every replica's final state;
- convergence after the writers stopped, per destination region and per (source, destination) region pair;
- acknowledged CRDT writes and ops/s per region; the partition's two sides;
- cross-region replication lag p50/p99 per region pair from the nodes' ``/metrics``
  (``testbed_crdt_replication_lag_seconds``; pairs within one region left out).
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from . import crdt_run
from .metrics.prom import histogram_quantile

LAG_HISTOGRAM = "testbed_crdt_replication_lag_seconds"
PROOFS = "CRDT merge proofs (same key written at once in two regions: competing writes, timestamps, winner)"


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def proof_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per multi-region round (from facts/crdt.json and the history)."""
    from .criteria.multi_region_write import proofs  # the judge's own proof, so report and verdict agree

    rounds = (crdt_run.phase_facts(analysis).get("multi_region") or {}).get("rounds") or []
    rows = []
    for p in proofs(analysis, rounds) if rounds else []:
        writes = "; ".join(f"{w.get('region')} {w.get('node') or '?'} {w.get('f', '').replace('crdt_', '')} "
                           f"{_short(w.get('value'), 24)}" + (f" @{w['timestamp']}" if w.get("timestamp") else "")
                           + ("" if w.get("type") == "ok" else f" ({w.get('type')})") for w in p["writes"])
        expected = p.get("expected") or {}
        winner = (f"{expected.get('winner')} = {_short(expected.get('value'), 24)} @{expected.get('timestamp')}"
                  if p["crdt"] == "register" else _short(expected))
        rows.append({"type": p["crdt"], "key": p["key"], "competing writes": writes,
                     "concurrent": "yes" if p["concurrent"] else "no", "winner (harness)": winner,
                     "replicas": f"{p['replicas']} {'identical' if p['converged'] else 'DIVERGENT'}: "
                                 f"{_short(p.get('final'))}",
                     "merge": "correct" if p["correct"] else "WRONG"})
    return rows


def lag_rows(metrics: dict[str, str]) -> list[dict[str, Any]]:
    """Cross-region replication lag per (source, destination) region from the nodes' histograms (ms)."""
    buckets: dict[tuple[str, str], dict[float, float]] = {}
    for text in metrics.values():
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError:
            continue
        for family in families:
            if family.name != LAG_HISTOGRAM:
                continue
            for sample in family.samples:
                src, dst = sample.labels.get("source_region"), sample.labels.get("dest_region")
                if sample.name.endswith("_bucket") and src and dst and src != dst:
                    cell = buckets.setdefault((src, dst), {})
                    bound = float(sample.labels["le"])
                    cell[bound] = cell.get(bound, 0.0) + sample.value
    rows = []
    for (src, dst), hist in sorted(buckets.items()):
        bounds = sorted(hist)
        cumulative = [hist[b] for b in bounds]
        rows.append({"source_region": src, "dest_region": dst, "deltas": int(cumulative[-1]) if cumulative else 0,
                     **{f"p{q}_ms": round(histogram_quantile(q / 100, bounds, cumulative) * 1000.0, 1)
                        for q in (50, 99)}})
    return rows


def crdt_sections(analysis: Any) -> dict[str, Any]:
    """The CRDT tables, {} for a run without CRDT writes."""
    if analysis is None or crdt_run.operations(analysis).empty:
        return {}
    figures = crdt_run.check(analysis).verdict.figures
    if not figures:
        return {}
    sections: dict[str, Any] = {}
    proofs = proof_rows(analysis)
    if proofs:
        sections[PROOFS] = proofs
    convergence = figures.get("convergence_per_region_pair") or figures.get("convergence_per_region") or []
    if convergence:
        sections["CRDT convergence after the writers stopped (s, upper bound from the final reads)"] = convergence
    per_region = figures.get("acknowledged_per_region") or {}
    rates = figures.get("ops_per_s_per_region") or {}
    if per_region:
        sections["CRDT writes per region"] = [{"region": r, "acknowledged": n, "ops_per_s": rates.get(r, "")}
                                              for r, n in sorted(per_region.items())]
    lag = lag_rows(getattr(analysis.run, "metrics", {}) or {})
    if lag:
        sections["CRDT cross-region replication lag from the nodes' /metrics (ms)"] = lag
    return sections
