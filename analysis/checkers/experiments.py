"""Chaos Toolkit experiments as recorded in their journals (``analysis.journals``).

PASS when every experiment completed with its steady-state hypothesis met before and after the method,
did not deviate, and every activity it ran succeeded: method actions and probes and every rollback
(chaoslib keeps ``status: completed`` when a method action failed, e.g. a kill that did not take effect,
and ``chaos run`` exits 0 when the hypothesis failed before the method, so each activity's own status is
read, not the journal's status or the exit code), and ``tier7 chaos run``'s own verdict (``tier7`` key /
``verdict.json``: e.g. faults its safety net had to undo) is not FAIL. An experiment folder without a
journal is a FAIL. NOT APPLICABLE only when the run holds no experiment at all (e.g. a plain load run).
"""

from __future__ import annotations

from typing import Any

from ..journals import summary
from ..verdict import Status, Verdict

NAME = "chaos-experiments"


def check_experiments(journals: dict[str, dict[str, Any]]) -> Verdict:
    if not journals:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no Chaos Toolkit journal (chaos/<experiment>/journal.json)")
    rows = summary(journals)
    bad = [r for r in rows if r["problems"]]
    figures = {"experiments": len(rows), "failed": len(bad),
               "failed_activities": sum(len(r["failed_activities"]) for r in rows)}
    if bad:
        first = bad[0]
        return Verdict(NAME, Status.FAIL, f"{len(bad)} of {len(rows)} experiment(s) did not pass; "
                       f"{first['experiment']}: {'; '.join(first['problems'])}", bad, figures)
    return Verdict(NAME, Status.PASS, "", rows, figures)
