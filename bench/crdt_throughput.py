"""CRDT throughput, replication lag and convergence after a partition (issue 10, must hold 2), side by side
in one run:

(a) the ceiling: ``GET /v1/health`` from one headless Locust process (FastHttpUser, no wait) over the 9
    nodes, req/s;
(b) acknowledged CRDT operations/s cluster-wide with 100 and with 300 ``MultiRegionCrdtWriter`` users
    (``tier7 load --profile crdt``), also as a ratio to (a) (goal >= 0.6 with 100 writers);
(c) cross-region replication lag p50/p99 per region pair during (b), from the nodes' ``/metrics``
    (``testbed_crdt_replication_lag_seconds``, the histogram the crdt criterion's report reads);
(d) convergence after a region partition: [--partition-s] seconds with writers on both sides, heal, then
    time until every replica of every key in every region reads the same (goals: <= 2 s compressed geo,
    <= 3 s realistic geo).

One fresh testbed per geo profile; (a) only on the first profile (it does not cross regions). Every part is
bounded in time; every process started here is stopped here.

    .venv/bin/python bench/crdt_throughput.py [--seconds 15] [--writers 100,300] [--geo compressed,realistic]
        [--preset god-tier|path.toml]   # e.g. a copy of the preset with another [crdt] interval_s
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.metrics.prom import histogram_quantile  # noqa: E402
from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7.history import load_history  # noqa: E402
from tier7.targets.testbed import TestbedTarget  # noqa: E402

WARMUP_S = 3.0            # first seconds of a load run left out of its rate (users spawning, tenant setup)
RATIO_GOAL = 0.6          # CRDT ops/s with 100 writers over the health ceiling (issue 10)
CONVERGE_GOAL_S = {"compressed": 2.0, "realistic": 3.0}
CONVERGE_BOUND_S = 30.0   # give up waiting for convergence after this long (reported as not converged)
LAG = "testbed_crdt_replication_lag_seconds"
PARTITION_REGION = "ap-south"
PARTITION_KEYS = 4        # keys per CRDT type written during the partition
WRITES = {"crdt_inc", "crdt_add", "crdt_remove", "crdt_set"}


def health_ceiling(target: TestbedTarget, users: int, seconds: float, tmp: Path) -> float:
    """req/s of ``GET /v1/health`` by one headless Locust process, steady state (after WARMUP_S)."""
    tmp.mkdir(parents=True, exist_ok=True)
    prefix = tmp / "health"
    argv = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "_health_locust.py"),
            "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds + WARMUP_S:g}s",
            "--csv", str(prefix), "--csv-full-history", "--only-summary", "--loglevel", "ERROR"]
    env = {**os.environ, "BENCH_HEALTH_URLS": ",".join(n.url for n in target.nodes())}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=seconds + 120,
                          start_new_session=True)
    if done.returncode not in (0, 1):  # 1: some requests failed; the rate still counts the successes
        raise SystemExit(f"health Locust failed: {done.stderr.strip()[-500:]}")
    rows = [r for r in csv.DictReader(open(f"{prefix}_stats_history.csv")) if r["Name"] == "Aggregated"]
    points = [(int(r["Timestamp"]), int(r["Total Request Count"]) - int(r["Total Failure Count"])) for r in rows]
    start = next((p for p in points if p[0] >= points[0][0] + WARMUP_S), points[0])
    end = points[-1]
    return (end[1] - start[1]) / max(1, end[0] - start[0])


def lag_buckets(target: TestbedTarget) -> dict[tuple[str, str], dict[float, float]]:
    """Cumulative lag-histogram buckets summed over every node, per cross-region (source, destination)."""
    cells: dict[tuple[str, str], dict[float, float]] = {}
    with httpx.Client(timeout=10) as http:
        for node in target.nodes():
            text = http.get(f"{node.url}/metrics").text
            for family in text_string_to_metric_families(text):
                if family.name != LAG:
                    continue
                for s in family.samples:
                    src, dst = s.labels.get("source_region"), s.labels.get("dest_region")
                    if s.name.endswith("_bucket") and src and dst and src != dst:
                        cell = cells.setdefault((src, dst), {})
                        cell[float(s.labels["le"])] = cell.get(float(s.labels["le"]), 0.0) + s.value
    return cells


def lag_table(before: dict, after: dict) -> list[tuple[str, str, int, float, float]]:
    """(source, destination, deltas, p50 ms, p99 ms) of the deltas applied between two snapshots."""
    rows = []
    for pair, cell in sorted(after.items()):
        bounds = sorted(cell)
        cumulative = [cell[b] - before.get(pair, {}).get(b, 0.0) for b in bounds]
        rows.append((*pair, int(cumulative[-1]), histogram_quantile(0.5, bounds, cumulative) * 1000,
                     histogram_quantile(0.99, bounds, cumulative) * 1000))
    return rows


def crdt_load(target: TestbedTarget, users: int, seconds: float, tmp: Path) -> dict[str, float]:
    """One ``tier7 load --profile crdt`` run; acknowledged CRDT ops/s (writes and reads) after WARMUP_S."""
    run_dir = tmp / f"crdt-{users}"
    argv = [sys.executable, "-m", "tier7", "load", "--profile", "crdt", "--users", str(users), "--spawn-rate",
            str(users), "--duration", f"{seconds + WARMUP_S:g}", "--tenants", "1", "--crdt-keys", "4",
            "--seed", "1", "--target-file", str(target.cluster_file), "--run-dir", str(run_dir),
            "--no-final-read", "--quiet"]
    env = {**os.environ, "TIER7_ADMIN_TOKEN": target.admin_token()}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=seconds + 180,
                          start_new_session=True)
    if done.returncode != 0:
        raise SystemExit(f"tier7 load --profile crdt --users {users} failed: {done.stderr.strip()[-500:]}")
    frame = load_history(run_dir)
    crdt = frame[frame["f"].astype(str).str.startswith("crdt_")]
    start = crdt[crdt["type"] == "invoke"]["time"].min() + WARMUP_S * 1e9
    done_ = crdt[(crdt["type"] != "invoke") & (crdt["time"] >= start)]
    span = (done_["time"].max() - start) / 1e9
    ok = done_[done_["type"] == "ok"]
    writes = ok[ok["f"].isin(WRITES)]
    return {"ops_s": len(ok) / span, "writes_s": len(writes) / span, "failed": int((done_["type"] != "ok").sum()),
            "span_s": span}


def _write_loop(url: str, token: str, stop: threading.Event, tag: str, counts: dict[str, int]) -> None:
    """Write every partition key in turn (counter +1, set add, register set) until ``stop``."""
    i = 0
    with httpx.Client(timeout=5, headers={"authorization": f"Bearer {token}"}) as http:
        while not stop.is_set() and i < 100_000:
            kind, k = ("counter", "set", "register")[i % 3], (i // 3) % PARTITION_KEYS
            op_id = f"{tag}-{i}"
            body = {"counter": {"op": "inc", "delta": 1}, "set": {"op": "add", "element": f"e{i % 5}"},
                    "register": {"op": "set", "value": op_id}}[kind]
            try:
                answer = http.post(f"{url}/v1/crdt/{kind}/part-{kind}-{k}", json={**body, "op_id": op_id})
                counts["ok" if answer.status_code == 200 else "failed"] += 1
            except httpx.HTTPError:
                counts["failed"] += 1
            i += 1


def _read_node(http: httpx.Client, url: str) -> str:
    """Every partition key's state at one node, as one comparable string."""
    parts = []
    for kind in ("counter", "set", "register"):
        for k in range(PARTITION_KEYS):
            body = http.get(f"{url}/v1/crdt/{kind}/part-{kind}-{k}").json()
            parts.append(repr((body.get("value"), body.get("timestamp"))))
    return "|".join(parts)


