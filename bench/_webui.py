"""Driving the Locust web UI of ``locustfiles/tier7.py`` the way its page does (HTTP: ``POST /swarm``,
``POST /stop``, ``GET /tier7/run``), plus ``tier7 chaos run`` and ``tier7 analyze`` from other processes:
one live run as a person does it. Shared by bench/live_runs.py and tests/test_load_webui.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tier7.load.workers import free_port
from tier7.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "locustfiles" / "tier7.py"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TIER7_ADMIN_TOKEN", "TIER7_TESTBED_DIR", "TIER7_RUN_DIR")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


class WebUI:
    """``locust -f locustfiles/tier7.py`` with its web UI on a free loopback port (stopped by PID)."""

    def __init__(self, cluster_file: Path, run_dir: Path, log: Path, tenants: int = 10,
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = run_dir
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--web-host", "127.0.0.1",
             "--web-port", str(self.port), "--target-file", str(cluster_file), "--tenants", str(tenants),
             "--run-dir", str(run_dir), *(extra or [])],
            stdout=subprocess.DEVNULL, stderr=self._log, cwd=ROOT, env=clean_env(**(env or {})),
            start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"locust exited with {self.process.returncode}; see {self._log.name}")
            return httpx.get(self.url + "/tier7/run", timeout=2).status_code == 200

        wait_until(up, timeout, 0.2, "the Locust web UI")

    def status(self) -> dict[str, Any]:
        return httpx.get(self.url + "/tier7/run", timeout=5).json()

    def state(self) -> str:
        return str(httpx.get(self.url + "/stats/requests", timeout=5).json().get("state"))

    def start(self, users: int, spawn_rate: float, host: str | None = None, **options: Any) -> dict[str, Any]:
        """``POST /swarm`` as the start form sends it (``options``: custom parameters, e.g. tenants=5)."""
        form = {"user_count": str(users), "spawn_rate": str(spawn_rate), **{k: str(v) for k, v in options.items()}}
        if host is not None:
            form["host"] = host
        return httpx.post(self.url + "/swarm", data=form, timeout=30).json()

    def stop_swarm(self) -> None:
        httpx.post(self.url + "/stop", timeout=60)

    def wait_phase(self, phases: tuple[str, ...], timeout: float) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            found = self.status()
            if found.get("error"):
                raise RuntimeError(f"web UI run failed: {found['error']}")
            return found if found.get("phase") in phases else None

        return wait_until(reached, timeout, 0.2, f"the web UI's run to be {' or '.join(phases)}")

    def stop(self) -> int | None:
        """SIGTERM (Locust's own shutdown), SIGKILL after 60 s; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode


def chaos_kill(testbed_dir: Path, group: str, cwd: Path, timeout: float = 180.0) -> subprocess.CompletedProcess:
    """``tier7 chaos run kill-raft-leader --var group=<group>`` from another process, as README shows (no
    --run-dir: it joins the load run in progress on that testbed)."""
    return subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", "kill-raft-leader", "--var", f"group={group}"],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=clean_env(TIER7_TESTBED_DIR=str(testbed_dir)))


def analyze(run_dir: Path, timeout: float = 600.0) -> tuple[int, dict[str, Any], str]:
    """``tier7 analyze <run_dir>``: (exit code, analysis.json, stdout)."""
    done = subprocess.run([sys.executable, "-m", "tier7", "analyze", str(run_dir)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=clean_env())
    path = run_dir / "analysis.json"
    document = json.loads(path.read_text()) if path.is_file() else {}
    return done.returncode, document, done.stdout + done.stderr


def verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["status"] for v in document.get("verdicts", [])}


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
