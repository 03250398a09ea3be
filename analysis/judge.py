"""The verdict engine: ``judge_run(run_dir)`` judges every criterion of the plan from a run folder alone.

``tier7 verify`` runs its phases (which write ``facts/*.json``), then calls ``judge_run`` and reports what
it returns; ``tier7 analyze <run>`` calls the same function on the same folder, so both print the same
verdicts. Per criterion: not built -> NOT RUN (pending); not selected -> NOT RUN; a target capability it
needs is missing -> NOT APPLICABLE naming it; a phase it needs did not run -> NOT RUN (run stopped) or
UNKNOWN; else its judge (``analysis.criteria``). A judge's NOT APPLICABLE on a target that has every
capability the criterion needs becomes UNKNOWN: a selected criterion is never excused for nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tier7.errors import Tier7Error

from .criteria import JUDGES
from .criteria.result import CriterionResult, result
from .facts import RUN_FACTS, RunFacts, facts_path
from .plan import Criterion, criteria_of
from .run import Analysis, analyze
from .sections import fault_timeline, report_metrics
from .verdict import Status, Verdict

VERDICTS_FILE = "verdicts.json"
COUNT_ORDER = (Status.PASS, Status.FAIL, Status.UNKNOWN, Status.NOT_APPLICABLE, Status.NOT_RUN)


@dataclass
class Judgement:
    """Every criterion's result for one run folder, with what the report needs around them."""

    facts: RunFacts
    results: list[CriterionResult]
    analysis: Analysis | None
    complete: bool
    reason: str = ""
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def meta(self) -> dict[str, Any]:
        return {**self.facts.run.get("meta", {}), "complete": self.complete, "incomplete_reason": self.reason}


def is_verification_run(run_dir: Path) -> bool:
    """A folder written by ``tier7 verify`` (it has the runner's facts/verify.json)."""
    return facts_path(run_dir, RUN_FACTS).is_file()


def analyse_folder(run_dir: Path, write: bool = True, dashboard: bool = True) -> tuple[Analysis | None, str]:
    """(analysis of the folder, why not): checkers and metrics; with ``write`` also analysis.json,
    analysis/*.csv and (``dashboard``) dashboard.html."""
    try:
        analysis = analyze(run_dir)
    except Tier7Error as exc:
        return None, str(exc)
    if write:
        from .plots import write_dashboard
        from .report import write_outputs

        write_outputs(analysis)
        if dashboard:
            write_dashboard(analysis)
    return analysis, ""


def judge_criterion(criterion: Criterion, facts: RunFacts, analysis: Analysis | None, chosen: list[str],
                    ran: set[str], complete: bool) -> CriterionResult:
    if not criterion.built:
        out = result(criterion, Status.NOT_RUN, criterion.pending)
        out.selected = False
        return out
    if criterion.id not in chosen:
        out = result(criterion, Status.NOT_RUN, "not selected (--only)")
        out.selected = False
        return out
    missing = [c for c in criterion.capabilities if c not in facts.capabilities]
    if missing:
        out = result(criterion, Status.NOT_APPLICABLE, f"target {facts.run.get('target_name', '?')!r} cannot: "
                     f"{', '.join(missing)} (capabilities it declares: {', '.join(sorted(facts.capabilities)) or 'none'})")
        out.missing = missing
        return out
    phases = [p for p in criterion.phases if p not in ran]
    if phases:
        why = (f"the run stopped before its phase(s) {', '.join(phases)}" if not complete
               else f"its phase(s) {', '.join(phases)} did not run")
        return result(criterion, Status.NOT_RUN if not complete else Status.UNKNOWN, why)
    judge = JUDGES.get(criterion.id)
    if judge is None:
        return result(criterion, Status.UNKNOWN, "its judge is not built yet")
    try:
        out = judge(facts, analysis)
    except Exception as exc:  # noqa: BLE001 - a judge bug must not lose the other verdicts
        return result(criterion, Status.UNKNOWN, f"judge crashed: {exc.__class__.__name__}: {exc}")
    if out.status is Status.NOT_APPLICABLE:
        v = out.verdict
        out.verdict = Verdict(v.name, Status.UNKNOWN, "NOT APPLICABLE although the target has every capability "
                              f"this criterion needs: {v.reason}", v.evidence, v.figures)
    return out


