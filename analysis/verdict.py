"""The shared verdict type: what every checker (and later ``tier7 verify``) returns.

A verdict says PASS only when the check actually ran on enough input and found nothing wrong. Anything
else carries a reason: FAIL (the check found a violation; ``evidence`` lists the offending operations or
lines), UNKNOWN (the check ran but could not decide: too little load, a time budget ran out, missing input),
NOT APPLICABLE (the run or target cannot exercise this criterion), NOT RUN (the check was not executed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    NOT_APPLICABLE = "NOT APPLICABLE"
    NOT_RUN = "NOT RUN"


# Worst first: combining verdicts keeps the worst status.
SEVERITY = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.NOT_RUN: 2, Status.NOT_APPLICABLE: 3, Status.PASS: 4}
EVIDENCE_LIMIT = 50


@dataclass
class Verdict:
    """One criterion's outcome. ``figures`` holds measured numbers (units in the key names, e.g. ``_s``)."""

    name: str
    status: Status
    reason: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        if self.status is not Status.PASS and not self.reason:
            raise ValueError(f"verdict {self.name}: {self.status} needs a reason")

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_dict(self) -> dict[str, Any]:
        evidence = self.evidence[:EVIDENCE_LIMIT]
        out: dict[str, Any] = {"name": self.name, "status": self.status.value, "reason": self.reason,
                               "figures": self.figures, "evidence": evidence}
        if len(self.evidence) > EVIDENCE_LIMIT:
            out["evidence_total"] = len(self.evidence)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(data["name"], Status(data["status"]), data.get("reason", ""),
                   list(data.get("evidence", [])), dict(data.get("figures", {})))


def worst(statuses: list[Status]) -> Status:
    """The most severe status of a list (PASS for an empty list is NOT given: that is NOT RUN)."""
    if not statuses:
        return Status.NOT_RUN
    return min(statuses, key=SEVERITY.__getitem__)


def not_run(name: str, reason: str) -> Verdict:
    return Verdict(name, Status.NOT_RUN, reason)
