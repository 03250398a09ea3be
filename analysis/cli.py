"""``tier7 analyze <run folder>``: print the verdicts as a table, write analysis.json, analysis/*.csv and
dashboard.html into the folder.

On a ``tier7 verify`` run folder the verdict engine (``analysis.judge.judge_run``) judges every criterion
of the plan from the folder, with the plan copy the run wrote, and prints the same criterion table
``tier7 verify`` printed; the exit status is verify's (0 only when every selected criterion passed). On a
plain load or chaos run folder it prints the checkers' table: 0 when no verdict is FAIL, 1 when one is
(with ``--strict`` also when any verdict is not PASS). A missing or invalid run folder is a one-line error
(the CLI's exit 2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tier7.errors import Tier7Error

from .verdict import Status


def add_parser(sub: Any) -> None:
    """Register the ``analyze`` sub-command on the ``tier7`` argument parser."""
    parser = sub.add_parser("analyze", help="analyse a run folder offline: verdicts, metrics, dashboard")
    parser.add_argument("run", type=Path, help="the run folder, e.g. results/<run> (docs/run-folder.md)")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every verdict is PASS or NOT APPLICABLE")
    parser.add_argument("--no-dashboard", action="store_true", help="skip dashboard.html")


def analyze_command(args: argparse.Namespace) -> int:
    from .judge import (
        analyse_folder,
        exit_status,
        headline,
        is_verification_run,
        judge_run,
        summary_lines,
        verdicts_document,
        write_verdicts,
    )
    from .load import check_folder
    from .report import format_table

    check_folder(args.run)  # one-line error for a missing or foreign folder
    analysis, error = analyse_folder(args.run, write=True, dashboard=not args.no_dashboard)
    if analysis is not None:
        print(format_table(analysis))
    outputs = [args.run / "analysis.json", args.run / "analysis"]
    if analysis is not None and not args.no_dashboard:
        outputs.append(args.run / "dashboard.html")
    if not is_verification_run(args.run):
        if analysis is None:
            raise Tier7Error(error)
        print("\nwrote " + ", ".join(str(p) for p in outputs))
        if analysis.failed:
            return 1
        if args.strict and any(v.status not in (Status.PASS, Status.NOT_APPLICABLE) for v in analysis.verdicts):
            return 1
        return 0
    judgement = judge_run(args.run, analysis, error)
    if analysis is not None:  # the criteria's verdicts next to the checkers' in analysis.json
        write_verdicts(judgement)  # and verdicts.json (and the dashboard's head) re-judged, never stale
        path = args.run / "analysis.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        document["criteria"] = verdicts_document(judgement)
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    reason = "" if judgement.complete else f"  (INCOMPLETE: {judgement.reason})"
    print(f"\nplan {judgement.meta.get('plan_id', '?')} — criteria:{reason}")
    print("\n".join(summary_lines(judgement.results)))
    print(f"result: {headline(judgement.results, judgement.complete)}")
    print("\nwrote " + ", ".join(str(p) for p in outputs))
    return exit_status(judgement.results, args.strict, judgement.complete)
