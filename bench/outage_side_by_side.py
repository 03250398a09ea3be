"""Write unavailability per leader/primary kill, side by side: the testbed vs etcd (3 clusters x 3 members
behind the harness's ring) vs Redis Sentinel, with the same load shape (bench/outage_side_by_side.toml).

One writer per kill, sequential puts (no think time) to keys the killed group owns; unavailability = from
the SIGKILL to the first acknowledgement of a write *invoked after* it (seconds), as bench/leader_kill.py
measures it. Each system uses its natural client: the testbed's contract client through the other groups'
nodes (forwarded), etcd's gateway client moving to the next member of the cluster on a refused connection,
the Redis client re-asking the sentinels for the primary after an error. The killed member is restarted and
every group is healthy again before the next kill. Prints each kill, each system's median / max, and the
ratios of the medians to the testbed's. docs/benchmarks.md records the figures.

    .venv/bin/python bench/outage_side_by_side.py [--kills 5] [--systems testbed,etcd,redis-sentinel]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._outage_systems import system  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402

CONFIG = Path(__file__).with_suffix(".toml")


def writer(put: Any, keys: list[str], stop: threading.Event, acks: list[tuple[float, float]], limit_s: float) -> None:
    """Sequential puts until ``stop`` (at most ``limit_s``); ``acks``: (invoked, acknowledged) monotonic s."""
    deadline, i = time.monotonic() + limit_s, 0
    while not stop.is_set() and time.monotonic() < deadline:
        invoked = time.monotonic()
        try:
            put(keys[i % len(keys)], f"v{i}")
            acks.append((invoked, time.monotonic()))
        except Exception:  # noqa: BLE001 - not acknowledged (refused, timed out, unknown)
            time.sleep(0.005)
        i += 1


def one_kill(sut: Any, group: str, cfg: dict[str, Any]) -> tuple[float, str, bool]:
    """(unavailability s, killed member, resumed within the limit)."""
    wait_until(sut.healthy, cfg["settle_limit_s"], 0.2, f"{sut.name}: every group healthy")
    leader = wait_until(lambda: sut.leader(group), cfg["settle_limit_s"], 0.1, f"{sut.name}: a leader of {group}")
    stop, acks = threading.Event(), []
    limit = cfg["outage_limit_s"]
    thread = threading.Thread(target=writer, args=(sut.writer_put(group), sut.keys(group, cfg["keys"]), stop, acks,
                                                   limit + 60), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(acks) >= cfg["warmup_writes"], 30, 0.01, f"{sut.name}: writes flowing")
        killed = time.monotonic()
        sut.kill(leader)
        try:
            first = wait_until(lambda: next((ok for inv, ok in acks if inv > killed), None), limit, 0.005,
                               "a write invoked after the kill acknowledged")
            outage, resumed = first - killed, True
        except Exception:  # noqa: BLE001 - DeadlineExceeded: reported at the limit, flagged
            outage, resumed = limit, False
    finally:
        stop.set()
        thread.join(limit + 5)
    sut.restart(leader)
    return outage, leader, resumed


def main() -> int:
    cfg = tomllib.loads(CONFIG.read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=int(cfg["kills"]))
    parser.add_argument("--systems", default=",".join(cfg["systems"]))
    args = parser.parse_args()
    if args.kills < 1 or args.kills > 50:
        raise SystemExit("--kills must be 1..50")
    results: dict[str, list[float]] = {}
    for name in args.systems.split(","):
        started = time.monotonic()
        with system(name, float(cfg["start_limit_s"])) as sut:
            groups = sut.groups()
            outages = []
            for kill in range(args.kills):
                group = groups[kill % len(groups)]
                outage, leader, resumed = one_kill(sut, group, cfg)
                outages.append(outage)
                flag = "" if resumed else f"  (writes did not resume within {cfg['outage_limit_s']} s)"
                print(f"{name:<15} kill {kill + 1:2d} {group:<7} {leader:<12} writes unavailable {outage:.3f}s{flag}",
                      flush=True)
        results[name] = outages
        print(f"{name:<15} done in {time.monotonic() - started:.0f}s", flush=True)
    print()
    base = statistics.median(results["testbed"]) if "testbed" in results else None
    for name, xs in results.items():
        median = statistics.median(xs)
        ratio = f"  median x{median / base:.2f} of the testbed's" if base else ""
        print(f"{name:<15} write unavailability per kill: median {median:.3f}s  max {max(xs):.3f}s  "
              f"(n={len(xs)}){ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
