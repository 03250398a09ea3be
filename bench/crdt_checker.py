"""CRDT checker throughput: a simulated healthy history of N CRDT writes (counters, OR-sets, LWW registers
on shared keys, 100 writers in 3 regions, 2 % of outcomes unknown) plus final reads of every key on 9
replicas, paired (``analysis.ops.crdt_operations``) and judged (``analysis.checkers.crdt``).

Headline: 1,000,000 operations judged in <= 10 s (issue 10). Then one corrupted copy (a lost increment)
to show a violation is still found. Times: wall and CPU seconds of this process, pairing and checking
separately.

    .venv/bin/python bench/crdt_checker.py [--ops 1000000] [--keys 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.checkers.crdt import check_crdt  # noqa: E402
from analysis.ops import crdt_operations  # noqa: E402

BUDGET_S = 10.0
REGIONS = ["us-east", "eu-west", "ap-south"]
NODES = [{"name": f"n{i}", "group": f"g{i % 3}", "region": REGIONS[i // 3]} for i in range(9)]
ELEMENTS = 16        # elements per set: adds and removes collide
OP_NS = 10_000       # one operation invoked every 10 µs (simulated clock)
LATENCY_NS = 2_000_000


def simulate(ops: int, keys: int, writers: int = 100, seed: int = 1) -> pd.DataFrame:
    """Events (invoke + completion per write, then final reads) of a correct CRDT cluster."""
    rng = np.random.default_rng(seed)
    index = np.arange(ops)
    kind = rng.integers(0, 4, ops)  # 0 inc, 1 add, 2 remove, 3 set
    f = np.array(["crdt_inc", "crdt_add", "crdt_remove", "crdt_set"])[kind]
    crdt = np.array(["counter", "set", "set", "register"])[kind]
    key = np.char.add("k", (rng.integers(0, keys, ops)).astype(str))
    writer = rng.integers(0, writers, ops)
    node = writer % 9
    outcome = np.where(rng.random(ops) < 0.02, "info", "ok")
    invoke = 1_000_000_000_000 + index * OP_NS
    complete = invoke + LATENCY_NS
    delta = rng.integers(-5, 10, ops)
    element = np.char.add("e", rng.integers(0, ELEMENTS, ops).astype(str))
    op_id = np.char.add("op", index.astype(str))
    value = np.where(kind == 0, delta.astype(object), np.where(kind == 3, op_id, element)).astype(object)
    value[kind == 0] = delta[kind == 0].tolist()
    removed: list[object] = [None] * ops
    timestamps: list[object] = [None] * ops
    live: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (key, element) -> [(tag, ack time)]
    counters: dict[str, int] = {}
    sets: dict[str, set[str]] = {}
    registers: dict[str, tuple[list[object], str]] = {}
    for i in range(ops):  # the reference cluster: every write applied in invoke order (info ones never)
        k, o = key[i], outcome[i] == "ok"
        if kind[i] == 0 and o:
            counters[k] = counters.get(k, 0) + int(delta[i])
        elif kind[i] == 1 and o:
            live.setdefault((k, element[i]), []).append((op_id[i], int(complete[i])))
        elif kind[i] == 2 and o:
            seen = [t for t, done in live.get((k, element[i]), []) if done < invoke[i]]
            removed[i] = seen
            live[(k, element[i])] = [(t, d) for t, d in live.get((k, element[i]), []) if d >= invoke[i]]
        elif kind[i] == 3 and o:
            timestamps[i] = [int(invoke[i] // 1_000_000), i, f"n{node[i]}"]
            registers[k] = (timestamps[i], op_id[i])
    for (k, e), tags in live.items():
        if tags:
            sets.setdefault(k, set()).add(e)
    base = {"process": np.char.add("w", writer.astype(str)), "op": index + 1, "f": f, "crdt": crdt, "key": key,
            "tenant": "t", "region": np.array(REGIONS)[node // 3], "op_id": op_id, "value": value,
            "source": "bench.jsonl"}
    invokes = pd.DataFrame({**base, "type": "invoke", "time": invoke})
    done = pd.DataFrame({**base, "type": outcome, "time": complete, "node": np.char.add("n", node.astype(str))})
    done["timestamp"], done["removed_tags"] = timestamps, removed
    done = done[done["type"] == "ok"]  # an unknown outcome has no completion at all here
    reads = final_reads(keys, counters, sets, registers, int(complete.max()) + 1_000_000)
    return pd.concat([invokes, done, reads], ignore_index=True).sort_values("time", kind="stable").reset_index(drop=True)


def final_reads(keys: int, counters: dict, sets: dict, registers: dict, start: int) -> pd.DataFrame:
    rows = []
    t = start
    for k in (f"k{i}" for i in range(keys)):
        for crdt in ("counter", "set", "register"):
            if crdt == "counter":
                value, ts = counters.get(k, 0), None
            elif crdt == "set":
                value, ts = sorted(sets.get(k, set())), None
            else:
                ts, winner = registers.get(k, (None, None))
                value = winner
            for n in range(9):
                common = {"process": f"final-n{n}", "op": t, "f": "crdt_read", "crdt": crdt, "key": k, "tenant": "t",
                          "final": True, "source": "final.jsonl"}
                rows.append({**common, "type": "invoke", "time": t})
                rows.append({**common, "type": "ok", "time": t + 1000, "value": value, "node": f"n{n}",
                             "timestamp": ts})
                t += 2000
    return pd.DataFrame(rows)


def measure(events: pd.DataFrame) -> tuple[str, float, float, dict]:
    wall, cpu = time.perf_counter(), time.process_time()
    ops = crdt_operations(events)
    paired = time.perf_counter() - wall
    verdict = check_crdt(ops, NODES).verdict
    return verdict.status.value, paired, time.perf_counter() - wall, {**verdict.figures, "cpu_s": time.process_time() - cpu,
                                                                        "reason": verdict.reason}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000, help="CRDT writes (default 1000000)")
    parser.add_argument("--keys", type=int, default=300, help="keys per CRDT type (default 300)")
    args = parser.parse_args()
    if args.ops < 10 or args.keys < 1:
        print("crdt_checker: --ops must be >= 10 and --keys >= 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    events = simulate(args.ops, args.keys)
    print(f"simulated {args.ops:,} writes + {args.keys * 27:,} final reads ({len(events):,} events) in "
          f"{time.perf_counter() - started:.1f} s")
    status, paired, total, figures = measure(events)
    print(f"healthy:   {status:<8} pair {paired:5.2f} s + check {total - paired:5.2f} s = {total:5.2f} s wall "
          f"({figures['cpu_s']:.2f} s CPU), budget {BUDGET_S:g} s -> {'OK' if total <= BUDGET_S else 'OVER'}")
    lost = events.copy()
    reads = (lost["f"] == "crdt_read") & (lost["crdt"] == "counter") & (lost["key"] == "k0") & (lost["type"] == "ok")
    lost.loc[reads, "value"] = lost.loc[reads, "value"].map(lambda v: v - 1000)  # a lost acknowledged increment
    status_lost, _, total_lost, figures_lost = measure(lost)
    print(f"corrupted: {status_lost:<8} in {total_lost:5.2f} s ({figures_lost['reason']})")
    return 0 if status == "PASS" and status_lost == "FAIL" and total <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
