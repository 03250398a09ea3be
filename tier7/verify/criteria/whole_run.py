"""Whole-run criteria judged by the offline analysis of everything the run recorded: zero critical errors
in logs, linearizability of the strong KV, no acknowledged write lost."""

from __future__ import annotations

from typing import Any

from analysis.verdict import Status

from ...plan import CRITERIA_BY_ID
from ..analysis_bridge import from_analysis
from ..context import RunContext
from ..results import CriterionResult


def _why_missing(ctx: RunContext) -> str:
    return ctx.facts.get("analysis_error", "analysis did not run")


def judge_logs(ctx: RunContext, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["logs"]
    if not ctx.target.log_files():
        from analysis.verdict import Verdict

        return CriterionResult(criterion, Verdict(criterion.id, Status.NOT_APPLICABLE,
                                                  "the target provides no logs to scan"), threshold="0 CRITICAL")
    verdict = from_analysis(analysis, "log-scan", criterion.id, _why_missing(ctx))
    f = verdict.figures
    measured = (f"{f.get('critical', 0)} CRITICAL, {f.get('errors_outside_faults', 0)} ERROR outside faults, "
                f"{f.get('errors_inside_faults', 0)} inside (attributed) over {f.get('lines', '?')} lines"
                if f else "")
    return CriterionResult(criterion, verdict, measured, "0 CRITICAL lines; ERROR only inside fault windows",
                           "analysis.json")


def judge_linearizable(ctx: RunContext, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["linearizable"]
    verdict = from_analysis(analysis, "linearizability", criterion.id, _why_missing(ctx))
    f = verdict.figures
    measured = (f"{f.get('keys', '?')} keys, {f.get('operations', '?')} operations "
                f"({f.get('info_operations', 0)} with unknown outcome) checked in {f.get('seconds', 0):.1f} s"
                if f else "")
    return CriterionResult(criterion, verdict, measured, "every key linearizable", "analysis.json")


def judge_no_lost_writes(ctx: RunContext, analysis: Any) -> CriterionResult:
    criterion = CRITERIA_BY_ID["no-lost-writes"]
    verdict = from_analysis(analysis, "no-lost-writes", criterion.id, _why_missing(ctx))
    f = verdict.figures
    measured = (f"{f.get('lost', '?')} lost of {f.get('acknowledged_writes', '?')} acknowledged writes "
                f"({f.get('keys_with_final_read', '?')} keys read back at the end)" if f else "")
    return CriterionResult(criterion, verdict, measured, "0 lost", "analysis.json")