def convergence(target: TestbedTarget, partition_s: float) -> dict[str, Any]:
    """Partition PARTITION_REGION for ``partition_s`` with one writer per node, stop the writers, heal, then
    read every key on every node in rounds; seconds from the heal call to the first of two equal rounds."""
    network = target.network()
    if network is None:
        return {"error": "no simulated regions"}
    with httpx.Client(timeout=10) as http:
        _, token = tenant_token(target, http)
    nodes = target.nodes()
    stop = threading.Event()
    counts = {n.region: {"ok": 0, "failed": 0} for n in nodes}
    writers = [threading.Thread(target=_write_loop, args=(n.url, token, stop, f"p{n.name}", counts[n.region]))
               for n in nodes]
    clients = [httpx.Client(timeout=5, headers={"authorization": f"Bearer {token}"}) for _ in nodes]
    pool = ThreadPoolExecutor(len(nodes))  # one reader per node, connections kept across rounds
    cut = network.partition(PARTITION_REGION)
    try:
        for w in writers:
            w.start()
        time.sleep(partition_s)  # the partition's fixed length is the experiment itself, not a wait for state
        stop.set()
        for w in writers:
            w.join(timeout=10)
        # one read round before the heal: shows the two sides diverged, and warms the readers' connections
        diverged = len(set(pool.map(_read_node, clients, [n.url for n in nodes]))) > 1
    finally:
        stop.set()
        healed_at = time.monotonic()
        network.heal()
    heal_s = time.monotonic() - healed_at
    equal_at: float | None = None  # end of the first round of a run of agreeing rounds
    rounds, round_s, first_agreeing = 0, [], 0
    try:
        with pool:
            while time.monotonic() - healed_at < CONVERGE_BOUND_S and rounds < 10_000:
                rounds += 1
                began = time.monotonic()
                states = list(pool.map(_read_node, clients, [n.url for n in nodes]))
                round_s.append(time.monotonic() - began)
                if len(set(states)) == 1:
                    first_agreeing = first_agreeing or rounds
                    if equal_at is not None:
                        break  # two agreeing rounds in a row: converged (not a moment of accidental agreement)
                    equal_at = time.monotonic()
                else:
                    equal_at, first_agreeing = None, 0
    finally:
        for client in clients:
            client.close()
    converged = equal_at is not None
    return {"cut_links": len(cut), "writes": counts, "diverged_before_heal": diverged, "heal_call_s": heal_s, "rounds": rounds,
            "first_agreeing_round": first_agreeing, "round_ms": 1000 * sorted(round_s)[len(round_s) // 2] if round_s else None,
            "converged": converged, "seconds": (equal_at - healed_at) if equal_at is not None else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per load run (default 15)")
    parser.add_argument("--writers", default="100,300", help="CRDT writer counts (default 100,300)")
    parser.add_argument("--geo", default="compressed,realistic", help="geo profiles (default compressed,realistic)")
    parser.add_argument("--health-users", type=int, default=100, help="Locust users of the ceiling (default 100)")
    parser.add_argument("--preset", default="god-tier", help="testbed preset name or TOML path (default god-tier)")
    parser.add_argument("--partition-s", type=float, default=10.0, help="partition length, s (default 10)")
    args = parser.parse_args()
    try:
        writers = [int(w) for w in args.writers.split(",") if w.strip()]
    except ValueError:
        print("crdt_throughput: --writers must be comma-separated integers", file=sys.stderr)
        return 2
    geos = [g.strip() for g in args.geo.split(",") if g.strip()]
    if not writers or not geos or set(geos) - set(CONVERGE_GOAL_S) or args.seconds <= 0:
        print(f"crdt_throughput: --geo must list {', '.join(CONVERGE_GOAL_S)}; --writers and --seconds > 0",
              file=sys.stderr)
        return 2
    ceiling: float | None = None
    ok = True
    for geo in geos:
        with testbed_cluster(preset=args.preset, geo=geo) as target, tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp:
            print(f"== geo {geo}: fresh 9-node testbed", flush=True)
            first = ceiling is None
            if first:
                ceiling = health_ceiling(target, args.health_users, args.seconds, Path(tmp))
                print(f"(a) ceiling: GET /v1/health, 1 Locust process, {args.health_users} users: {ceiling:,.0f} req/s",
                      flush=True)
            rates: dict[int, dict[str, float]] = {}
            for users in writers:
                before = lag_buckets(target)
                rate = crdt_load(target, users, args.seconds, Path(tmp))
                rates[users] = rate
                ratio = rate["ops_s"] / ceiling
                goal = f" (goal >= {RATIO_GOAL:g}: {'met' if ratio >= RATIO_GOAL else 'MISSED'})" if users == 100 else ""
                ok &= users != 100 or ratio >= RATIO_GOAL or geo != geos[0]
                print(f"(b) {users} CRDT writers: {rate['ops_s']:,.0f} acknowledged ops/s ({rate['writes_s']:,.0f} "
                      f"writes/s), {rate['failed']} not ok, over {rate['span_s']:.1f} s; ratio to the ceiling "
                      f"{ratio:.2f}{goal}", flush=True)
                print(f"(c) replication lag during it ({geo}):", flush=True)
                for src, dst, count, p50, p99 in lag_table(before, lag_buckets(target)):
                    print(f"      {src:>8} -> {dst:<8} {count:>8} deltas  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms",
                          flush=True)
            if first:  # the ceiling again: a machine that got busier meanwhile shows as two different ceilings
                again = health_ceiling(target, args.health_users, args.seconds, Path(tmp) / "again")
                ceiling = (ceiling + again) / 2
                print(f"(a) ceiling again after the CRDT runs: {again:,.0f} req/s; mean {ceiling:,.0f} req/s; ratios "
                      "to the mean: " + ", ".join(f"{u} writers {r['ops_s'] / ceiling:.2f}" for u, r in rates.items()),
                      flush=True)
            conv = convergence(target, args.partition_s)
            goal_s = CONVERGE_GOAL_S[geo]
            met = conv.get("converged") and conv["seconds"] <= goal_s
            ok &= bool(met)
            seconds = f"{conv['seconds']:.2f} s" if conv.get("converged") else f"NOT within {CONVERGE_BOUND_S:g} s"
            print(f"(d) {args.partition_s:g} s partition of {PARTITION_REGION} ({conv.get('cut_links')} links), "
                  f"writes {conv.get('writes')}, replicas diverged before the heal: {conv.get('diverged_before_heal')}; heal call {conv.get('heal_call_s', 0):.2f} s; converged after "
                  f"{seconds} from the start of the heal call ({max(0.0, (conv.get('seconds') or 0) - conv.get('heal_call_s', 0)):.2f} s "
                  f"after it returned; {conv.get('rounds')} read rounds of 9 nodes x "
                  f"{3 * PARTITION_KEYS} keys, median {conv.get('round_ms') or 0:.0f} ms each; agreeing from round "
                  f"{conv.get('first_agreeing_round')}: an upper bound when 1), goal <= {goal_s:g} s: "
                  f"{'met' if met else 'MISSED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
