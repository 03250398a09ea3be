"""Whole-run criteria, judged by the analysis's checkers over everything the run recorded, with evidence
floors from the plan's ``[evidence]`` table: below a floor the verdict is UNKNOWN (it ran on too little),
never PASS. ``logs``: zero critical errors in every node's log; ``linearizable``: every key of the strong KV
is a linearizable register; ``no-lost-writes``: no acknowledged write lost (final read of every key)."""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .failover import named
from .result import CriterionResult


def from_analysis(facts: RunFacts, analysis: Any, name: str, criterion_id: str) -> Verdict:
    """The checker verdict ``name`` renamed for the criterion (UNKNOWN when the analysis could not run; a
    checker's NOT APPLICABLE — nothing to check — is UNKNOWN too: the criterion was selected and needs input)."""
    verdict = named(analysis, name)
    if verdict is None:
        why = facts.analysis_error or "analysis did not run"
        return Verdict(criterion_id, Status.UNKNOWN, why)
    status = Status.UNKNOWN if verdict.status is Status.NOT_APPLICABLE else verdict.status
    return Verdict(criterion_id, status, verdict.reason, verdict.evidence, verdict.figures)


def load_trouble(facts: RunFacts) -> list[str]:
    """The plain load phase's error, if it had one (what it recorded is still judged, but not as a PASS)."""
    recorded = facts.get("load") or {}
    return [f"the load phase: {recorded['error']}"] if recorded.get("error") else []


def with_floors(verdict: Verdict, shortfalls: list[str]) -> Verdict:
    """A PASS becomes UNKNOWN when an evidence floor was not reached (FAIL stays FAIL)."""
    if verdict.status is not Status.PASS or not shortfalls:
        return verdict
    return Verdict(verdict.name, Status.UNKNOWN, "too little evidence: " + "; ".join(shortfalls),
                   verdict.evidence, verdict.figures)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def below_floors(figures: dict[str, Any], floors: dict[str, Any], table: list[tuple[str, str, str]]) -> list[str]:
    """The evidence floors not reached: ``table`` rows are (figure name, floor name in the plan's
    ``[evidence]``, what the figure counts); one "<n> <what>, floor <floor>" line per shortfall."""
    return [f"{_int(figures.get(figure))} {what}, floor {floors[floor]}"
            for figure, floor, what in table if _int(figures.get(figure)) < int(floors[floor])]


def operations(analysis: Any) -> int:
    summary = getattr(analysis, "summary", {}) or {}
    return _int(summary.get("operations"))


def judge_logs(facts: RunFacts, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["logs"]
    floors = facts.plan["evidence"]
    threshold = "0 CRITICAL lines; ERROR only inside fault windows; a log from every node"
    verdict = from_analysis(facts, analysis, "log-scan", criterion.id)
    min_lines = int(floors["logs_min_lines_per_node"])
    expected = [n["name"] for n in facts.nodes] or facts.log_nodes
    thin = []
    for node in expected:
        text = facts.log_text(node)
        lines = len([line for line in text.splitlines() if line.strip()]) if text is not None else 0
        if lines < min_lines:
            thin.append(f"{node} ({'no log' if text is None else f'{lines} lines'})")
    shortfalls = load_trouble(facts)
    if thin:
        shortfalls.append(f"{len(thin)} node(s) without at least {min_lines} log line(s): {', '.join(thin[:5])}")
    shortfalls += below_floors({"operations": operations(analysis)}, floors,
                               [("operations", "logs_min_operations", "operations served by the cluster")])
    verdict = with_floors(verdict, shortfalls)
    f = verdict.figures
    measured = (f"{f.get('critical', 0)} CRITICAL, {f.get('errors_outside_faults', 0)} ERROR outside faults, "
                f"{f.get('errors_inside_faults', 0)} inside (attributed) over {f.get('lines', '?')} lines of "
                f"{len(expected) - len(thin)}/{len(expected)} nodes" if f else "")
    return CriterionResult(criterion, verdict, measured, threshold, "analysis.json")


def judge_linearizable(facts: RunFacts, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["linearizable"]
    floors = facts.plan["evidence"]
    verdict = from_analysis(facts, analysis, "linearizability", criterion.id)
    f = verdict.figures
    shortfalls = load_trouble(facts)
    shortfalls += below_floors(f, floors, [("operations", "linearizable_min_operations", "strong-KV operations"),
                                           ("keys", "linearizable_min_keys", "keys")])
    verdict = with_floors(verdict, shortfalls)
    measured = (f"{f.get('keys', '?')} keys, {f.get('operations', '?')} operations "
                f"({f.get('info_operations', 0)} with unknown outcome) checked in {f.get('seconds', 0):.1f} s"
                if f else "")
    threshold = (f"every key linearizable (>= {floors['linearizable_min_operations']} operations on "
                 f">= {floors['linearizable_min_keys']} keys)")
    return CriterionResult(criterion, verdict, measured, threshold, "analysis.json")


def judge_no_lost_writes(facts: RunFacts, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["no-lost-writes"]
    floors = facts.plan["evidence"]
    verdict = from_analysis(facts, analysis, "no-lost-writes", criterion.id)
    f = verdict.figures
    shortfalls = load_trouble(facts)
    shortfalls += below_floors(f, floors, [
        ("acknowledged_writes", "no_lost_writes_min_acknowledged", "acknowledged writes"),
        ("keys_with_final_read", "no_lost_writes_min_keys_read_back", "keys read back at the end")])
    final = facts.get("final-read")
    if final is not None and final.get("unread"):
        shortfalls.append(f"{len(final['unread'])} of {final.get('keys')} written keys could not be read back")
    verdict = with_floors(verdict, shortfalls)
    measured = (f"{f.get('lost', '?')} lost of {f.get('acknowledged_writes', '?')} acknowledged writes "
                f"({f.get('keys_with_final_read', '?')} keys read back at the end)" if f else "")
    threshold = (f"0 lost (>= {floors['no_lost_writes_min_acknowledged']} acknowledged writes, "
                 f">= {floors['no_lost_writes_min_keys_read_back']} keys read back)")
    return CriterionResult(criterion, verdict, measured, threshold, "analysis.json")
