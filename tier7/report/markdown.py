"""The verification report (``45-04-verification-report.md``): a verdict per criterion in the plan's
words with figure, threshold and evidence, then topology, fault timeline, metrics and how to reproduce."""

from __future__ import annotations

from typing import Any

from analysis.judge import Judgement, headline
from analysis.verdict import Status

ICON = {Status.PASS: "PASS", Status.FAIL: "**FAIL**", Status.UNKNOWN: "**UNKNOWN**",
        Status.NOT_APPLICABLE: "NOT APPLICABLE", Status.NOT_RUN: "NOT RUN"}


def cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def topology_table(topology: dict[str, Any] | None) -> list[str]:
    if not topology:
        return ["_not observed_", ""]
    lines = ["| group | leader | term | members (region: role) |", "|---|---|---|---|"]
    for group, view in sorted(topology.items()):
        members = ", ".join(f"{n} ({m.get('region')}: {m.get('role') if m.get('reachable') else 'DOWN'})"
                            for n, m in sorted(view.get("members", {}).items()))
        lines.append(f"| {group} | {view.get('leader') or '-'} | {view.get('term')} | {cell(members)} |")
    return lines + [""]


def render(judgement: Judgement) -> str:
    """Markdown text of a judged run: its meta (plan, run facts), results and sections (topology
    before/after, fault timeline, metrics)."""
    meta, results, sections = judgement.meta, judgement.results, judgement.sections
    complete = judgement.complete
    out = [f"# {meta['plan_id']} Verification Report — {meta['plan_title']}", ""]
    if not complete:
        out += [f"> **INCOMPLETE RUN** — {meta.get('incomplete_reason', 'interrupted')}. Criteria that had not "
                "finished are NOT RUN; what was recorded is below and in the evidence zip.", ""]
    out += [
        f"- **Result: {headline(results, complete)}** (PASS only when every criterion of the plan passed)",
        f"- Date (UTC): {meta['started_utc']} — duration {meta.get('duration_s', 0):.0f} s",
        f"- Target: {meta['target']} — preset `{meta['preset']}`",
        f"- Seed: {meta['seed']}{' — quick mode (smaller sizes)' if meta.get('quick') else ''}",
        f"- Evidence: [`{meta['evidence_file']}`]({meta['evidence_file']})",
        "",
        "## Success criteria", "",
        "| # | Criterion (plan 45-04) | Verdict | Measured | Threshold | Evidence |",
        "|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(results, 1):
        evidence = f"[{r.evidence}]({r.evidence})" if r.evidence else ""
        measured = r.measured or r.verdict.reason
        out.append(f"| {number} | {cell(r.criterion.text)} | {ICON[r.status]} | {cell(measured)} | "
                   f"{cell(r.threshold)} | {evidence} |")
    out.append("")
    not_run = [r for r in results if r.status is Status.NOT_RUN]
    if not_run:
        out += [f"### Not run ({len(not_run)})", ""]
        out += [f"- **{r.criterion.text}** — {r.verdict.reason}" for r in not_run]
        out.append("")
    problems = [r for r in results if r.status in (Status.FAIL, Status.UNKNOWN, Status.NOT_APPLICABLE)]
    if problems:
        out += ["### Why not PASS", ""]
        for r in problems:
            out.append(f"- **{r.criterion.id}** ({r.status.value}): {r.verdict.reason}")
            for item in r.verdict.evidence[:10]:
                out.append(f"  - `{cell(item)}`")
        out.append("")
    out += ["## Raft group topology", "", "Before the run:", ""] + topology_table(sections.get("topology_before"))
    out += ["After the run:", ""] + topology_table(sections.get("topology_after"))
    faults = sections.get("faults") or []
    out += ["## Fault timeline", ""]
    if faults:
        out += ["| start (UTC) | fault | target | duration s | outcome |", "|---|---|---|---|---|"]
        out += [f"| {f['start_utc']} | {cell(f['fault'])} | {cell(f.get('target'))} | {f.get('duration_s', '')} | "
                f"{cell(f.get('outcome'))} |" for f in faults]
    else:
        out.append("_no faults injected_")
    out += ["", "## Metrics", ""]
    for title, rows in (sections.get("metrics") or {}).items():
        out += [f"### {title}", ""]
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            columns = list(rows[0])
            out += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            out += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
        else:
            out.append(cell(rows) if rows else "_none_")
        out.append("")
    out += ["## CRDT merge proofs", "", "NOT RUN — CRDT keys are not built yet.", "",
            "## Scaling timelines", "", "NOT RUN — scale-out / scale-in are not built yet.", ""]
    out += ["## Reproduce", "", "```", meta["command"], "```", "",
            f"- harness {meta.get('version')} at git commit `{meta.get('git_commit', 'unknown')}`",
            f"- Python {meta.get('python')}; {meta.get('packages', '')}",
            f"- run folder: `{meta['run_dir']}`", ""]
    return "\n".join(out)
