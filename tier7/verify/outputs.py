"""The plan's three outputs from a finished (or interrupted) run."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.verdict import Status

from ..report.evidence import write_evidence_zip
from ..report.markdown import overall, render
from ..report.redact import redact
from ..report.status import update_status_file
from .results import CriterionResult


def status_section(meta: dict[str, Any], results: list[CriterionResult], report_link: str) -> str:
    verdict = overall(results, meta.get("complete", True))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    lines = [f"## {meta['plan_id']} {meta['plan_title']}", "",
             f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} — **{verdict}** "
             f"({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}) — report: [{meta['report_file']}]"
             f"({report_link})", ""]
    for r in results:
        box = "x" if r.status is Status.PASS else " "
        why = f": {r.verdict.reason}" if r.status is not Status.PASS and r.verdict.reason else ""
        lines.append(f"- [{box}] {r.criterion.text} — {r.status.value}{why}")
    return "\n".join(lines) + "\n"


def write_outputs(run_dir: Path, meta: dict[str, Any], results: list[CriterionResult], sections: dict[str, Any],
                  secrets: list[str], status_file: Path) -> dict[str, Path]:
    report_path = run_dir / meta["report_file"]
    report_path.write_text(redact(render(meta, results, sections), secrets))
    (run_dir / "verdicts.json").write_text(json.dumps(
        {"result": overall(results, meta.get("complete", True)), "criteria": [r.to_dict() for r in results]},
        indent=2, default=str))
    zip_path = run_dir / meta["evidence_file"]
    write_evidence_zip(run_dir, zip_path, secrets)
    try:
        link = os.path.relpath(report_path.resolve(), status_file.resolve().parent)
    except ValueError:
        link = str(report_path.resolve())
    update_status_file(status_file, meta["plan_id"], status_section(meta, results, link))
    return {"report": report_path, "evidence": zip_path, "status": status_file}
