"""``tier7 trends`` and ``tier7 soak`` (issue 15): their arguments and dispatch, kept out of tier7/cli.py."""

from __future__ import annotations

import argparse
from pathlib import Path

COMMANDS = ("trends", "soak")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    trends = sub.add_parser("trends", help="figures and verdicts of every verify/soak run over time; exit 1 "
                            "when the newest run regressed")
    trends.add_argument("results", nargs="?", type=Path, default=Path("results"),
                        help="folder holding the run folders (default: results)")
    trends.add_argument("--out", type=Path, default=None,
                        help="where trends.html and trends.csv go (default: the results folder)")
    trends.add_argument("--rules", type=Path, default=None,
                        help="regression rules TOML (default: analysis/trends.toml)")
    from .soak.cli import add_parser as add_soak

    add_soak(sub)


def run(args: argparse.Namespace) -> int:
    if args.command == "trends":
        from analysis.trends import trends_command

        return trends_command(args.results, args.out, args.rules)
    from .soak.cli import soak_command

    return soak_command(args)
