"""Rebalance time and keys moved vs ideal (issue 11 "Must hold" 2), on a fresh god-tier testbed.

For each key count: load the keys (async PUTs through every node), scale out by a group of 3 nodes, wait
until every node reports the rebalance finished, then drain an original group (g1) the same way. Prints,
per operation: the rebalance's own duration (the cluster's started -> finished), the harness's wall clock
from the admin call until every node says finished, keys moved, the ideal (keys whose owner differs
between the two epochs, computed with the harness's ring, tier7/ring.py) and moved/ideal, and the share
of keys that moved against 1/(groups+1).

    .venv/bin/python -m bench.rebalance --keys 10000,100000
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench._cluster import tenant_token, testbed_cluster
from tier7.ring import HarnessRing
from tier7.targets.testbed import TestbedTarget


async def _load(urls: list[str], token: str, count: int, concurrency: int = 48) -> float:
    """PUT ``count`` keys (retrying 503/504: same value, idempotent); returns keys per second."""
    headers = {"authorization": f"Bearer {token}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    started = time.perf_counter()
    done = [0]
    step = max(1, count // 10)  # progress every ~10 % (100k keys take minutes)

    async def worker(w: int, client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            done[0] += 1
            if done[0] % step == 0:
                elapsed = time.perf_counter() - started
                print(f"  {done[0]:,} of {count:,} keys sent in {elapsed:.0f} s", flush=True)
            for _ in range(20):
                try:
                    answer = await client.put(f"{urls[(i + w) % len(urls)]}/v1/kv/b{i}",
                                              json={"value": f"value-{i:08d}"}, headers=headers)
                    if answer.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            else:
                raise SystemExit(f"key b{i} never acknowledged")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=15.0, limits=limits) as client:
        await asyncio.gather(*(worker(w, client) for w in range(concurrency)))
    return count / (time.perf_counter() - started)


def _ring(http: httpx.Client, url: str) -> HarnessRing:
    return HarnessRing.from_contract(http.get(f"{url}/v1/ring").json())


def _wait_all_finished(target: TestbedTarget, http: httpx.Client, epoch: int, limit_s: float = 600) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        answers = [http.get(f"{n.url}/v1/rebalance").json() for n in target.nodes() if target.is_running(n.name)]
        if answers and all(a["state"] == "finished" and a["epoch"] == epoch for a in answers):
            return answers[0]
        time.sleep(0.2)
    raise SystemExit(f"rebalance to epoch {epoch} did not finish within {limit_s:.0f} s")


def _report(label: str, status: dict, wall_s: float, before: HarnessRing, after: HarnessRing, tenant: str,
            count: int) -> None:
    ideal = sum(1 for i in range(count) if before.group_for(tenant, f"b{i}") != after.group_for(tenant, f"b{i}"))
    ideal += before.group_for("_system", f"tenant/{tenant}") != after.group_for("_system", f"tenant/{tenant}")
    groups = len(after.groups) if label.startswith("scale-out") else len(before.groups)
    print(f"  {label:<22} rebalance {status['finished'] - status['started']:6.2f} s   until every node "
          f"agrees {wall_s:6.2f} s   moved {status['keys_moved']:>7,}  ideal {ideal:>7,}  "
          f"moved/ideal {status['keys_moved'] / max(ideal, 1):.3f}   share {ideal / (count + 1):.3f} "
          f"(1/{groups} = {1 / groups:.3f})   {status['bytes_moved'] / 1e6:.1f} MB", flush=True)


def measure(count: int) -> None:
    with testbed_cluster() as target, httpx.Client(timeout=10.0) as http:
        tenant, token = tenant_token(target, http)
        rate = asyncio.run(_load([n.url for n in target.nodes()], token, count))
        print(f"{count:,} keys loaded at {rate:,.0f} keys/s", flush=True)
        url = target.nodes()[0].url
        before = _ring(http, url)
        started = time.monotonic()
        target.scale_out(3)  # starts 3 nodes first: the wall clock below counts from the admin call
        admin_at = time.monotonic()
        status = _wait_all_finished(target, http, 2)
        after = _ring(http, url)
        _report("scale-out +3 nodes", status, time.monotonic() - admin_at, before, after, tenant, count)
        print(f"    (scale_out including starting the 3 nodes: {admin_at - started:.1f} s)", flush=True)
        admin_at = time.monotonic()
        target.scale_in("g1")
        target.finish_scale_in("g1", timeout=600)
        status = http.get(f"{url}/v1/rebalance").json()
        _report("scale-in -3 nodes (g1)", status, time.monotonic() - admin_at, after, _ring(http, url), tenant,
                count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="10000,100000", help="comma-separated key counts")
    args = parser.parse_args()
    try:
        counts = [int(c) for c in args.keys.split(",")]
    except ValueError:
        parser.error("--keys takes comma-separated integers")
    if any(c < 1 for c in counts):
        parser.error("--keys must be positive")
    for count in counts:
        measure(count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
