"""A criterion's outcome as the report shows it: the plan's words, the verdict, figure vs threshold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.verdict import Status, Verdict

from ..plan import Criterion


@dataclass
class CriterionResult:
    criterion: Criterion
    verdict: Verdict
    measured: str = ""          # the figure, in words with units ("max election 0.71 s over 3 kills")
    threshold: str = ""         # what the plan demands ("< 5 s")
    evidence: str | None = None  # path of the evidence file, relative to the run folder
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return self.verdict.status

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.criterion.id, "criterion": self.criterion.text, "measured": self.measured,
                "threshold": self.threshold, "evidence": self.evidence, **self.verdict.to_dict()}


def exit_status(results: list[CriterionResult], strict: bool = False, complete: bool = True) -> int:
    """0 only when every criterion that ran passed (NOT RUN counts against only with ``strict``).

    1 when a criterion failed, was UNKNOWN or the run was incomplete; NOT APPLICABLE never fails the run.
    """
    bad = {Status.FAIL, Status.UNKNOWN} | ({Status.NOT_RUN} if strict else set())
    if not complete or any(r.status in bad for r in results):
        return 1
    return 0


def phase_outcome(criterion: Criterion, facts: dict[str, Any] | None, phase: str, threshold: str,
                  evidence: str | None = None) -> CriterionResult | None:
    """The verdict when a phase left nothing to judge: NOT RUN (no facts), NOT APPLICABLE (the target cannot
    do it) or FAIL (the phase broke with an error); None when its facts are there to be judged."""
    if not facts:
        return CriterionResult(criterion, Verdict(criterion.id, Status.NOT_RUN, f"{phase} phase did not run"),
                               threshold=threshold)
    if "not_applicable" in facts:
        return CriterionResult(criterion, Verdict(criterion.id, Status.NOT_APPLICABLE, facts["not_applicable"]),
                               threshold=threshold)
    if "error" in facts:
        return CriterionResult(criterion, Verdict(criterion.id, Status.FAIL, facts["error"]), threshold=threshold,
                               evidence=evidence)
    return None
