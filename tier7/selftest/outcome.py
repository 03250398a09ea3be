"""Judging one selftest run: did the mutant make its criteria FAIL, and did nothing that must hold FAIL?

Pure logic over the statuses a ``tier7 verify`` run wrote into its ``verdicts.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import Mutant

FAIL = "FAIL"


@dataclass
class RunOutcome:
    """One verify run of one mutant. ``result``: caught | missed | clean | false FAIL | error | interrupted."""

    mutant: str
    seed: int
    result: str
    seconds: float
    statuses: dict[str, str] = field(default_factory=dict)   # criterion id -> status seen
    reasons: dict[str, str] = field(default_factory=dict)    # criterion id -> reason (non-PASS only)
    missed: list[str] = field(default_factory=list)          # must_fail criteria that did not FAIL
    false_fails: list[str] = field(default_factory=list)     # must_not_fail criteria that FAILed
    exit_code: int | None = None
    run_dir: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("caught", "clean")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_verdicts(run_dir: Path) -> dict[str, dict[str, str]] | None:
    """criterion id -> {status, reason} from ``<run_dir>/verdicts.json``; None when absent or unreadable."""
    try:
        data = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
        return {c["id"]: {"status": str(c["status"]), "reason": str(c.get("reason") or "")}
                for c in data["criteria"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def judge(mutant: Mutant, verdicts: dict[str, dict[str, str]] | None, seed: int, seconds: float,
          exit_code: int | None, run_dir: Path | None, interrupted: bool = False) -> RunOutcome:
    outcome = RunOutcome(mutant.id, seed, "error", round(seconds, 1), exit_code=exit_code,
                         run_dir=str(run_dir) if run_dir else None)
    if verdicts is None:
        outcome.result = "interrupted" if interrupted else "error"
        outcome.note = "no verdicts.json" + (f" (verify exited {exit_code})" if exit_code is not None else "")
        outcome.missed = list(mutant.must_fail)
        return outcome
    outcome.statuses = {cid: verdicts[cid]["status"] if cid in verdicts else "MISSING" for cid in mutant.only}
    outcome.reasons = {cid: verdicts[cid]["reason"] for cid in mutant.only
                       if cid in verdicts and verdicts[cid]["status"] != "PASS" and verdicts[cid]["reason"]}
    outcome.missed = [c for c in mutant.must_fail if outcome.statuses.get(c) != FAIL]
    outcome.false_fails = [c for c in mutant.must_not_fail if outcome.statuses.get(c) == FAIL]
    if interrupted:
        outcome.result = "interrupted"
    elif outcome.false_fails and outcome.missed:
        outcome.result = "missed + false FAIL"
    elif outcome.false_fails:
        outcome.result = "false FAIL"
    elif outcome.missed:
        outcome.result = "missed"
    else:
        outcome.result = "clean" if mutant.healthy else "caught"
    return outcome
