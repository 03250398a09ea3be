"""Run every benchmark one after the other (never in parallel: they would measure each other) and keep
their output in ``results/bench-<UTC time>/``. ``make bench`` runs this.

Each benchmark prints its own side-by-side figures; this script only sequences them, bounds each by a
wall-clock limit (seconds) and says which ones failed. docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, arguments, wall-clock limit in seconds). The order puts the pure-CPU ones first.
BENCHMARKS: list[tuple[str, list[str], float]] = [
    ("linearizability", ["--sweep", "10,15,20"], 600),
    ("metrics_scale", [], 600),
    ("recording_overhead", ["--seconds", "5", "--rounds", "3"], 300),
    ("proxy_overhead", ["--rounds", "3"], 300),
    ("latency_accuracy", [], 300),
    ("leader_kill", ["--kills", "10"], 600),
    ("kv_throughput", ["--seconds", "5"], 300),
    ("idle_cpu", ["--seconds", "15", "--kills", "5", "--variants", "before,eager-75ms"], 600),
    ("load_workers", ["--users", "120", "--seconds", "20"], 600),
    ("leader_kill_chaos", ["--kills", "10"], 900),
    ("rebalance", ["--keys", "10000"], 900),  # --keys 10000,100000 for the issue-11 goal (loading is slow)
    ("ingest_pipeline", ["--rows", "40000"], 600),
    ("sql_suite", ["--rows", "1000000"], 1800),
    ("blob_throughput", ["--rounds", "3"], 600),
    ("crdt_checker", [], 300),  # issue 10: CRDT checker on 1M ops
    ("crdt_throughput", ["--seconds", "15"], 900),  # issue 10: CRDT ops/s vs health ceiling, lag, convergence
    ("redis_sentinel_loss", ["--runs", "10"], 1500),  # issue 14: real Redis Sentinel, lost writes caught N/10
]


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    args = parser.parse_args()
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = wanted - {name for name, _, _ in BENCHMARKS}
    if unknown:
        print(f"error: unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    out = ROOT / "results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for name, extra, limit_s in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *extra]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        with open(out / f"{name}.txt", "w") as log:
            try:
                process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True, start_new_session=True)
                assert process.stdout is not None
                # A benchmark that hangs silently is killed by the watchdog, not waited for.
                watchdog = threading.Timer(limit_s, _signal_group, (process.pid, signal.SIGKILL))
                watchdog.start()
                try:
                    for line in process.stdout:
                        sys.stdout.write(line)
                        log.write(line)
                    code = process.wait(timeout=30)
                finally:
                    watchdog.cancel()
            except KeyboardInterrupt:
                _signal_group(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
                print("interrupted", file=sys.stderr)
                return 130
        took = time.monotonic() - started
        if code != 0:
            failed.append(name)
        print(f"== {name}: exit {code} in {took:.0f} s", flush=True)
    print(f"outputs: {out}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
