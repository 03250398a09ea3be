"""The selftest table: per mutant, what it must FAIL, what each run saw, caught or missed, time, and the
detection rate over repeated runs. Written as ``selftest.md`` and ``selftest.json``, printed as text."""

from __future__ import annotations

from typing import Any

from .catalogue import Mutant
from .outcome import RunOutcome

HEADER = ["mutant", "switches", "expected FAIL", "verdicts seen", "result", "detection", "time (s)"]


def _switches(mutant: Mutant) -> str:
    return ", ".join(f"{k}={v}" for k, v in mutant.switches.items()) or "(none)"


def _seen(runs: list[RunOutcome]) -> str:
    """Verdicts of every run; runs separated by `;` when repeated."""
    parts = []
    for run in runs:
        statuses = ", ".join(f"{c} {s}" for c, s in run.statuses.items()) or run.note or run.result
        parts.append(statuses)
    return "; ".join(parts)


def rate(mutant: Mutant, runs: list[RunOutcome]) -> str:
    """caught/runs for a mutant, clean/runs for the healthy baseline; '-' when nothing finished."""
    finished = [r for r in runs if r.result != "interrupted"]
    if not finished:
        return "-"
    good = sum(r.ok for r in finished)
    return f"{good}/{len(finished)}" + (" clean" if mutant.healthy else "")


def verdict(mutant: Mutant, runs: list[RunOutcome]) -> str:
    """The mutant's line: caught / clean only when every finished run was; else the worst result seen."""
    finished = [r for r in runs if r.result != "interrupted"]
    if not finished:
        return "not run" if not runs else "interrupted"
    bad = [r.result for r in finished if not r.ok]
    if bad:
        return bad[0]
    return "clean" if mutant.healthy else "caught"


def rows(plan: list[tuple[Mutant, list[RunOutcome]]]) -> list[list[str]]:
    table = []
    for mutant, runs in plan:
        times = [r.seconds for r in runs]
        table.append([mutant.id, _switches(mutant), ", ".join(mutant.must_fail) or "(none: nothing may FAIL)",
                      _seen(runs) or "-", verdict(mutant, runs), rate(mutant, runs),
                      " / ".join(f"{t:.0f}" for t in times) or "-"])
    return table


def markdown(plan: list[tuple[Mutant, list[RunOutcome]]], header_lines: list[str]) -> str:
    out = [*header_lines, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows(plan):
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    caught = [(m, r) for m, runs in plan for r in runs if r.result == "caught"]
    if caught:
        out += ["", "## How each was caught", ""]
        for m, run in caught:
            out.append(f"- {m.id} (seed {run.seed}): " + "; ".join(f"{c} FAIL: {run.reasons.get(c, '')}"
                                                                   for c in m.must_fail))
    reasons = [(m.id, r) for m, runs in plan for r in runs if not r.ok and r.result != "interrupted"]
    if reasons:
        out += ["", "## Not caught or falsely failed", ""]
        for mid, run in reasons:
            why = "; ".join(f"{c}: {run.reasons.get(c, run.statuses.get(c, '?'))}" for c in run.missed + run.false_fails)
            out.append(f"- {mid} (seed {run.seed}): {run.result} — {why or run.note} (run: {run.run_dir})")
    return "\n".join(out) + "\n"


def text(plan: list[tuple[Mutant, list[RunOutcome]]]) -> str:
    """A plain-text table for the terminal (long cells wrap into following lines)."""
    table = [HEADER, *rows(plan)]
    widths = [min(max(len(r[i]) for r in table), 60) for i in range(len(HEADER))]
    lines = []
    for row in table:
        lines.append("  ".join(cell[:60].ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


def document(plan: list[tuple[Mutant, list[RunOutcome]]], meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "mutants": [
        {"id": m.id, "story": m.story, "switches": m.switches, "only": list(m.only), "must_fail": list(m.must_fail),
         "must_not_fail": list(m.must_not_fail), "result": verdict(m, runs), "detection": rate(m, runs),
         "runs": [r.as_dict() for r in runs]} for m, runs in plan]}
