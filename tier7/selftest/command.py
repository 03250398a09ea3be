"""`tier7 selftest`: run each mutant of the catalogue on a fresh testbed and show it is caught.

Exit status: 0 when every mutant was caught in every run and nothing that must hold FAILed; 1 otherwise;
2 for bad input; 130 after Ctrl-C (the partial table is still written)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import runfolder
from ..errors import Tier7Error
from .catalogue import CATALOGUE_FILE, Mutant, load_catalogue, select
from .outcome import RunOutcome
from .runner import run_mutant
from .table import document, markdown, text, verdict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("selftest", help="prove each criterion can FAIL: run the catalogue of testbed mutants")
    p.add_argument("--only", default=None, help="comma-separated mutant ids (default: the whole catalogue)")
    p.add_argument("--quick", action="store_true", help="run each mutant's `tier7 verify` with --quick")
    p.add_argument("--repeat", type=int, default=1, help="runs per mutant, for its detection rate (default 1)")
    p.add_argument("--seed", type=int, default=None, help="first seed (default: from the clock); run i uses seed+i")
    p.add_argument("--out", type=Path, default=Path("results"), help="results folder (default results/)")
    p.add_argument("--catalogue", type=Path, default=CATALOGUE_FILE, help="catalogue TOML (default: the bundled one)")


def check_switches(mutants: list[Mutant]) -> None:
    """Ask the testbed itself (``python -m testbed init``, never an import) to accept every mutant's switches,
    so a misspelt switch is a one-line error now, not a "healthy mutant" later."""
    with tempfile.TemporaryDirectory(prefix="tier7-selftest-") as scratch:
        for m in mutants:
            done = subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(Path(scratch) / m.id),
                                   "--test-faults", json.dumps(m.switches)], capture_output=True, text=True,
                                  cwd=runfolder.PROJECT_ROOT, timeout=60)
            if done.returncode != 0:
                why = (done.stderr.strip().splitlines() or ["testbed init failed"])[-1]
                raise Tier7Error(f"mutant {m.id!r}: {why.removeprefix('testbed: error: ')}")


def run(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise Tier7Error("--repeat must be >= 1")
    if args.seed is not None and args.seed < 0:
        raise Tier7Error("--seed must be >= 0")
    mutants = select(load_catalogue(args.catalogue),
                     [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None)
    check_switches(mutants)
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    folder = runfolder.new_run_dir("selftest", args.out)
    plan: list[tuple[Mutant, list[RunOutcome]]] = [(m, []) for m in mutants]
    total = len(mutants) * args.repeat
    started, wall = time.monotonic(), time.time()
    say(f"tier7 selftest: {len(mutants)} mutant(s) x {args.repeat} -> {folder} (seed {seed}"
        f"{', --quick' if args.quick else ''})")
    interrupted = False
    number = 0
    try:
        for mutant, runs in plan:
            for attempt in range(args.repeat):
                number += 1
                label = f"[{number}/{total}, {time.monotonic() - started:.0f} s into selftest]"
                outcome, interrupted = run_mutant(mutant, seed + attempt, args.quick, folder, label, say)
                runs.append(outcome)
                write(folder, plan, args, seed, wall, started, complete=False)
                if interrupted:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
    finish = write(folder, plan, args, seed, wall, started, complete=not interrupted)
    say("\n" + text(plan) + "\n")
    failed = [m.id for m, runs in plan if runs and verdict(m, runs) not in ("caught", "clean", "interrupted")]
    say(f"selftest: {finish}; table: {folder / 'selftest.md'}")
    if interrupted:
        say("selftest: interrupted by Ctrl-C; the table above is partial")
        return 130
    return 1 if failed else 0


def write(folder: Path, plan: list[tuple[Mutant, list[RunOutcome]]], args: argparse.Namespace, seed: int,
          wall: float, started: float, complete: bool) -> str:
    """Write selftest.md and selftest.json (after every run, so an interruption keeps what was done)."""
    missed = [m.id for m, runs in plan if runs and verdict(m, runs) not in ("caught", "clean", "interrupted")]
    done = sum(bool(runs) for _, runs in plan)
    cut = [m.id for m, runs in plan if runs and verdict(m, runs) == "interrupted"]
    summary = (f"{done}/{len(plan)} mutants run; " + (f"NOT CAUGHT or falsely failed: {', '.join(missed)}"
                                                      if missed else
                                                      f"interrupted before judging: {', '.join(cut)}" if cut else
                                                      "every run as claimed (mutants caught, baseline clean)"))
    meta = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall)), "seed": seed,
            "quick": args.quick, "repeat": args.repeat, "catalogue": str(args.catalogue),
            "duration_s": round(time.monotonic() - started, 1), "complete": complete, "summary": summary,
            "command": "tier7 " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("tier7") else "tier7 selftest"}
    header = ["# tier7 selftest", "",
              f"{meta['started']} · seed {seed} · {'--quick' if args.quick else 'full sizes'} · "
              f"repeat {args.repeat} · {meta['duration_s']:.0f} s · {'complete' if complete else 'INCOMPLETE'}",
              "", f"**{summary}**"]
    (folder / "selftest.md").write_text(markdown(plan, header), encoding="utf-8")
    runfolder.write_json(folder / "selftest.json", document(plan, meta))
    return summary


def say(line: str) -> None:
    print(line, flush=True)
