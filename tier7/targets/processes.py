"""Process hygiene for services the harness starts: own process group, PID remembered, stopped by PID.

A PID is only signalled after checking that /proc still shows the command line we started, so a PID
recycled by the kernel for someone else's process is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_tie_to_parent = False


def tie_children_to_this_process() -> None:
    """From now on, children started here get SIGTERM if this process dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG). For runs that own their services (``tier7 verify``); ``tier7 testbed up`` leaves
    its nodes running on purpose and does not call this."""
    global _tie_to_parent
    _tie_to_parent = True


def untie_children() -> None:
    """Undo ``tie_children_to_this_process`` (a run on services it did not start, e.g. a foreign cluster
    left running by ``tier7 testbed up --kind``: a member it restarts must outlive the run)."""
    global _tie_to_parent
    _tie_to_parent = False


def _die_with_parent() -> None:
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the run's own cleanup still stops them


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start ``argv`` in a new session (its own process group), output appended to ``log_path``. Returns the PID."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=env, cwd=cwd, close_fds=True,
                                   preexec_fn=_die_with_parent if _tie_to_parent else None)
    _children[process.pid] = process
    return process.pid


# Popen objects of children we started in this process, so they are reaped (no zombies) when stopped.
_children: dict[int, subprocess.Popen] = {}


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_running(pid: int, marker: list[str]) -> bool:
    """True when ``pid`` is alive (not a zombie) and its command line contains every string of ``marker``."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    args = cmdline(pid)
    return all(m in args for m in marker)


def state(pid: int) -> str | None:
    """The process state letter from /proc (R, S, T = stopped, Z = zombie, ...), None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return None


def send(pid: int, sig: int, marker: list[str]) -> bool:
    """Signal the process group of ``pid`` if it is still ours. Returns False when it was already gone."""
    if not is_running(pid, marker):
        return False
    try:
        os.killpg(pid, sig)  # the child is a session leader: its PGID is its PID
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, marker: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid, marker):
            _reap(pid)
            return True
        time.sleep(0.02)
    return False


def stop(pid: int, marker: list[str], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    if not send(pid, signal.SIGTERM, marker):
        _reap(pid)
        return
    send(pid, signal.SIGCONT, marker)  # a paused (SIGSTOPped) process only acts on SIGTERM once resumed
    if not wait_gone(pid, marker, grace):
        send(pid, signal.SIGKILL, marker)
        wait_gone(pid, marker, 5.0)


def kill(pid: int, marker: list[str]) -> bool:
    """SIGKILL and wait until the process is gone (seconds: at most 5)."""
    if not send(pid, signal.SIGKILL, marker):
        return False
    wait_gone(pid, marker, 5.0)
    return True


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
