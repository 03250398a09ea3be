"""How often does the harness catch Redis Sentinel losing acknowledged writes (issue 14)?

Runs ``tier7 verify --target redis-sentinel --only failover,no-lost-writes,linearizable`` N times with the
documented schedule (tier7/verify/foreign.toml ``[redis-sentinel]``: pause the primary 5 s under load, resume,
let Sentinel demote it) and counts the runs whose no-lost-writes / linearizable verdict is FAIL, with the
number of acknowledged writes lost per run. Each run starts and stops its own servers on loopback.
docs/benchmarks.md records the figures. Bounded: N runs, each at most ``--run-timeout`` seconds.

    .venv/bin/python bench/redis_sentinel_loss.py --runs 10 [--schedule redis-sentinel-kills]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(out: Path, seed: int, timeout: float, schedule: str) -> dict[str, object]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tier7", "verify", "--target", "redis-sentinel", "--only",
                           "failover,no-lost-writes,linearizable", "--seed", str(seed), "--out", str(out),
                           "--status-file", str(out / "STATUS.md")],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "TIER7_FOREIGN_SCHEDULE": schedule})
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    row: dict[str, object] = {"seed": seed, "exit": done.returncode, "seconds": round(time.monotonic() - started, 1)}
    if not runs or not (runs[-1] / "verdicts.json").is_file():
        row["error"] = (done.stderr.strip().splitlines() or ["no run folder"])[-1]
        return row
    criteria = {c["id"]: c for c in json.loads((runs[-1] / "verdicts.json").read_text())["criteria"]}
    for cid in ("no-lost-writes", "linearizable", "failover"):
        row[cid] = criteria[cid]["status"]
    figures = criteria["no-lost-writes"].get("figures") or {}
    row["lost"] = figures.get("lost")
    row["acknowledged"] = figures.get("acknowledged_writes")
    row["folder"] = str(runs[-1])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--schedule", default="redis-sentinel",
                        help="table of tier7/verify/foreign.toml: redis-sentinel (pause) or redis-sentinel-kills")
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds per verify run")
    parser.add_argument("--out", type=Path, default=None, help="folder for the run folders (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="redis-loss-"))
    rows = []
    for index in range(args.runs):
        run_out = out / f"run-{index + 1}"
        run_out.mkdir(parents=True, exist_ok=True)
        row = one_run(run_out, 1000 + index, args.run_timeout, args.schedule)
        rows.append(row)
        print(json.dumps(row), flush=True)
    caught = sum(1 for r in rows if r.get("no-lost-writes") == "FAIL")
    linear = sum(1 for r in rows if r.get("linearizable") == "FAIL")
    lost = [r["lost"] for r in rows if isinstance(r.get("lost"), int)]
    print(f"\nno-lost-writes FAIL in {caught} of {len(rows)} runs; linearizable FAIL in {linear} of {len(rows)}; "
          f"lost writes per run: min {min(lost, default=0)}, max {max(lost, default=0)}; folders in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
