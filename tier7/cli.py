"""The ``tier7`` command line. User errors print one line and exit 2; Ctrl-C exits 130.

``tier7`` alone prints its help (exit 0), a group without its subcommand (``tier7 chaos``) the group's help
(exit 2). Every subcommand names the cluster with ``--target`` (tier7/targetarg.py); the older ``--dir``,
``--testbed-dir`` and ``--target-file`` still work, hidden. Help style and examples: tier7/cli_style.py."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from . import cli_style
from .errors import Tier7Error
from .targetarg import HELP as TARGET_HELP


class VersionAction(argparse.Action):
    """``--version``: the package version and the git commit (looked up only when asked)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and git commit, then exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from . import __version__
        from .runfolder import git_commit

        print(f"tier7 {__version__} (commit {git_commit()[:12]})")
        parser.exit(0)


def add_target(parser: argparse.ArgumentParser, old: str | None, dest: str, must_exist: bool = True) -> None:
    """The canonical ``--target`` and, hidden, the old name of the same option."""
    text = TARGET_HELP + " (default: testbed)" if must_exist else \
        "the testbed's folder or its cluster.json (default: $TIER7_TESTBED_DIR, else results/testbed)"
    parser.add_argument("--target", dest="target", default=None, metavar="TARGET", help=text)
    if old is not None:
        parser.add_argument(old, dest=dest, type=Path, default=None, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tier7", description="Tier 7 (plan 45-04) verification harness: "
                                     "a bundled reference cluster, recorded load, chaos experiments and the "
                                     "plan's verdicts. `tier7 COMMAND --help` for each command.")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    testbed = sub.add_parser("testbed", help="run the bundled reference cluster")
    tsub = testbed.add_subparsers(dest="action", metavar="ACTION")
    up = tsub.add_parser("up", help="start a fresh cluster and leave it running")
    up.add_argument("--preset", default="god-tier", help="preset name or path to a preset TOML (default god-tier)")
    add_target(up, "--dir", "dir", must_exist=False)
    up.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for every group's leader")
    up.add_argument("--kind", default="testbed", choices=["testbed", "etcd", "redis-sentinel"], metavar="KIND",
                    help="what to start: testbed (the bundled cluster), etcd or redis-sentinel (real servers on "
                         "loopback, in results/<kind> unless --target)")
    up.add_argument("--geo", default=None,
                    help="simulated-regions profile of the preset (compressed, realistic) or none (default: preset's)")
    for name, text in (("status", "show the groups and their leaders"), ("down", "stop every node")):
        p = tsub.add_parser(name, help=text)
        add_target(p, "--dir", "dir", must_exist=False)

    targets = sub.add_parser("targets", help="what each target driver can do (capabilities)")
    tgsub = targets.add_subparsers(dest="action", metavar="ACTION")
    tgsub.add_parser("describe", help="the capability matrix of testbed, etcd, redis-sentinel and a target file, "
                     "and which criteria each is NOT APPLICABLE for")

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
    from .ops_cli import add_parsers as add_ops  # trends, soak (issue 15)

    add_ops(sub)
    load = sub.choices["load"]
    if not any("--target" in a.option_strings for a in load._actions):
        load.add_argument("--target", dest="target", default=None, metavar="TARGET",
                          help=TARGET_HELP + " (default: testbed)")
    cli_style.hide(load, "--target-file")
    parser.set_defaults(_parsers=cli_style.style(parser))
    return parser


def main(argv: list[str] | None = None) -> int:
    # A shell without job control starts background commands with SIGINT ignored, and Python then keeps it
    # ignored: Ctrl-C (or the runner's SIGINT to a subcommand) would do nothing and no rollback would run.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    group = args._parsers.get(" ".join(p for p in (args.command, getattr(args, "action", None)) if p) or "")
    if args.command is None or getattr(args, "action", "") is None:  # a group without its subcommand
        (group or parser).print_help()
        return 2
    try:
        resolve_target(args)
        if args.command == "testbed":
            return testbed_command(args)
        if args.command == "targets":
            from .targets.capabilities import describe

            print(describe())
            return 0
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
        if args.command in ("trends", "soak"):
            from .ops_cli import run as run_ops

            return run_ops(args)
    except Tier7Error as exc:
        print(f"tier7: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tier7: interrupted", file=sys.stderr)
        return 130
    return 1


