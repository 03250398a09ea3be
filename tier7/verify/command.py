"""The `tier7 verify` subcommand's arguments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import Tier7Error


def add_parser(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify", help="run plan 45-04 end to end and write report, evidence zip, STATUS.md")
    verify.add_argument("--preset", default="god-tier", help="testbed preset (default god-tier)")
    verify.add_argument("--target", default="testbed",
                        help="'testbed' (start the bundled cluster), a target file (TOML/JSON, see docs), or "
                             "'etcd' / 'redis-sentinel' (start real servers on loopback, docs/targets.md)")
    verify.add_argument("--only", default=None,
                        help="comma-separated criteria ids (preset, multi-raft, federation, failover, tenants, "
                             "logs, linearizable, no-lost-writes, ...)")
    verify.add_argument("--quick", action="store_true", help="smaller sizes where the plan allows (under 3 min)")
    verify.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; recorded)")
    verify.add_argument("--out", type=Path, default=Path("results"), help="results folder (default results/)")
    verify.add_argument("--status-file", type=Path, default=None,
                        help="STATUS.md to update (default .planning/phases/45-tier-verification/STATUS.md)")
    verify.add_argument("--strict", action="store_true", help="NOT RUN criteria fail the exit status too")
    verify.add_argument("--testbed-faults", default=None, metavar="JSON",
                        help="TEST ONLY: start the testbed with fault switches (docs/testbed.md), to prove a "
                             "criterion FAILs")


def run(args: argparse.Namespace) -> int:
    from .runner import Options, verify

    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    if args.seed is not None and args.seed < 0:
        raise Tier7Error("--seed must be >= 0")
    faults = None
    if args.testbed_faults:
        try:
            faults = json.loads(args.testbed_faults)
        except json.JSONDecodeError as exc:
            raise Tier7Error(f"--testbed-faults is not JSON: {exc}") from None
        if not isinstance(faults, dict):
            raise Tier7Error("--testbed-faults must be a JSON object")
    return verify(Options(preset=args.preset, testbed_faults=faults, target=args.target, only=only, quick=args.quick, seed=args.seed,
                          out=args.out, status_file=args.status_file, strict=args.strict,
                          command=" ".join(["tier7", *sys.argv[1:]]) if sys.argv[0].endswith("tier7")
                          else "tier7 " + " ".join(sys.argv[1:])))
