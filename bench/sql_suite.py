"""Federated SQL latency: the sql phase's query suite (tier7/sqlsuite.py) over 1M event rows on a fresh
testbed (9 nodes, compressed regions). Rows are loaded through the pipelined events ingest (depth 8); then
each query runs ``--repeat`` times through one node; printed: rows answered, median and max latency
(milliseconds), the plan the coordinator chose (``plan``: aggregate/rows/filter/ship pushdown), and the
answer checked against the harness's oracle (plain Python over the generated rows) with the sql phase's
comparison rules, for every query.

    .venv/bin/python bench/sql_suite.py [--rows 1000000] [--batch 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.sql_compare import compare  # noqa: E402
from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7 import sqlsuite  # noqa: E402
from tier7.ring import HarnessRing  # noqa: E402


def load(url: str, token: str, rows: list[dict], batch: int, clients: int) -> float:
    """Send every row (``clients`` concurrent senders, depth 8); seconds taken."""
    batches = [rows[i:i + batch] for i in range(0, len(rows), batch)]

    def send(part: list[dict]) -> None:
        with httpx.Client(timeout=300) as http:
            body = {"rows": [sqlsuite.to_json(r) for r in part]}
            for _attempt in range(3):  # a resent batch is safe: ids make appends idempotent
                answer = http.post(f"{url}/v1/events?depth=8", json=body,
                                   headers={"authorization": f"Bearer {token}"})
                if answer.status_code == 200:
                    return
            raise SystemExit(f"batch not acknowledged: {answer.status_code} {answer.text[:200]}")

    began = time.perf_counter()
    step = max(1, len(batches) // 10)  # progress every ~10 % (1M rows take minutes)
    with ThreadPoolExecutor(clients) as pool:
        for done, _ in enumerate(pool.map(send, batches), 1):
            if done % step == 0 or done == len(batches):
                loaded = min(done * batch, len(rows))
                elapsed = time.perf_counter() - began
                print(f"  loaded {loaded:,} of {len(rows):,} rows in {elapsed:.0f} s "
                      f"({loaded / elapsed:.0f} rows/s)", flush=True)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}", flush=True)
    rng = random.Random(11)
    keys = sqlsuite.make_keys(40)
    began = time.perf_counter()
    rows = sqlsuite.make_rows(rng, args.rows, keys)
    print(f"generated {len(rows)} rows in {time.perf_counter() - began:.1f} s", flush=True)
    with testbed_cluster() as target, httpx.Client(timeout=600) as http:
        tenant, token = tenant_token(target, http)
        nodes = target.nodes()
        kv = {k: f"v-{k}" for k in keys}
        for key, value in kv.items():
            http.put(f"{nodes[0].url}/v1/kv/{quote(key, safe='')}", json={"value": value},
                     headers={"authorization": f"Bearer {token}"})
        seconds = load(nodes[0].url, token, rows, args.batch, args.clients)
        print(f"loaded {len(rows)} rows in {seconds:.1f} s ({len(rows) / seconds:.0f} rows/s, "
              f"{args.clients} clients, depth 8)", flush=True)
        ring = HarnessRing.from_contract(http.get(f"{nodes[0].url}/v1/ring").json())
        groups = sorted({n.group for n in nodes})
        grp = {k: ring.group_for(tenant, k) for k in {r["key"] for r in rows}}
        print(f"load average after loading {os.getloadavg()[0]:.1f}", flush=True)
        print(f"{'query':<22} {'rows':>6} {'median ms':>10} {'max ms':>8} {'plan':>9}  oracle")
        total = []
        for query in sqlsuite.suite(kv, groups[0]):
            times, answer = [], None
            for _ in range(args.repeat):
                started = time.perf_counter()
                answer = http.post(f"{nodes[4].url}/v1/sql", json={"sql": query.sql},
                                   headers={"authorization": f"Bearer {token}"})
                times.append((time.perf_counter() - started) * 1000)
            body = answer.json()
            expected = sqlsuite.expected_json(query.oracle(rows, grp, groups[0]), query.kinds)
            ok, why = compare(expected, body.get("rows"), list(query.kinds), query.ordered)
            check = "right" if ok else f"WRONG: {why}"
            rows_out = len(body["rows"]) if answer.status_code == 200 else f"{answer.status_code}"
            total.append(statistics.median(times))
            print(f"{query.name:<22} {rows_out:>6} {statistics.median(times):>10.0f} {max(times):>8.0f} "
                  f"{body.get('plan', '?'):>9}  {check}", flush=True)
        print(f"suite: {len(total)} queries, sum of medians {sum(total) / 1000:.2f} s over {len(rows)} event rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
