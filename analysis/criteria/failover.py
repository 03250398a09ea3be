"""Chaos: kill Raft leader, new leader elected within 5 seconds, writes resume.

Facts (facts/failover.json): each Chaos Toolkit ``kill-raft-leader`` experiment run (group, exit status) and
the leaders observed around it. Judged with the analysis of the run folder: per kill and group, the outage
from the last acknowledged operation before the kill to the first after it, and the election time from
topology samples, both within [failover]; a kill measured under too thin a load is UNKNOWN; an experiment
that did not pass (exit status, journal) is a FAIL; fewer kills than the plan's is UNKNOWN.
"""

from __future__ import annotations

import json
from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict, worst
from .result import CriterionResult, phase_outcome


def named(analysis: Any, name: str) -> Verdict | None:
    """The analysis checker verdict ``name`` (None without an analysis)."""
    return next((v for v in getattr(analysis, "verdicts", []) if v.name == name), None)


def _s(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "n/a"


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["failover"]
    limit = float(facts.plan["failover"]["election_max_s"])
    kills_needed = int(facts.sizes["leader_kills"])
    threshold = f"new leader < {limit:g} s and writes resume, per kill (>= {kills_needed} kills)"
    recorded = facts.get("failover")
    if early := phase_outcome(criterion, recorded, "failover", threshold, evidence="facts/failover.json"):
        return early
    experiments = recorded.get("experiments", [])
    failed_experiments = [e for e in experiments if e.get("exit_status") != 0]
    outage = named(analysis, "failover")
    journals = named(analysis, "chaos-experiments")
    statuses = [outage.status if outage else Status.UNKNOWN]
    reasons = [] if outage is None else ([outage.reason] if outage.reason else [])
    evidence = list(outage.evidence) if outage else []
    if failed_experiments:
        statuses.append(Status.FAIL)
        reasons.append(f"{len(failed_experiments)} experiment(s) did not pass: "
                       f"{json.dumps(failed_experiments[0])} (see harness/chaos-*.log and chaos/*/journal.json)")
    if journals is not None and journals.status in (Status.FAIL, Status.UNKNOWN):
        statuses.append(journals.status)
        reasons.append(journals.reason)
    elif recorded.get("nemesis") == "harness":
        pass  # a foreign target's faults come from the runner's own nemesis (tier7/verify/foreign_load.py), no journal
    elif journals is None or journals.status is Status.NOT_APPLICABLE:
        statuses.append(Status.UNKNOWN)
        reasons.append("no Chaos Toolkit journal was judged" if journals is None else journals.reason)
    if len(experiments) < kills_needed:
        statuses.append(Status.UNKNOWN)
        reasons.append(f"only {len(experiments)} kill(s) of the {kills_needed} required")
    if outage is None:
        reasons.append(facts.analysis_error
                       or "analysis did not measure the faults")
    elif outage.status is Status.NOT_APPLICABLE:
        # a fault criterion that was selected and ran its phase, yet no fault was measured: not "not applicable"
        statuses.append(Status.UNKNOWN)
    status = worst(statuses)
    figures = dict(outage.figures) if outage else {}
    figures["kills"] = len(experiments)
    per_kill = [f"{e.get('group')}: election {_s(e.get('election_s') if e.get('leader_was_target') else None)}, "
                f"outage {_s(e.get('outage_s'))}" for e in evidence if isinstance(e, dict)]
    measured = (f"{len(experiments)} kills; worst election {_s(figures.get('worst_election_s'))}, worst outage "
                f"{_s(figures.get('worst_outage_s'))} ({'; '.join(per_kill)})")
    reason = "; ".join(r for r in reasons if r) if status is not Status.PASS else ""
    if status is not Status.PASS and not reason:
        reason = f"{status.value}: see the failover checker in analysis.json"
    verdict = Verdict(criterion.id, status, reason, evidence, figures)
    return CriterionResult(criterion, verdict, measured, threshold, "facts/failover.json")
