"""Helpers for the recorded-load tests: run `tier7 load` / `locust` as real processes on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "locustfiles" / "tier7.py"
LOCUST = [sys.executable, "-m", "locust"]
TIER7_LOAD = [sys.executable, "-m", "tier7", "load"]


def load_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TIER7_ADMIN_TOKEN", "TIER7_TESTBED_DIR")}
    env.update(extra)
    return env


def run_load(args: list[str], timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    """`tier7 load ARGS` in its own session; bounded by ``timeout`` seconds."""
    return subprocess.run(TIER7_LOAD + args, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env=load_env(**env), start_new_session=True)


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (to prove a test left nothing running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if text.encode() in raw and state != "Z":
            found.append(int(entry.name))
    return found


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if line.startswith("tier7: error:")]
    assert len(errors) == 1, stderr
    return errors[0]
