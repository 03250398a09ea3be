"""Helpers for the fault tests: the CLIs as a user runs them, a testbed started by `tier7 testbed up`,
and what is left in force on it (paused nodes, network faults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tier7.targets.testbed import TestbedTarget

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXPERIMENTS = ROOT / "experiments"


def env_for(testbed: Path, run_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "TIER7_TESTBED_DIR": str(testbed), "PYTHONUNBUFFERED": "1"}
    env.pop("TIER7_RUN_DIR", None)
    if run_dir is not None:
        env["TIER7_RUN_DIR"] = str(run_dir)
    return env


def tier7(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tier7", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def chaos_run(experiment: Path, workdir: Path, env: dict[str, str], *extra: str,
              timeout: float = 180) -> subprocess.CompletedProcess:
    """`chaos run experiments/<file>` with the journal written into ``workdir``."""
    return subprocess.run([str(BIN / "chaos"), "run", str(experiment), *extra], capture_output=True, text=True,
                          cwd=workdir, env=env, timeout=timeout)


@contextmanager
def started_testbed(directory: Path) -> Iterator[TestbedTarget]:
    """A testbed started and stopped with the CLI, as a user does."""
    up = tier7(["testbed", "up", "--dir", str(directory)], env_for(directory), timeout=120)
    started = TestbedTarget(directory) if (directory / "state.json").exists() else None
    try:
        assert up.returncode == 0, up.stderr
        assert started is not None and started.proxy_running(), "the fault proxy is not running"
        yield started
    finally:
        down = tier7(["testbed", "down", "--dir", str(directory)], env_for(directory), timeout=120)
        assert down.returncode == 0, down.stderr
        if started is not None:
            assert not started.proxy_running(), "the fault proxy was left running"


def left_in_force(target: TestbedTarget) -> dict[str, list[str]]:
    """Everything beyond the healthy baseline: paused or stopped nodes, chaos toxics, disabled links."""
    network = TestbedTarget(target.dir).network()
    faults = network.faults() if network else {}
    fresh = TestbedTarget(target.dir)
    return {"paused": fresh.paused(), "down": [n.name for n in fresh.nodes() if not fresh.is_running(n.name)],
            **faults}


def nothing_left(target: TestbedTarget) -> bool:
    return not any(left_in_force(target).values())


def events(run_dir: Path, process: str = "nemesis") -> list[dict]:
    found = []
    for path in sorted((run_dir / "history").glob("*.jsonl")):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted((e for e in found if e.get("process") == process), key=lambda e: e["time"])


def experiment_variant(path: Path, name: str, directory: Path, method: list[dict] | None = None,
                       **changes) -> Path:
    """A copy of a bundled experiment with its method (and any top-level keys) replaced."""
    data = json.loads(path.read_text())
    if method is not None:
        data["method"] = method
    data.update(changes)
    target = directory / f"{name}.json"
    target.write_text(json.dumps(data, indent=2))
    return target


def action(name: str, func: str, **arguments) -> dict:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": "chaos.actions", "func": func, "arguments": arguments}}


def probe(name: str, func: str, **arguments) -> dict:
    return {"type": "probe", "name": name,
            "provider": {"type": "python", "module": "chaos.probes", "func": func, "arguments": arguments}}
