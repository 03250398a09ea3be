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
