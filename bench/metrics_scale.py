"""Metrics at scale: `tier7 analyze`'s metric stage over a 1,000,000-event run folder (500,000 operations over
3 groups and 10 minutes, 10 leader kills with a 1 s outage each, topology samples every 0.1 s).

Times (seconds, wall and CPU of this process) for: loading the run folder (history merge + pairing),
computing every metric (outage, elections, validity gate, throughput around faults, latency percentiles,
time series) and the non-search checkers. Target: metrics over 1,000,000 events in <= 10 s.

    .venv/bin/python bench/metrics_scale.py [--events 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.checkers.client_errors import check_client_errors  # noqa: E402
from analysis.checkers.isolation import check_isolation  # noqa: E402
from analysis.checkers.lost_writes import check_lost_writes  # noqa: E402
from analysis.checkers.placement import check_placement  # noqa: E402
from analysis.load import load_run  # noqa: E402
from analysis.run import compute_metrics  # noqa: E402

BASE_NS = 10**15
BASE_WALL = 1.7e9
GROUPS = ["g0", "g1", "g2"]


def write_run(folder: Path, events: int, seed: int = 1, duration_s: float = 600.0, files: int = 8) -> None:
    """A synthetic run folder with ``events`` history events (half invokes, half completions)."""
    rng = np.random.default_rng(seed)
    ops = events // 2
    invoke = np.sort(rng.uniform(0, duration_s, ops))
    latency = rng.exponential(0.004, ops) + 0.0005
    group = rng.integers(0, len(GROUPS), ops)
    kind = rng.choice(np.array(["ok", "fail", "info"]), ops, p=[0.97, 0.02, 0.01])
    faults = np.linspace(30, duration_s - 30, 10)
    for start in faults:  # g0 serves nothing for 1 s after each kill
        down = (group == 0) & (invoke + latency >= start) & (invoke < start + 1.0)
        kind[down & (kind == "ok")] = "fail"
    f = rng.choice(np.array(["put", "get"]), ops)
    key = np.char.add("k", rng.integers(0, 10_000, ops).astype(str))
    tenant = np.char.add("t", rng.integers(0, 100, ops).astype(str))
    process = np.char.add("w", (np.arange(ops) % 200).astype(str))
    op = np.arange(ops) // 200 + 1
    value = np.char.add("v", np.arange(ops).astype(str))
    base = pd.DataFrame({"process": process, "op": op, "f": f, "key": key, "tenant": tenant})
    inv = base.assign(type="invoke", time=(BASE_NS + invoke * 1e9).astype("int64"), wall=BASE_WALL + invoke,
                      value=np.where(f == "put", value, None))
    done = invoke + latency
    status = np.where(kind == "ok", 200, np.where(kind == "fail", 503, 504))
    comp = base.assign(type=kind, time=(BASE_NS + done * 1e9).astype("int64"), wall=BASE_WALL + done,
                       value=np.where(f == "put", value, None), group=np.array(GROUPS)[group], node="n",
                       status=status, latency_ms=latency * 1000)
    history = folder / "history"
    history.mkdir(parents=True)
    both = pd.concat([inv, comp], ignore_index=True)
    shard = (both["process"].str[1:].astype(int) % files).to_numpy()
    for index in range(files):
        both[shard == index].to_json(history / f"load-{index}.jsonl", orient="records", lines=True)
    with open(history / "nemesis-1.jsonl", "w") as out:
        for number, start in enumerate(faults, 1):
            for kind_, t in (("invoke", start), ("ok", start + 0.01)):
                out.write(json.dumps({"type": kind_, "process": "nemesis", "op": number, "f": "kill-leader",
                                      "time": int(BASE_NS + t * 1e9), "wall": BASE_WALL + t,
                                      "value": {"node": "g0-a", "group": "g0"}}) + "\n")
    with open(folder / "topology.jsonl", "w") as out:
        term = 1
        for t in np.arange(0, duration_s, 0.1):
            if any(start <= t < start + 0.5 for start in faults):
                leader = None
            else:
                leader, term = "g0-a", 1 + int(np.searchsorted(faults, t))
            out.write(json.dumps({"time": int(BASE_NS + t * 1e9), "wall": BASE_WALL + t, "groups": {
                "g0": {"leader": leader, "term": term, "members": {}},
                "g1": {"leader": "g1-a", "term": 1, "members": {}},
                "g2": {"leader": "g2-a", "term": 1, "members": {}}}}) + "\n")
    (folder / "target").mkdir()
    (folder / "target" / "nodes.json").write_text(json.dumps(
        [{"name": f"{g}-a", "group": g, "region": "r"} for g in GROUPS]))


def timed(label: str, fn, figures: dict):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    figures[label] = (round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2))
    print(f"{label:<28} wall {figures[label][0]:>6.2f} s   cpu {figures[label][1]:>6.2f} s", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the run folder here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tier7-metrics-")) / "run"
    figures: dict = {}
    try:
        timed("generate run folder", lambda: write_run(folder, args.events), figures)
        run = timed("load (merge + pair)", lambda: load_run(folder), figures)
        print(f"  {len(run.events):,} events, {len(run.ops):,} operations, {len(run.windows)} faults")
        tables, summary = timed("metrics", lambda: compute_metrics(run), figures)
        timed("checkers (no search)", lambda: [check_lost_writes(run.ops), check_placement(run.ops, run.ring),
                                               check_isolation(run.ops),
                                               check_client_errors(run.ops, run.windows, run.thresholds)], figures)
        print(f"  outage distribution: {summary['outage_distribution']}")
        total = figures["load (merge + pair)"][0] + figures["metrics"][0]
        print(f"load + metrics: {total:.2f} s wall (target <= 10 s for 1,000,000 events)")
    finally:
        if args.keep is None:
            shutil.rmtree(folder.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
