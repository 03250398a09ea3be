"""Running one mutant: ``tier7 verify`` as a subprocess in its own process group, with progress lines.

Ctrl-C in selftest is forwarded to the verify run as SIGINT (it rolls back and writes its partial report
itself); if it does not end within ``STOP_GRACE_S`` seconds it gets SIGTERM, then SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..runfolder import PROJECT_ROOT
from .catalogue import Mutant
from .outcome import RunOutcome, judge, read_verdicts

STOP_GRACE_S = 120.0     # seconds a verify run gets to roll back after Ctrl-C
PROGRESS_EVERY_S = 15.0  # seconds between progress lines while a run goes on
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when selftest dies, even by SIGKILL (verify then stops its testbed itself)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def verify_argv(mutant: Mutant, seed: int, quick: bool, runs: Path, status_file: Path) -> list[str]:
    argv = [sys.executable, "-m", "tier7", "verify", "--only", ",".join(mutant.only), "--seed", str(seed),
            "--out", str(runs), "--status-file", str(status_file)]
    if quick:
        argv.append("--quick")
    if mutant.switches:
        argv += ["--testbed-faults", json.dumps(mutant.switches, separators=(",", ":"))]
    return argv


def run_mutant(mutant: Mutant, seed: int, quick: bool, folder: Path, label: str,
               say: Callable[[str], None]) -> tuple[RunOutcome, bool]:
    """Run ``mutant`` once; returns its outcome and whether Ctrl-C stopped it."""
    runs, logs = folder / "runs", folder / "logs"
    runs.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{mutant.id}-seed{seed}.log"
    before = _run_dirs(runs)
    argv = verify_argv(mutant, seed, quick, runs, folder / "STATUS.md")
    started = time.monotonic()
    say(f"{label} {mutant.id}: tier7 verify --only {','.join(mutant.only)} (seed {seed}; log {log_path})")
    interrupted = False
    with open(log_path, "wb") as log:
        log.write((" ".join(argv) + "\n").encode())
        log.flush()
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=PROJECT_ROOT, preexec_fn=_die_with_parent)
        try:
            _wait(process, started, label, mutant.id, log_path, say)
        except KeyboardInterrupt:
            interrupted = True
            say(f"{label} {mutant.id}: interrupted; stopping the verify run (it rolls back itself) ...")
            _stop(process)
    seconds = time.monotonic() - started
    new = sorted(_run_dirs(runs) - before)
    run_dir = runs / new[-1] if new else None
    verdicts = read_verdicts(run_dir) if run_dir else None
    outcome = judge(mutant, verdicts, seed, seconds, process.returncode, run_dir, interrupted)
    if verdicts is None and not interrupted:
        outcome.note += f"; see {log_path}: {_last_line(log_path)}"
    say(f"{label} {mutant.id}: {outcome.result} in {seconds:.0f} s — "
        + ", ".join(f"{c} {s}" for c, s in outcome.statuses.items()))
    return outcome, interrupted


def _run_dirs(runs: Path) -> set[str]:
    return {p.name for p in runs.iterdir() if p.is_dir() and not p.is_symlink()}


def _wait(process: subprocess.Popen, started: float, label: str, mutant: str, log_path: Path,
          say: Callable[[str], None]) -> None:
    next_line = started + PROGRESS_EVERY_S
    while process.poll() is None:
        time.sleep(0.2)
        if time.monotonic() >= next_line:
            next_line += PROGRESS_EVERY_S
            say(f"{label} {mutant}: running, {time.monotonic() - started:.0f} s — {_last_line(log_path)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGINT to the run's process group, then SIGTERM and SIGKILL if it does not end; a second Ctrl-C
    while it rolls back is ignored (the run must be allowed to stop its testbed)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for sig, grace in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        signal.signal(signal.SIGINT, previous)


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 2048))
            lines = [line for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:160] if lines else ""