def judge_run(run_dir: Path, analysis: Analysis | None = None, analysis_error: str = "",
              write_analysis: bool = True, dashboard: bool = True) -> Judgement:
    """Judge every criterion of the plan (the run's copy of it) from the folder ``run_dir``.

    ``analysis``: an analysis of the folder already made (else it is made here, and with ``write_analysis``
    its files written). Evidence documents are written to ``evidence/<criterion>.json``.
    """
    run_dir = Path(run_dir)
    facts = RunFacts(run_dir)
    if analysis is None and not analysis_error:
        analysis, analysis_error = analyse_folder(run_dir, write_analysis, dashboard)
    facts.analysis_error = analysis_error
    record = facts.run
    complete = bool(record.get("complete", False))
    chosen = list(record.get("chosen", []))
    ran = set(record.get("ran", []))
    results = [judge_criterion(c, facts, analysis, chosen, ran, complete) for c in criteria_of(facts.plan)]
    for r in results:
        if r.evidence_doc is not None and r.evidence:
            path = run_dir / r.evidence
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(r.evidence_doc, indent=2, default=str) + "\n", encoding="utf-8")
    judgement = Judgement(facts, results, analysis, complete,
                          str(record.get("incomplete_reason", "") or ("" if complete else "the run did not finish")))
    judgement.sections = report_sections(facts, analysis)
    return judgement


def region_rtt_section(facts: RunFacts) -> Any:
    """The cross-region round trips measured at the start (rows), or why there are none."""
    recorded = facts.get("region-rtt")
    if not recorded:
        return "NOT RUN — the run ended before the regions were measured"
    if "not_applicable" in recorded:
        return f"NOT APPLICABLE — {recorded['not_applicable']}"
    return recorded.get("rows", [])


def report_sections(facts: RunFacts, analysis: Analysis | None) -> dict[str, Any]:
    topology = facts.get("topology") or {}
    return {"topology_before": topology.get("before"), "topology_after": topology.get("after"),
            "faults": fault_timeline(analysis),
            "metrics": {**report_metrics(analysis), "Cross-region RTT (ms, before any fault)": region_rtt_section(facts)}}


def counts(results: list[CriterionResult]) -> dict[str, int]:
    found = {s.value: sum(r.status is s for r in results) for s in COUNT_ORDER}
    return {k: v for k, v in found.items() if v}


def overall(results: list[CriterionResult], complete: bool) -> str:
    """The one word for the run: FAIL, UNKNOWN, INCOMPLETE (anything of the plan not passed: not run, not
    applicable, or the run did not finish) or PASS — only when every criterion of the plan passed."""
    statuses = {r.status for r in results}
    if Status.FAIL in statuses:
        return "FAIL"
    if Status.UNKNOWN in statuses:
        return "UNKNOWN"
    if not complete or not results or statuses != {Status.PASS}:
        return "INCOMPLETE"
    return "PASS"


def headline(results: list[CriterionResult], complete: bool) -> str:
    """What holds, in one line: ``INCOMPLETE — 8 PASS, 8 NOT RUN``."""
    parts = ", ".join(f"{n} {s}" for s, n in counts(results).items())
    return f"{overall(results, complete)} — {parts}" + ("" if complete else " (run did not finish)")


def exit_status(results: list[CriterionResult], strict: bool = False, complete: bool = True) -> int:
    """0 only when every selected criterion passed or is NOT APPLICABLE for a capability the target lacks.

    1 when a criterion FAILed or is UNKNOWN, when a selected one is NOT APPLICABLE on a target that has what
    it needs, or the run was incomplete; NOT RUN (unselected, not built) counts only with ``strict``."""
    if not complete:
        return 1
    for r in results:
        if r.status in (Status.FAIL, Status.UNKNOWN) or (strict and r.status is Status.NOT_RUN):
            return 1
        if r.status is Status.NOT_APPLICABLE and r.selected and not r.missing:
            return 1
        if r.status is Status.NOT_RUN and r.selected:
            return 1  # selected, yet nothing ran for it
    return 0


def verdicts_document(judgement: Judgement) -> dict[str, Any]:
    return {"result": overall(judgement.results, judgement.complete),
            "headline": headline(judgement.results, judgement.complete),
            "complete": judgement.complete, "incomplete_reason": judgement.reason,
            "criteria": [r.to_dict() for r in judgement.results]}


def write_verdicts(judgement: Judgement) -> Path:
    """``verdicts.json`` in the run folder (the engine's output that ``tier7 verify`` ships)."""
    path = judgement.facts.run_dir / VERDICTS_FILE
    document = verdicts_document(judgement)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    dashboard = judgement.facts.run_dir / "dashboard.html"
    if judgement.analysis is not None and dashboard.is_file():  # written before the verdicts: add them to its head
        from .plots import write_dashboard

        write_dashboard(judgement.analysis, dashboard, document)
    return path


def summary_lines(results: list[CriterionResult]) -> list[str]:
    """The criterion table ``tier7 verify`` and ``tier7 analyze`` print: status, id, figure, reason."""
    lines = []
    for r in results:
        figure = f" — {r.measured}" if r.measured else ""
        why = f" ({r.verdict.reason})" if r.status is not Status.PASS and r.verdict.reason else ""
        lines.append(f"  {r.status.value:<15} {r.criterion.id:<19}{figure}{why}")
    return lines