def resolve_target(args: argparse.Namespace) -> None:
    """Turn ``--target`` into what each subcommand reads (its old option's attribute); giving both the
    new and the old name is refused."""
    from .targetarg import classify, testbed_folder

    value = getattr(args, "target", None)
    if args.command == "verify":
        choice = classify(value)
        if choice.kind == "foreign-dir":
            args.target = str(choice.path)  # a foreign cluster left running (foreign.json): open it
        if choice.kind == "testbed-dir":
            args.target = str(choice.path / "cluster.json")  # a running testbed: open it, do not start one
        return
    if value is None:
        return
    old = {"testbed": "dir", "load": "target_file", "chaos": "testbed_dir"}.get(args.command)
    if old and getattr(args, old, None):
        flag = {"dir": "--dir", "target_file": "--target-file", "testbed_dir": "--testbed-dir"}[old]
        raise Tier7Error(f"give --target or its old name {flag}, not both")
    if args.command in ("load", "chaos") and classify(value).kind in ("etcd", "redis-sentinel", "foreign-dir"):
        raise Tier7Error(f"--target {value}: `tier7 {args.command}` drives targets speaking the HTTP contract; "
                         f"judge a foreign target with `tier7 verify --target {value}`")
    if args.command == "testbed":
        args.dir = testbed_folder(value, must_exist=args.action != "up")
    elif args.command == "load":
        choice = classify(value)
        args.target_file = "" if choice.path is None else str(
            choice.path / "cluster.json" if choice.kind == "testbed-dir" else choice.path)
    elif args.command == "chaos":
        choice = classify(value)
        if choice.kind == "testbed-dir":
            args.testbed_dir = choice.path
        elif choice.kind == "file":
            args.var = [*getattr(args, "var", []), f"tier7_target={choice.path}"]


def print_emulators(target: object, start: bool = False) -> None:
    """The blob emulators (contract v4) of a testbed, started first when ``start``; a failure to start them
    is one line (the nodes stay up: only the cloud criterion needs them)."""
    emulators = target.emulators()  # type: ignore[attr-defined]
    if start:
        began = time.monotonic()
        try:
            emulators.start()
            print(f"blob emulators up in {time.monotonic() - began:.1f}s")
        except Tier7Error as exc:
            print(f"blob emulators not started: {exc}")
    rows = emulators.status()
    if not rows:
        print("blob emulators: none running (started by `tier7 testbed up` or the cloud phase)")
    for row in rows:
        state = "paused" if row["paused"] else "running" if row["running"] else "stopped"
        print(f"blob emulator {row['backend']:<6} {state:<8} pid {row['pid']:<8} http://127.0.0.1:{row['port']}")
    print()


def testbed_command(args: argparse.Namespace) -> int:
    from .targetarg import FOREIGN_FILE
    from .targets.testbed import DEFAULT_DIR, TestbedTarget
    from .topology import format_table, observe

    kind = getattr(args, "kind", "testbed")
    if kind != "testbed" or (args.action != "up" and args.dir and (Path(args.dir) / FOREIGN_FILE).is_file()):
        from .targets.foreigncli import foreign_command

        return foreign_command(args.action, kind, args.dir, args.timeout if args.action == "up" else 60.0)
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
        print_emulators(target, start=True)
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
              + (f" --target {directory}" if args.dir else ""))
        return 0
    target = TestbedTarget(directory)
    if args.action == "status":
        running = target.running()
        print(f"{len(running)}/{len(target.nodes())} node processes running in {target.dir}")
        print(format_table(observe(target.nodes())))
        print_emulators(target)
        return 0 if len(running) == len(target.nodes()) else 1
    if args.action == "down":
        count = len(target.running())
        target.stop()
        print(f"stopped {count} node process(es) in {target.dir}")
        return 0
    return 1
