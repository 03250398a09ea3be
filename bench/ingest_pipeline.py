"""Events ingest throughput (rows per second) at pipeline depth 1 and 8, side by side, on a fresh testbed
per geography profile (``compressed``: the testbed's default
regions, RTT 7-18 ms; ``realistic``: 70-180 ms; ``none``: direct links). One client sends batches of rows one after the other
to one entry node (``POST /v1/events?depth=N``); each depth gets its own fresh ids, so every row is stored.
Per-stage seconds (parse, route, replicate, summed over chunks) come from the answers.

    .venv/bin/python bench/ingest_pipeline.py [--rows 40000] [--batch 4000] [--depths 1,8]
                                              [--geo compressed,realistic]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7 import sqlsuite  # noqa: E402


def ingest(url: str, token: str, rows: list[dict], batch: int, depth: int) -> dict:
    """Send ``rows`` in batches at ``depth``; rows/s and stage seconds (all rows must be stored)."""
    stages = {"parse": 0.0, "route": 0.0, "replicate": 0.0}
    stored = 0
    with httpx.Client(timeout=120) as http:
        began = time.perf_counter()
        for start in range(0, len(rows), batch):
            answer = http.post(f"{url}/v1/events?depth={depth}", json={"rows": rows[start:start + batch]},
                               headers={"authorization": f"Bearer {token}"})
            if answer.status_code != 200:
                raise SystemExit(f"depth {depth}: batch at {start} answered {answer.status_code}: {answer.text[:200]}")
            body = answer.json()
            # rows in the table after the batch: a chunk the entry node retried (a leader change under its
            # commit) finds the rows its first try committed, which the answer counts as duplicates
            stored += body["committed_rows"]
            for stage, seconds in body["stage_seconds"].items():
                stages[stage] += seconds
        elapsed = time.perf_counter() - began
    if stored != len(rows):
        raise SystemExit(f"depth {depth}: {stored} rows committed of {len(rows)}")
    return {"rows_per_s": len(rows) / elapsed, "elapsed_s": elapsed, **stages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--depths", default="1,8")
    parser.add_argument("--geo", default="compressed,realistic")
    args = parser.parse_args()
    for geo in args.geo.split(","):
        measure(geo.strip(), args, [int(d) for d in args.depths.split(",")])
    return 0


def measure(geo: str, args: argparse.Namespace, depths: list[int]) -> None:
    """One fresh testbed with geography ``geo``: every depth in turn, then the side-by-side table."""
    rng = random.Random(5)
    keys = sqlsuite.make_keys(40)
    results = {}
    with testbed_cluster(geo=geo) as target, httpx.Client(timeout=30) as http:
        _, token = tenant_token(target, http)
        url = target.nodes()[0].url
        for index, depth in enumerate(depths):
            rows = [sqlsuite.to_json(r) for r in sqlsuite.make_rows(rng, args.rows, keys)]
            for offset, row in enumerate(rows):  # ids unique across depths (each run stores every row)
                row["id"] = index * 10_000_000 + offset
            results[depth] = ingest(url, token, rows, args.batch, depth)
            print(f"{geo} depth {depth}: {results[depth]['rows_per_s']:.0f} rows/s", flush=True)
        metrics = http.get(f"{url}/metrics").text
    print(f"events ingest, geo {geo}, {args.rows} rows per depth, batches of {args.batch} rows, 250-row chunks, "
          f"one client, entry node {target.nodes()[0].name}")
    print(f"{'depth':>6} {'rows/s':>10} {'elapsed s':>10} {'parse s':>8} {'route s':>8} {'replicate s':>12}")
    for depth, r in results.items():
        print(f"{depth:>6} {r['rows_per_s']:>10.0f} {r['elapsed_s']:>10.2f} {r['parse']:>8.2f} {r['route']:>8.2f} "
              f"{r['replicate']:>12.2f}")
    if len(depths) >= 2:
        first, last = results[depths[0]], results[depths[-1]]
        print(f"speed-up depth {depths[-1]} vs {depths[0]}: {last['rows_per_s'] / first['rows_per_s']:.2f}x "
              "(goal >= 3x)")
    print("entry node /metrics:")
    for line in metrics.splitlines():
        if line.startswith("testbed_ingest_stage_seconds_sum") or line.startswith("testbed_ingest_rows_total"):
            print("  " + line)


if __name__ == "__main__":
    sys.exit(main())
