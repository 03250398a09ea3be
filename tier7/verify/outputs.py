"""The plan's three outputs from a judged run (``analysis.judge.Judgement``): the report, the evidence zip,
the STATUS.md section (verdicts.json is the engine's own output, ``analysis.judge.write_verdicts``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from analysis.judge import Judgement, headline
from analysis.verdict import Status

from ..report.evidence import write_evidence_zip
from ..report.markdown import render
from ..report.redact import redact
from ..report.status import update_status_file


def status_section(judgement: Judgement, report_link: str) -> str:
    meta, results = judgement.meta, judgement.results
    lines = [f"## {meta['plan_id']} {meta['plan_title']}", "",
             f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} — "
             f"**{headline(results, judgement.complete)}** — report: [{meta['report_file']}]({report_link})", ""]
    for r in results:
        box = "x" if r.status is Status.PASS else " "
        why = f": {r.verdict.reason}" if r.status is not Status.PASS and r.verdict.reason else ""
        lines.append(f"- [{box}] {r.criterion.text} — {r.status.value}{why}")
    return "\n".join(lines) + "\n"


def write_outputs(judgement: Judgement, secrets: list[str], status_file: Path) -> dict[str, Path]:
    meta = judgement.meta
    run_dir = judgement.facts.run_dir
    report_path = run_dir / meta["report_file"]
    report_path.write_text(redact(render(judgement), secrets))
    zip_path = run_dir / meta["evidence_file"]
    write_evidence_zip(run_dir, zip_path, secrets)
    try:
        link = os.path.relpath(report_path.resolve(), status_file.resolve().parent)
    except ValueError:
        link = str(report_path.resolve())
    update_status_file(status_file, meta["plan_id"], status_section(judgement, link))
    return {"report": report_path, "evidence": zip_path, "status": status_file}
