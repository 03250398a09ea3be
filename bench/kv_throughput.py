"""Acknowledged writes per second per Raft group on the testbed, with 1 and with 20 concurrent writers,
and their latency p50/p99 (milliseconds). Writers go straight to the group's leader; one fresh testbed per
geography profile (direct links, then the compressed regions the testbed uses by default).

    .venv/bin/python bench/kv_throughput.py [--seconds 5] [--geo none,compressed]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7.contract import ContractClient  # noqa: E402
from tier7.ring import HarnessRing  # noqa: E402
from tier7.topology import observe  # noqa: E402


def run_writers(url, token, keys, writers, seconds):
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(w):
        with httpx.Client(timeout=10) as http:
            client = ContractClient(url, token, client=http)
            i, mine = 0, []
            while time.monotonic() < deadline:
                started = time.perf_counter()
                if client.put(keys[(w * 7 + i) % len(keys)], f"{w}-{i}").status == 200:
                    mine.append(time.perf_counter() - started)
                i += 1
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return len(latencies) / seconds, pct(0.5), pct(0.99)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--geo", default="none,compressed",
                        help="comma-separated geography profiles, measured one after the other (default none,compressed)")
    args = parser.parse_args()
    print(f"{'geo':<11} {'group':<6} {'writers':>7} {'acked/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for geo in args.geo.split(","):
        measure(geo.strip(), args.seconds)
    return 0


def measure(geo: str, seconds: float) -> None:
    """One fresh testbed with geography ``geo``; 1 and 20 writers against each group's leader."""
    with testbed_cluster(geo=geo) as cluster, httpx.Client(timeout=10) as http:
        tenant, token = tenant_token(cluster, http)
        ring = HarnessRing.from_contract(ContractClient(cluster.nodes()[0].url, client=http).get_json("/v1/ring"))
        topology = observe(cluster.nodes())
        urls = {n.name: n.url for n in cluster.nodes()}
        for group in ("g0", "g1", "g2"):
            keys = [k for k in (f"t{i}" for i in range(2000)) if ring.group_for(tenant, k) == group][:200]
            leader_url = urls[topology.groups[group].leader]
            for writers in (1, 20):
                rate, p50, p99 = run_writers(leader_url, token, keys, writers, seconds)
                print(f"{geo:<11} {group:<6} {writers:>7} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
