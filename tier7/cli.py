"""The ``tier7`` command line. User errors print one line and exit 2; Ctrl-C exits 130."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from .errors import Tier7Error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tier7", description="Tier 7 (plan 45-04) verification harness")
    sub = parser.add_subparsers(dest="command", required=True)

    testbed = sub.add_parser("testbed", help="run the bundled reference cluster")
    tsub = testbed.add_subparsers(dest="action", required=True)
    up = tsub.add_parser("up", help="start a fresh cluster and leave it running")
    up.add_argument("--preset", default="god-tier", help="preset name or path to a preset TOML (default god-tier)")
    up.add_argument("--dir", type=Path, default=None, help="cluster folder (default results/testbed)")
    up.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for every group's leader")
    up.add_argument("--geo", default=None,
                    help="simulated-regions profile of the preset (compressed, realistic) or none (default: preset's)")
    for name, text in (("status", "show the groups and their leaders"), ("down", "stop every node")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("--dir", type=Path, default=None, help="cluster folder (default results/testbed)")

    from .load.cli import add_load_parser

    add_load_parser(sub)
    from .chaosrun import add_parser as add_chaos

    add_chaos(sub)
    from .verify.command import add_parser as add_verify

    add_verify(sub)
    from .selftest.command import add_parser as add_selftest

    add_selftest(sub)
    from analysis.cli import add_parser as add_analyze

    add_analyze(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A shell without job control starts background commands with SIGINT ignored, and Python then keeps it
    # ignored: Ctrl-C (or the runner's SIGINT to a subcommand) would do nothing and no rollback would run.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "testbed":
            return testbed_command(args)
        if args.command == "load":
            from .load.cli import load_main

            return load_main(args)
        if args.command == "chaos":
            from .chaosrun import command as chaos_command

            return chaos_command(args)
        if args.command == "verify":
            from .verify.command import run as run_verify

            return run_verify(args)
        if args.command == "selftest":
            from .selftest.command import run as run_selftest

            return run_selftest(args)
        if args.command == "analyze":
            from analysis.cli import analyze_command

            return analyze_command(args)
    except Tier7Error as exc:
        print(f"tier7: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tier7: interrupted", file=sys.stderr)
        return 130
    return 1


def testbed_command(args: argparse.Namespace) -> int:
    from .targets.testbed import DEFAULT_DIR, TestbedTarget
    from .topology import format_table, observe

    directory = args.dir or DEFAULT_DIR
    if args.action == "up":
        started = time.monotonic()
        target = TestbedTarget.create(directory, preset=args.preset, geo=args.geo)
        print(f"starting {len(target.nodes())} nodes ({args.preset}) in {target.dir} ...", flush=True)
        try:
            topology = target.start(timeout=args.timeout)
        except BaseException:
            target.stop()
            raise
        print(f"up in {time.monotonic() - started:.1f}s\n")
        geo = target.cluster.get("geo")
        if geo:
            rtts = ", ".join(f"{pair} {ms:g} ms" for pair, ms in geo["rtt_ms"].items())
            print(f"regions ({geo['profile']}): {rtts} round trip, via the fault proxy at {geo['proxy_api']}\n")
        print(f"{'node':<16} {'group':<6} {'region':<10} url")
        for node in target.nodes():
            print(f"{node.name:<16} {node.group:<6} {node.region:<10} {node.url}")
        print()
        print(format_table(topology))
        print(f"\ncluster file: {target.cluster_file}\nstop with: tier7 testbed down"
              + (f" --dir {directory}" if args.dir else ""))
        return 0
    target = TestbedTarget(directory)
    if args.action == "status":
        running = target.running()
        print(f"{len(running)}/{len(target.nodes())} node processes running in {target.dir}")
        print(format_table(observe(target.nodes())))
        return 0 if len(running) == len(target.nodes()) else 1
    if args.action == "down":
        count = len(target.running())
        target.stop()
        print(f"stopped {count} node process(es) in {target.dir}")
        return 0
    return 1
