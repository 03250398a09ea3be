"""Harness subprocesses of a verification run (the Locust load, Chaos Toolkit experiments): each in its
own process group, PID remembered, stopped by PID, output kept in the run folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..targets import processes

ROOT = Path(__file__).resolve().parents[2]


class Subcommand:
    """``python -m tier7 <args>`` started in its own session; output to ``log``."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = [sys.executable, "-m", "tier7", *args]
        self.marker = ["tier7", *args[:2]]
        self.pid = processes.spawn(self.argv, log, env={**os.environ, **(env or {})}, cwd=ROOT)
        self.log = log
        self._child = processes._children.get(self.pid)

    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Exit status, or None if still running after ``timeout`` seconds."""
        try:
            return self._child.wait(timeout=timeout) if self._child else None
        except subprocess.TimeoutExpired:
            return None

    def interrupt(self, grace: float = 60.0) -> int | None:
        """SIGINT (the subcommand winds down and writes what it has), then SIGTERM/SIGKILL after ``grace`` s."""
        if self.running():
            processes.send(self.pid, signal.SIGINT, self.marker)
            if self.wait(grace) is None:
                processes.stop(self.pid, self.marker, grace=10)
        return self.wait(1)

    def tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""


def run_to_end(args: list[str], log: Path, timeout: float, env: dict[str, str] | None = None) -> int:
    """Run a subcommand to completion (seconds: ``timeout``); Ctrl-C is forwarded so it can roll back."""
    command = Subcommand(args, log, env)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            status = command.wait(0.2)
            if status is not None:
                return status
        command.interrupt()
        return 124
    except KeyboardInterrupt:
        command.interrupt()
        raise
