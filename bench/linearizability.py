"""Linearizability checker throughput: valid histories from a simulated atomic register
(``bench/histories.py``), checked per key by ``analysis.checkers.linearizability``.

Headline: 100,000 operations over 1,000 keys with 10 concurrent clients per key, target <= 20 s on one
core (the search is single-threaded Python). Then the same 100,000 operations with more clients per key,
to find the largest concurrency checked within the 20 s budget, and one corrupted history (a stale read)
to show a violation is still found. Times: wall and CPU seconds of this process.

    .venv/bin/python bench/linearizability.py [--keys 1000] [--ops-per-key 100] [--sweep 10,15,20,25,30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.checkers.linearizability import check_linearizability  # noqa: E402
from analysis.ops import client_operations  # noqa: E402
from bench.histories import simulate  # noqa: E402
from tier7.history import COLUMNS  # noqa: E402

BUDGET_S = 20.0


def operations(keys: int, clients: int, ops_per_key: int, seed: int = 1) -> pd.DataFrame:
    events = simulate(keys, clients, ops_per_key, seed=seed)
    frame = pd.DataFrame(events, columns=COLUMNS).sort_values("time", kind="stable").reset_index(drop=True)
    return client_operations(frame)


def measure(ops: pd.DataFrame, budget_s: float) -> tuple[str, float, float, dict]:
    wall, cpu = time.perf_counter(), time.process_time()
    verdict = check_linearizability(ops, time_budget_s=budget_s)
    return verdict.status.value, time.perf_counter() - wall, time.process_time() - cpu, verdict.figures


def stale_read(ops: pd.DataFrame) -> tuple[int, str]:
    """A read to corrupt and an old value of its key: one that two later acknowledged puts had overwritten
    before the read was invoked (so returning it is a stale read, not a phantom)."""
    puts = ops[(ops["f"] == "put") & (ops["type"] == "ok")]
    reads = ops[(ops["f"] == "get") & (ops["type"] == "ok")]
    for index in reads.index[len(reads) // 2:]:
        read = reads.loc[index]
        before = puts[(puts["key"] == read["key"]) & (puts["complete_time"] < read["invoke_time"])]
        before = before.sort_values("complete_time")
        if len(before) >= 3 and before["invoke_time"].iloc[-2] > before["complete_time"].iloc[0]:
            return index, before["value_in"].iloc[0]
    raise SystemExit("no read to corrupt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--ops-per-key", type=int, default=100)
    parser.add_argument("--sweep", default="10,15,20,25,30")
    parser.add_argument("--limit-s", type=float, default=120.0, help="search budget per run (wall seconds)")
    args = parser.parse_args()
    total = args.keys * args.ops_per_key
    print(f"{total:,} operations over {args.keys:,} keys; budget {BUDGET_S:g} s\n")
    print(f"{'clients/key':>11} {'verdict':>8} {'wall s':>8} {'cpu s':>8} {'checked ops':>12} {'info':>6} {'steps':>11}")
    largest = None
    for clients in [int(c) for c in args.sweep.split(",")]:
        ops = operations(args.keys, clients, args.ops_per_key)
        status, wall, cpu, figures = measure(ops, args.limit_s)
        print(f"{clients:>11} {status:>8} {wall:>8.2f} {cpu:>8.2f} {figures.get('operations', 0):>12,} "
              f"{figures.get('info_operations', 0):>6} {figures.get('search_steps', 0):>11,}", flush=True)
        if status == "PASS" and cpu <= BUDGET_S:
            largest = clients
        else:
            break
    print(f"\nlargest concurrency checked within {BUDGET_S:g} s of CPU: {largest} clients per key")
    ops = operations(args.keys, 10, args.ops_per_key, seed=2)
    row, stale = stale_read(ops)
    ops.loc[row, "value_out"] = stale
    status, wall, cpu, figures = measure(ops, args.limit_s)
    print(f"same history (10 clients/key) with one stale read: {status} in {wall:.2f} s wall, {cpu:.2f} s cpu")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
