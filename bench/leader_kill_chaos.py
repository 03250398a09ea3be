"""Leader-kill election time through the chaos stack, over N kills (default 10): each kill is one run of
``tier7 chaos run kill-raft-leader --var group=gX`` (groups in turn) against a fresh testbed with simulated
regions (the preset's default geography unless --geo). Measured from the *nemesis event* (the history's
kill, ``injected_ns`` = just before SIGKILL) to the first new leader seen:

- sampled: by a topology sampler polling every node every ``--interval`` s (as analysis sees it);
- probed: by the experiment's own ``new_leader_elected`` probe (polls the two survivors every 10 ms).

    .venv/bin/python bench/leader_kill_chaos.py [--kills 10] [--geo compressed|realistic|none]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._cluster import testbed_cluster  # noqa: E402
from tier7.sampler import TopologySampler  # noqa: E402


def first_new_leader_ns(topology_file: Path, group: str, killed: str, term: int, since_ns: int) -> int | None:
    for line in topology_file.read_text().splitlines():
        sample = json.loads(line)
        view = sample["groups"].get(group, {})
        if sample["time"] >= since_ns and view.get("leader") not in (None, killed) and (view.get("term") or 0) > term:
            return sample["time"]
    return None


def one_run(target, run_dir: Path, group: str, interval: float) -> dict:
    sampler = TopologySampler(target.nodes(), run_dir, interval=interval, max_seconds=120)
    sampler.start()
    try:
        done = subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", "kill-raft-leader", "--var",
                               f"group={group}", "--testbed-dir", str(target.dir), "--run-dir", str(run_dir)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    finally:
        sampler.stop()
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    events = [json.loads(line) for path in (run_dir / "history").glob("nemesis-*.jsonl")
              for line in path.read_text().splitlines()]
    kill = next(e for e in events if e["f"] == "kill-leader" and e["type"] == "ok")["value"]
    journal = json.loads((run_dir / "chaos" / "kill-raft-leader" / "journal.json").read_text())
    probed = next(r["output"] for r in journal["run"] if r["activity"]["name"] == "new-leader-elected")
    seen = first_new_leader_ns(run_dir / "topology.jsonl", group, kill["node"], kill["term"], kill["injected_ns"])
    return {"group": group, "killed": kill["node"], "new": probed["new_leader"],
            "sampled_s": None if seen is None else (seen - kill["injected_ns"]) / 1e9,
            "probed_s": probed["elected_after_s"]}


def summary(values: list[float]) -> str:
    values = sorted(values)
    return (f"median {statistics.median(values):.2f} s, p90 {values[int(0.9 * (len(values) - 1))]:.2f} s, "
            f"max {values[-1]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--geo", default=None, help="geography profile (default: the preset's)")
    parser.add_argument("--interval", type=float, default=0.05, help="topology sampling interval, seconds")
    args = parser.parse_args()
    rows = []
    with testbed_cluster(geo=args.geo) as target, tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp:
        profile = (target.cluster.get("geo") or {}).get("profile", "none")
        for i in range(args.kills):
            row = one_run(target, Path(tmp) / f"run{i}", f"g{i % 3}", args.interval)
            rows.append(row)
            print(f"kill {i + 1:>2}: {row['group']} {row['killed']:<12} -> {row['new']:<12} "
                  f"sampled {row['sampled_s']:.3f} s  probed {row['probed_s']:.3f} s", flush=True)
    sampled = [r["sampled_s"] for r in rows if r["sampled_s"] is not None]
    print(f"\ngeography: {profile}; {len(rows)} kills")
    print(f"election, nemesis event -> first new leader sampled (every {args.interval} s): {summary(sampled)}")
    print(f"election, nemesis event -> new leader seen by the probe (10 ms polls): "
          f"{summary([r['probed_s'] for r in rows])}")


if __name__ == "__main__":
    main()
