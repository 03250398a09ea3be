"""Chaos Toolkit experiments as recorded in their journals: PASS when every experiment completed with its
steady-state hypothesis met before and after the method and did not deviate. FAIL otherwise (``chaos run``
exits 0 even when the hypothesis failed before the method, so the journal is read, not the exit code).
NOT APPLICABLE when the run holds no journal."""

from __future__ import annotations

from typing import Any

from ..journals import summary
from ..verdict import Status, Verdict

NAME = "chaos-experiments"


def check_experiments(journals: dict[str, dict[str, Any]]) -> Verdict:
    if not journals:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no Chaos Toolkit journal (chaos/<experiment>/journal.json)")
    rows = summary(journals)
    bad = [r for r in rows if r["status"] != "completed" or r["deviated"]
           or r["steady_state_before"] is False or r["steady_state_after"] is False]
    figures = {"experiments": len(rows), "failed": len(bad)}
    if bad:
        return Verdict(NAME, Status.FAIL, f"{len(bad)} of {len(rows)} experiment(s) did not complete with the "
                       "steady state met", bad, figures)
    return Verdict(NAME, Status.PASS, "", rows, figures)
