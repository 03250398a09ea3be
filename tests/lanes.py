"""The background lane of `make test` (tests/lanes.toml): the modules it names run in a second pytest
process started at collection, in its own session; tests/test_lanes.py waits for it and fails with its
output when it failed. Bounded by the file's timeout_s; stopped by its process group if still running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tier7.targets.processes import _die_with_parent, is_running

LANES_FILE = Path(__file__).with_name("lanes.toml")
ROOT = Path(__file__).resolve().parents[1]
ENABLE = "TIER7_TEST_LANES"  # "1" (make test): run the background lane
CHILD = "TIER7_TEST_LANE_CHILD"  # set inside the lane, so it does not start a lane of its own


@dataclass
class Lane:
    process: subprocess.Popen
    output: Path
    timeout_s: float
    nodeids: list[str]
    started: float = field(default_factory=time.monotonic)
    code: int | None = None

    def wait(self) -> tuple[int, str]:
        """The lane's exit status and output (it is stopped after ``timeout_s`` seconds from its start)."""
        if self.code is None:
            left = max(1.0, self.timeout_s - (time.monotonic() - self.started))
            try:
                self.code = self.process.wait(left)
            except subprocess.TimeoutExpired:
                self.stop()
                self.code = -1
                with self.output.open("a") as out:
                    out.write(f"\nbackground lane stopped after {self.timeout_s:g} s\n")
        return self.code, self.output.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None and is_running(self.process.pid, []):
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def lane_modules() -> tuple[list[str], float]:
    """The modules of the background lane and its timeout (s); none unless make test asked for lanes."""
    if os.environ.get(ENABLE) != "1" or os.environ.get(CHILD):
        return [], 0.0
    data = tomllib.loads(LANES_FILE.read_text())["background"]
    return list(data["modules"]), float(data["timeout_s"])


def start_lane(nodeids: list[str], timeout_s: float) -> Lane:
    """Start ``pytest nodeids`` in its own session, output to a temporary file."""
    fd, name = tempfile.mkstemp(prefix="tier7-test-lane-", suffix=".log")
    with os.fdopen(fd, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=15", *nodeids],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, CHILD: "1"},
            start_new_session=True, preexec_fn=_die_with_parent)  # dies with this pytest, even by SIGKILL
    return Lane(process, Path(name), timeout_s, nodeids)
