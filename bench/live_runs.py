"""Consecutive healthy live runs, as a person does them (issue 17, must hold 2): one Locust web UI on a fresh
testbed; per run START (``POST /swarm``), load for ``--before`` s, ``tier7 chaos run kill-raft-leader`` from
another process (no --run-dir: it must join the run), ``--after`` s more load, STOP, then
``tier7 analyze`` of that START's run folder. A healthy target must never get a FAIL: every FAIL here is a
false FAIL of the harness. Prints one row per run and the false-FAIL count; exit 1 if any.

    .venv/bin/python bench/live_runs.py [--runs 10] [--users 8] [--tenants 20] [--before 8] [--after 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._cluster import testbed_cluster  # noqa: E402
from bench._webui import WebUI, analyze, chaos_kill, verdicts  # noqa: E402


def one_run(ui: WebUI, testbed_dir: Path, index: int, args: argparse.Namespace, workdir: Path) -> dict:
    clicked = time.monotonic()
    ui.start(args.users, args.spawn_rate)
    status = ui.wait_phase(("running",), 120)
    running_s = time.monotonic() - clicked
    run_dir = Path(status["run_dir"])
    run_dir = run_dir if run_dir.is_absolute() else ROOT / run_dir
    time.sleep(args.before)  # load before the fault (the failover gate wants steady load before it)
    group = f"g{index % 3}"
    kill = chaos_kill(testbed_dir, group, workdir)
    joined = "joined the load run in progress" in kill.stderr
    time.sleep(args.after)
    ui.stop_swarm()
    ui.wait_phase(("finished",), 600)
    code, document, output = analyze(run_dir)
    found = verdicts(document)
    windows = document.get("metrics", {}).get("windows") or []
    return {"run": index + 1, "folder": run_dir.name, "running_s": running_s, "group": group,
            "kill_exit": kill.returncode, "joined": joined, "windows": len(windows), "analyze_exit": code,
            "fails": sorted(n for n, s in found.items() if s == "FAIL"),
            "unknown": sorted(n for n, s in found.items() if s == "UNKNOWN"),
            "kill_tail": kill.stdout[-400:] + kill.stderr[-400:] if kill.returncode else "",
            "analyze_tail": output[-1500:] if code else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="consecutive runs (default 10)")
    parser.add_argument("--users", type=int, default=8, help="users per START (default 8)")
    parser.add_argument("--spawn-rate", type=float, default=8.0, help="users started per second (default 8)")
    parser.add_argument("--tenants", type=int, default=20, help="tenants per run (default 20)")
    parser.add_argument("--before", type=float, default=8.0, help="seconds of load before the kill (default 8)")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of load after the kill (default 8)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the run folders (default results/live-runs-<UTC time>)")
    args = parser.parse_args()
    out = args.out or ROOT / "results" / f"live-runs-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with testbed_cluster() as target, tempfile.TemporaryDirectory(prefix="tier7-live-") as work:
        ui = WebUI(target.cluster_file, out / "run", out / "locust.log", tenants=args.tenants)
        try:
            ui.wait_ready()
            for index in range(args.runs):
                row = one_run(ui, target.dir, index, args, Path(work))
                rows.append(row)
                print(f"run {row['run']:>2} {row['folder']:<10} running after {row['running_s']:.1f}s  kill {row['group']} "
                      f"exit {row['kill_exit']} joined={row['joined']}  windows {row['windows']}  "
                      f"analyze exit {row['analyze_exit']}  FAIL {row['fails'] or '-'}  UNKNOWN {row['unknown'] or '-'}",
                      flush=True)
                for tail in (row["kill_tail"], row["analyze_tail"]):
                    if tail:
                        print("    " + tail.replace("\n", "\n    "), flush=True)
        finally:
            ui.stop()
    false_fails = [r for r in rows if r["fails"] or r["analyze_exit"] != 0]
    not_joined = [r for r in rows if not r["joined"] or r["windows"] == 0]
    print(f"\n{len(rows)} live run(s): false FAIL {len(false_fails)}/{len(rows)}; kill not joined or not shaded "
          f"{len(not_joined)}/{len(rows)}; START -> running max {max((r['running_s'] for r in rows), default=0):.1f}s")
    print(f"run folders: {out}")
    return 1 if false_fails or not_joined else 0


if __name__ == "__main__":
    sys.exit(main())
