"""Transport switches on a healthy testbed under load: the false switches of the adaptive transport.

A fresh god-tier testbed (compressed geo, transport on), `tier7 load --profile mixed` with ``--users`` for
``--seconds``; no fault is injected, so every h2 <-> h3 switch in the node logs is a false one (the link did
not change; only the nodes got busy). Prints the switches per minute, the pairs' worst measured RTT over
their baseline, and the QUIC/asyncio ERROR or WARNING lines. docs/benchmarks.md records the figures.

    .venv/bin/python bench/transport_flaps.py [--users 120] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tier7.targets.testbed import TestbedTarget  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--spawn-rate", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the testbed and run folder (logs, history)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="transport-flaps-"))
    try:
        return measure(folder, args)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def measure(folder: Path, args: argparse.Namespace) -> int:
    """One testbed in ``folder``, the mixed load, then switches, outcomes and noisy log lines counted."""
    target = TestbedTarget.create(folder / "tb")
    try:
        target.start(timeout=60)
        started = time.time()
        run = folder / "run"
        subprocess.run([sys.executable, "-m", "tier7", "load", "--profile", "mixed", "--users", str(args.users),
                        "--spawn-rate", str(args.spawn_rate), "--duration", str(args.seconds), "--tenants", "200",
                        "--target-file", str(target.cluster_file), "--run-dir", str(run)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=args.seconds + 300)
        ended = time.time()
    finally:
        target.stop()
    switches, noisy = [], []
    for log in sorted((folder / "tb").rglob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not started <= entry.get("ts", 0) <= ended:
                continue
            if entry.get("event") == "transport_switch":
                switches.append(entry)
            elif entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                detail = entry.get("error") or ""
                noisy.append(f"{entry.get('node')}: {entry.get('level')} {str(entry.get('msg'))[:100]} {detail}"[:240])
    outcomes = {"ok": 0, "fail": 0, "info": 0}
    for history in (folder / "run" / "history").glob("*.jsonl"):
        for line in history.read_text(errors="replace").splitlines():
            kind = json.loads(line).get("type") if line.strip() else None
            if kind in outcomes:
                outcomes[kind] += 1
    minutes = (ended - started) / 60
    print(f"{args.users} users, {ended - started:.0f} s of load, no fault: {len(switches)} transport switch(es) "
          f"({len(switches) / minutes:.1f}/min)")
    for entry in switches[:10]:
        print(f"  {entry.get('node')} {entry.get('pair')} {entry.get('from')} -> {entry.get('to')}: {entry.get('reason')}")
    print(f"operations: ok {outcomes['ok']}, fail {outcomes['fail']} (mostly refused cross-tenant probes), "
          f"unknown outcome (info) {outcomes['info']}")
    print(f"WARNING/ERROR lines in the node logs during the load: {len(noisy)}")
    for line in noisy[:10]:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
