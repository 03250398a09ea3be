"""The marker of a load run in progress, so a fault injected from another terminal lands in that run.

A load run (``tier7 load``, ``locust -f locustfiles/tier7.py`` headless or one START of its web UI) on a
target given by a cluster file writes ``live-run.json`` next to that file (for the testbed of
``tier7 testbed up``: ``results/testbed/live-run.json``) holding its run folder, its PID and the PID's start
time, and removes it when the run ends. ``tier7 chaos run`` on the same target reads it and joins that
run (its nemesis events and journal go into the load run's folder), unless ``--run-dir`` or ``--new-run``
says otherwise. A marker whose process is gone (killed with SIGKILL, machine rebooted) or whose PID now
belongs to another process is stale and ignored.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "live-run.json"


@dataclass(frozen=True)
class LiveRun:
    """A load run in progress: its folder, process and start (wall seconds)."""

    run_dir: Path
    pid: int
    started_wall: float
    marker: Path

    def describe(self) -> str:
        started = time.strftime("%H:%M:%S", time.gmtime(self.started_wall))
        return f"{self.run_dir} (load PID {self.pid}, started {started} UTC)"


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None if unknown.
    With the PID it identifies one process for good: a PID reused later has another start time."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        return int(raw.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, when ``start_ticks`` is given, is the same process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return False
    except (OSError, IndexError):
        return True  # no /proc: os.kill said it exists
    return start_ticks is None or process_start_ticks(pid) in (None, start_ticks)


def write_marker(folder: Path, run_dir: Path, started_wall: float, extra: dict[str, Any] | None = None) -> Path | None:
    """Write ``<folder>/live-run.json`` for this process's run (atomically); None if the folder is not
    writable (the run goes on; chaos runs then need ``--run-dir``)."""
    pid = os.getpid()
    data = {"run_dir": str(run_dir.resolve()), "pid": pid, "pid_start_ticks": process_start_ticks(pid),
            "started_wall": started_wall, **(extra or {})}
    path = folder / MARKER
    tmp = folder / f".{MARKER}.{pid}.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    return path


def remove_marker(folder: Path, run_dir: Path) -> None:
    """Remove ``<folder>/live-run.json`` if it is still this run's (a later run may have replaced it)."""
    path = folder / MARKER
    try:
        data = json.loads(path.read_text())
        if data.get("run_dir") == str(run_dir.resolve()) and data.get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def read_marker(folder: Path) -> LiveRun | None:
    """The load run in progress on the target in ``folder``, or None (no marker, unreadable, stale)."""
    path = folder / MARKER
    try:
        data = json.loads(path.read_text())
        run = LiveRun(Path(data["run_dir"]), int(data["pid"]), float(data.get("started_wall") or 0), path)
        ticks = data.get("pid_start_ticks")
        ticks = int(ticks) if ticks is not None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not process_alive(run.pid, ticks) or not run.run_dir.is_dir():
        return None
    return run


def choose_run_dir(explicit: Path | None, new_run: bool, env_run_dir: str | None,
                   target_folder: Path | None) -> tuple[Path | None, str]:
    """Where ``tier7 chaos run`` records: (run folder, or None for a new ``results/<UTC>-chaos``; a line
    saying why). Order: ``--run-dir``; ``--new-run``; ``$TIER7_RUN_DIR``; the load run in progress on the
    same target (its marker in ``target_folder``); else a new folder."""
    if explicit is not None:
        return explicit, f"run folder {explicit} (--run-dir)"
    if new_run:
        return None, "a new run folder (--new-run)"
    if env_run_dir:
        return Path(env_run_dir), f"run folder {env_run_dir} ($TIER7_RUN_DIR)"
    live = read_marker(target_folder) if target_folder is not None else None
    if live is not None:
        return live.run_dir, (f"joined the load run in progress: {live.describe()}; "
                              "--new-run records in a folder of its own")
    where = f" on the target in {target_folder}" if target_folder is not None else ""
    return None, f"a new run folder (no load run in progress{where})"
