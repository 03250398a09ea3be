"""A criterion's outcome as the report shows it: the plan's words, the verdict, figure vs threshold,
and the evidence file (written by the engine into the run folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plan import Criterion
from ..verdict import Status, Verdict


@dataclass
class CriterionResult:
    criterion: Criterion
    verdict: Verdict
    measured: str = ""          # the figure, in words with units ("max election 0.71 s over 3 kills")
    threshold: str = ""         # what the plan demands ("< 5 s")
    evidence: str | None = None  # path of the evidence file, relative to the run folder
    details: dict[str, Any] = field(default_factory=dict)
    evidence_doc: Any = None    # written to ``evidence`` by the engine when not None
    selected: bool = True       # the run was asked to judge it (``--only`` or the default set)
    missing: list[str] = field(default_factory=list)  # target capabilities it needs and the target lacks

    @property
    def status(self) -> Status:
        return self.verdict.status

    def to_dict(self) -> dict[str, Any]:
        """verdicts.json's entry: id, criterion, measured, threshold, evidence_file, then the verdict's fields
        (name, status, reason, figures, evidence list)."""
        return {"id": self.criterion.id, "criterion": self.criterion.text, "measured": self.measured,
                "threshold": self.threshold, "evidence_file": self.evidence, "selected": self.selected,
                **self.verdict.to_dict()}


def result(criterion: Criterion, status: Status, reason: str, threshold: str = "", evidence: str | None = None,
           measured: str = "") -> CriterionResult:
    """A result with no figures (NOT RUN, NOT APPLICABLE, UNKNOWN for want of input, ...)."""
    return CriterionResult(criterion, Verdict(criterion.id, status, reason), measured, threshold, evidence)


def phase_outcome(criterion: Criterion, facts: dict[str, Any] | None, phase: str, threshold: str,
                  evidence: str | None = None) -> CriterionResult | None:
    """The verdict when a phase left nothing to judge: NOT RUN (no facts), NOT APPLICABLE (the target cannot
    do it) or FAIL (the phase broke with an error); None when its facts are there to be judged."""
    if not facts:
        return result(criterion, Status.NOT_RUN, f"{phase} phase did not run (no facts/{phase}.json)", threshold)
    if "not_applicable" in facts:
        return result(criterion, Status.NOT_APPLICABLE, facts["not_applicable"], threshold)
    if "error" in facts:
        return result(criterion, Status.FAIL, facts["error"], threshold, evidence)
    return None
