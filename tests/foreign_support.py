"""What the foreign-target tests share: a run folder and a ``RunContext`` around a real foreign cluster,
without the whole ``tier7 verify`` (so a module starts its servers once and each test stays short)."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tier7.runfolder import write_json
from tier7.targets import foreign
from tier7.verify.context import RunContext

ROOT = Path(__file__).resolve().parents[1]


def need(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} not installed: Debian package {package} (bash scripts/install-system-deps.sh)")


class QuietProgress:
    """The progress display's interface, printing nothing."""

    def set_phase(self, text: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def run_context(run_dir: Path, target: Any, seed: int = 7, **sizes: Any) -> RunContext:
    """A run folder (plan.json with ``sizes`` overridden, target/nodes.json, facts/verify.json) and its context."""
    plan = tomllib.loads((ROOT / "analysis" / "plan.toml").read_text())
    plan["sizes"].update(sizes)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "plan.json").write_text(json.dumps(plan))
    write_json(run_dir / "target" / "nodes.json",
               [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in target.nodes()])
    if hasattr(target, "ring_params"):
        write_json(run_dir / "target" / "ring.json", target.ring_params())
    return RunContext(run_dir, plan, False, seed, target, QuietProgress())  # type: ignore[arg-type]


def no_leftovers(folder: Path) -> None:
    """Every process the driver started is gone (checked by PID and command line, as the driver does)."""
    state = json.loads((folder / foreign.STATE_FILE).read_text())
    for member, pid in state["pids"].items():
        marker = [state["argv"][member][0], state["tags"][member]]
        assert not foreign.processes.is_running(pid, marker), f"{member} (pid {pid}) still running"
