"""Local Locust worker processes for ``tier7 load --workers W``: each runs ``locust --worker`` against the
harness's in-process master on loopback, in its own session, remembered by PID and stopped by PID. On
other machines the same locustfile joins with ``locust -f locustfiles/tier7.py --worker --master-host H``."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from ..errors import Tier7Error
from ..targets import processes

LOCUSTFILE = Path(__file__).resolve().parents[2] / "locustfiles" / "tier7.py"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalWorkers:
    """``count`` worker processes connecting to the master at ``host:port``; logs in ``log_dir``."""

    def __init__(self, count: int, host: str, port: int, log_dir: Path, run_dir: Path,
                 stop_timeout: float = 2.0) -> None:
        self.count, self.host, self.port, self.log_dir, self.run_dir = count, host, port, log_dir, run_dir
        self.stop_timeout = stop_timeout  # seconds a stopping user may finish its current task
        self.pids: list[int] = []

    def marker(self) -> list[str]:
        return ["--worker", "--master-port", str(self.port), str(self.run_dir)]

    def start(self) -> None:
        for index in range(self.count):
            argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", self.host,
                    "--master-port", str(self.port), "--stop-timeout", f"{self.stop_timeout:.0f}s", "--loglevel", "WARNING",
                    "--run-dir", str(self.run_dir)]  # the master sends it too; here it names the process
            self.pids.append(processes.spawn(argv, self.log_dir / f"worker-{index}.log", cwd=Path.cwd()))

    def check_alive(self) -> None:
        """Tier7Error naming the first worker that exited, with the last line of its log."""
        for index, pid in enumerate(self.pids):
            if not processes.is_running(pid, self.marker()):
                path = self.log_dir / f"worker-{index}.log"
                try:
                    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
                except OSError:
                    lines = []
                raise Tier7Error(f"worker {index} exited: {lines[-1] if lines else 'no output'} (log: {path})")

    def alive(self) -> list[int]:
        return [pid for pid in self.pids if processes.is_running(pid, self.marker())]

    def wait_exit(self, timeout: float) -> bool:
        """Wait (seconds: ``timeout``) for every worker to exit by itself (after the master's quit)."""
        return all(processes.wait_gone(pid, self.marker(), timeout) for pid in self.pids)

    def stop(self) -> None:
        """SIGTERM (a worker then writes its history's end), SIGKILL after a grace period."""
        for pid in self.pids:
            processes.stop(pid, self.marker(), grace=10.0)
