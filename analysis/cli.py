"""``tier7 analyze <run folder>``: print the verdicts as a table, write analysis.json, analysis/*.csv and
dashboard.html into the folder. Exit status: 0 when no verdict is FAIL, 1 when one is (with ``--strict``
also when any verdict is not PASS); a missing or invalid run folder is a one-line error (the CLI's exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .verdict import Status


def add_parser(sub: Any) -> None:
    """Register the ``analyze`` sub-command on the ``tier7`` argument parser."""
    parser = sub.add_parser("analyze", help="analyse a run folder offline: verdicts, metrics, dashboard")
    parser.add_argument("run", type=Path, help="the run folder, e.g. results/<run> (docs/run-folder.md)")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every verdict is PASS or NOT APPLICABLE")
    parser.add_argument("--no-dashboard", action="store_true", help="skip dashboard.html")


def analyze_command(args: argparse.Namespace) -> int:
    from .plots import write_dashboard
    from .report import format_table, write_outputs
    from .run import analyze

    analysis = analyze(args.run)
    write_outputs(analysis)
    print(format_table(analysis))
    outputs = [args.run / "analysis.json", args.run / "analysis"]
    if not args.no_dashboard:
        outputs.append(write_dashboard(analysis))
    print("\nwrote " + ", ".join(str(p) for p in outputs))
    if analysis.failed:
        return 1
    if args.strict and any(v.status not in (Status.PASS, Status.NOT_APPLICABLE) for v in analysis.verdicts):
        return 1
    return 0
