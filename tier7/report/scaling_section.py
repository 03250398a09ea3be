"""The report's "Scaling timelines" section: per scaling operation (from the scale-out / scale-in verdicts'
figures, analysis/metrics/rebalance.py) the durations (s), keys moved vs the harness's ideal, keys and
load per group before/after (max / mean) and the load during the move."""

from __future__ import annotations

from typing import Any

HEAD = ["operation", "group", "outcome", "driver call s", "admin call -> finished s", "-> placement agreed s",
        "keys moved / ideal", "keys per group before (max/mean)", "after (max/mean)", "ok/s per group before (max/mean)",
        "after (max/mean)", "load ok/s during move", "error rate during move"]


def _pair(part: Any) -> str:
    part = part if isinstance(part, dict) else {}
    return f"{part.get('max', '?')} / {part.get('mean', '?')}"


def scaling_section(results: list[Any], cell: Any) -> list[str]:
    """Markdown lines of the section; NOT RUN when no scaling operation was judged."""
    rows = []
    for result in results:
        if result.criterion.id not in ("scale-out", "scale-in"):
            continue
        f = result.verdict.figures or {}
        if not f.get("action"):
            continue
        during = f.get("load_during") or {}
        moved = f"{f.get('keys_moved', '?')} / {f.get('ideal_moves', '?')}" + (
            f" ({f['moved_vs_ideal']})" if f.get("moved_vs_ideal") is not None else "")
        rows.append([("scale-out" if f["action"] == "add" else "scale-in"), f.get("group"), f.get("outcome"),
                     f.get("driver_call_s"), f.get("rebalance_s"), f.get("placement_s"), moved,
                     _pair(f.get("keys_before")), _pair(f.get("keys_after")), _pair(f.get("groups_before")),
                     _pair(f.get("groups_after")), during.get("ok_per_s"), during.get("error_rate")])
    out = ["## Scaling timelines", ""]
    if not rows:
        return out + ["NOT RUN — no scale-out or scale-in was judged in this run (phase scaling).", ""]
    out += ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out + ["", "Durations from the harness's clock; moved = the target's count, ideal = keys of the history "
                  "whose owner differs between the two rings the harness computes.", ""]
