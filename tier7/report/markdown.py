"""The verification report (``45-04-verification-report.md``): a verdict per criterion in the plan's
words with figure, threshold and evidence, then topology, fault timeline, metrics and how to reproduce.

Times are UTC, faults are named by id (``F1``...) wherever they appear, terms are whole numbers and a
missing value is an empty cell: the report never says ``nan`` (issue 17). It links the run's
``dashboard.html`` when there is one."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from analysis.judge import Judgement, headline
from analysis.verdict import Status

from .scaling_section import scaling_section

ICON = {Status.PASS: "PASS", Status.FAIL: "**FAIL**", Status.UNKNOWN: "**UNKNOWN**",
        Status.NOT_APPLICABLE: "NOT APPLICABLE", Status.NOT_RUN: "NOT RUN"}


NAN_WORD = re.compile(r"\b[nN]a[nN]\b")
DASHBOARD = "dashboard.html"


def cell(text: Any) -> str:
    """A table cell: missing (None, NaN) is empty; pipes and newlines cannot break the table."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return NAN_WORD.sub("n/a", str(text)).replace("|", "\\|").replace("\n", " ")


def term(value: Any) -> str:
    """A Raft term as a whole number (a float 7.0 from a table prints as 7); missing: ``-``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "-" if value is None or isinstance(value, float) else cell(value)
    return str(int(value))


def reproduce_command(meta: dict[str, Any]) -> str:
    """The command that reruns this run: the recorded one, with ``--seed`` added when it was picked."""
    command = str(meta.get("command") or "tier7 verify")
    if meta.get("seed") is not None and "--seed" not in command.split():
        command += f" --seed {meta['seed']}"
    return command


def versions_table(meta: dict[str, Any]) -> list[str]:
    """Harness, commit, Python and package versions as a two-column table."""
    rows = [("tier7 harness", meta.get("version")), ("git commit", f"`{meta.get('git_commit', 'unknown')}`"),
            ("Python", meta.get("python"))]
    packages = meta.get("packages")
    if isinstance(packages, dict):
        rows += sorted(packages.items())
    elif packages:
        rows.append(("packages", packages))
    return ["| component | version |", "|---|---|"] + [f"| {cell(k)} | {cell(v) or '?'} |" for k, v in rows] + [""]


def dashboard_line(meta: dict[str, Any]) -> str:
    folder = Path(str(meta.get("run_dir", ".")))
    if (folder / DASHBOARD).is_file():
        return f"- Dashboard: [`{DASHBOARD}`]({DASHBOARD}) (charts with the fault windows; opens offline)"
    return f"- Dashboard: not written (`tier7 analyze {folder}` writes `{DASHBOARD}`)"


def topology_table(topology: dict[str, Any] | None) -> list[str]:
    if not topology:
        return ["_not observed_", ""]
    lines = ["| group | leader | term | members (region: role) |", "|---|---|---|---|"]
    for group, view in sorted(topology.items()):
        members = ", ".join(f"{n} ({m.get('region')}: {m.get('role') if m.get('reachable') else 'DOWN'})"
                            for n, m in sorted(view.get("members", {}).items()))
        lines.append(f"| {group} | {view.get('leader') or '-'} | {term(view.get('term'))} | {cell(members)} |")
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
        f"- Date: {meta['started_utc']} UTC — duration {meta.get('duration_s', 0):.0f} s",
        f"- Target: {meta['target']} — preset `{meta['preset']}`",
        f"- Seed: {meta['seed']}{' — quick mode (smaller sizes)' if meta.get('quick') else ''}",
        f"- Evidence: [`{meta['evidence_file']}`]({meta['evidence_file']})",
        dashboard_line(meta),
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
        out += ["| fault id | start (UTC) | fault | target | duration s | outcome |", "|---|---|---|---|---|---|"]
        out += [f"| {cell(f.get('fault_id'))} | {f['start_utc']} | {cell(f['fault'])} | {cell(f.get('target'))} | "
                f"{cell(f.get('duration_s'))} | {cell(f.get('outcome'))} |" for f in faults]
    else:
        out.append("_no faults injected_")
    out += ["", "## Metrics", ""]
    proofs: Any = None
    for title, rows in (sections.get("metrics") or {}).items():
        if title.startswith("CRDT merge proofs"):  # its own section below (analysis/crdt_report.py)
            proofs = rows
            continue
        out += [f"### {title}", ""]
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            columns = list(rows[0])
            out += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            out += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
        else:
            out.append(cell(rows) if rows else "_none_")
        out.append("")
    out += ["## CRDT merge proofs", ""]
    if isinstance(proofs, list) and proofs and isinstance(proofs[0], dict):
        columns = list(proofs[0])
        out += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        out += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in proofs]
        out.append("")
    else:
        out += ["NOT RUN — the run made no multi-region CRDT write rounds (phase crdt).", ""]
    out += scaling_section(results, cell)
    out += ["## Reproduce", "", "```", reproduce_command(meta), "```", "",
            f"Run folder: `{meta['run_dir']}`", "", "### Versions", ""] + versions_table(meta)
    return NAN_WORD.sub("n/a", "\n".join(out))  # a NaN that slipped into free text (a reason, a figure) too
