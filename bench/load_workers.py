"""Requests/s that `tier7 load` achieves against a fresh testbed with 1 and with 2 worker processes (and,
for reference, the single-process local runner), side by side in one run on one cluster.

    .venv/bin/python bench/load_workers.py [--users 60] [--seconds 20] [--profile kv]

Rate = completed operations of the simulated users (tenant setup excluded) / the span from their first
invoke to their last completion, read from each run's merged history.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._cluster import testbed_cluster  # noqa: E402
from tier7.history import load_history  # noqa: E402


def achieved(run_dir: Path) -> tuple[int, float]:
    frame = load_history(run_dir)
    users = frame[frame["process"].str.contains(r"-u\d", regex=True)]
    done = users[users["type"] != "invoke"]
    span = (done["time"].max() - users["time"].min()) / 1e9
    return len(done), span


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", default="kv", choices=["kv", "tenants", "mixed"])
    args = parser.parse_args()
    rows = []
    with testbed_cluster() as target, tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp:
        for workers in (0, 1, 2):
            run_dir = Path(tmp) / f"w{workers}"
            argv = [sys.executable, "-m", "tier7", "load", "--profile", args.profile, "--users", str(args.users),
                    "--spawn-rate", str(args.users), "--duration", str(args.seconds), "--workers", str(workers),
                    "--tenants", "100", "--target-file", str(target.cluster_file), "--run-dir", str(run_dir), "--quiet"]
            done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=args.seconds + 300,
                                  start_new_session=True)
            if done.returncode != 0:
                raise SystemExit(f"tier7 load --workers {workers} failed: {done.stderr.strip()[-500:]}")
            count, span = achieved(run_dir)
            label = "local runner (1 process)" if workers == 0 else f"{workers} worker(s) + master"
            rows.append((label, count, span))
            print(f"{label:<26} {count:>8} ops in {span:5.1f} s = {count / span:7.0f} ops/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
