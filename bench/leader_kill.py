"""Leader-kill election time and write unavailability on the testbed, over N kills (default 10).

Election time: from SIGKILL to the first survivor reporting itself leader of a newer term (seconds).
Unavailability: from SIGKILL to the first acknowledgement of a write *invoked after* the kill (seconds), with a
writer running against the group through nodes of other groups. Reference: etcd 3.4 defaults, median
~1.3 s, worst 3-7 s. Target: median <= 1 s, max <= 2 s.

    .venv/bin/python bench/leader_kill.py [--kills 10] [--preset NAME-OR-PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7.contract import ContractClient  # noqa: E402
from tier7.ring import HarnessRing  # noqa: E402
from tier7.topology import node_status, observe  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402


def writer(urls, token, keys, http, stop, ok_times, limit_s=300.0):
    clients = [ContractClient(u, token, client=http) for u in urls]
    deadline = time.monotonic() + limit_s
    i = 0
    while not stop.is_set() and time.monotonic() < deadline:
        invoked = time.monotonic()
        try:
            if clients[i % len(clients)].put(keys[i % len(keys)], f"v{i}").status == 200:
                ok_times.append((invoked, time.monotonic()))
        except Exception:  # noqa: BLE001 - unknown outcome; not an acknowledgement
            pass
        i += 1


def one_kill(cluster, http, ring, tenant, token, group):
    """Kill ``group``'s leader under a writer; returns (election s, unavailability s, killed node)."""
    nodes = cluster.nodes()
    before = wait_until(lambda: (t := observe(nodes)).healthy() and t, 30, 0.1, "a healthy cluster")
    leader, term = before.groups[group].leader, before.groups[group].term
    keys = [k for k in (f"b{group}-{i}" for i in range(300)) if ring.group_for(tenant, k) == group][:10]
    stop, ok_times = threading.Event(), []
    thread = threading.Thread(target=writer, args=([n.url for n in nodes if n.group != group], token, keys,
                                                   http, stop, ok_times), daemon=True)
    thread.start()
    wait_until(lambda: len(ok_times) > 10, 10, what="writes flowing")
    killed = time.monotonic()
    cluster.kill_node(leader)
    survivors = [n for n in nodes if n.group == group and n.name != leader]
    wait_until(lambda: any((s := node_status(http, n, 0.5)).get("role") == "leader"
                           and s.get("term", 0) > term for n in survivors), 10, 0.005, "new leader")
    election = time.monotonic() - killed
    first_ok = wait_until(lambda: next((ok for inv, ok in ok_times if inv > killed), None), 10, 0.005,
                          "a write invoked after the kill to succeed")
    stop.set()
    thread.join(10)
    cluster.start_node(leader)
    return election, first_ok - killed, leader


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--preset", default="god-tier", help="preset name or path (e.g. one with the transport on)")
    args = parser.parse_args()
    elections, outages = [], []
    with testbed_cluster(preset=args.preset) as cluster, httpx.Client(timeout=10) as http:
        tenant, token = tenant_token(cluster, http)
        ring = HarnessRing.from_contract(ContractClient(cluster.nodes()[0].url, client=http).get_json("/v1/ring"))
        for kill in range(args.kills):
            group = f"g{kill % 3}"
            election, outage, leader = one_kill(cluster, http, ring, tenant, token, group)
            elections.append(election)
            outages.append(outage)
            print(f"kill {kill + 1:2d} {group} {leader:<12} election {election:.3f}s "
                  f"writes unavailable {outage:.3f}s", flush=True)

    def summary(name, xs):
        xs = sorted(xs)
        print(f"{name}: median {statistics.median(xs):.3f}s  p90 {xs[int(0.9 * (len(xs) - 1))]:.3f}s  "
              f"max {xs[-1]:.3f}s  (n={len(xs)})")

    summary("election", elections)
    summary("write unavailability", outages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
