"""Issue 17 item 1 (pure logic, no processes): a load run marks itself in ``live-run.json`` next to the
cluster file; ``tier7 chaos run`` on the same target joins it unless told otherwise, and ignores a stale
marker (its process gone, or its PID reused by another process)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tier7 import liverun
from tier7.chaosrun import select_run_dir, target_folder
from tier7.errors import Tier7Error


def test_marker_written_read_and_removed(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    run_dir.mkdir(parents=True)
    marker = liverun.write_marker(tmp_path, run_dir, 1700000000.5, {"kind": "load"})
    assert marker == tmp_path / liverun.MARKER
    live = liverun.read_marker(tmp_path)
    assert live is not None and live.run_dir == run_dir.resolve() and live.pid == os.getpid()
    liverun.remove_marker(tmp_path, tmp_path / "another-run")  # not this run's marker: left alone
    assert marker.exists()
    liverun.remove_marker(tmp_path, run_dir)
    assert not marker.exists() and liverun.read_marker(tmp_path) is None


def test_stale_marker_is_ignored(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dead_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can have it
    (tmp_path / liverun.MARKER).write_text(json.dumps({"run_dir": str(run_dir), "pid": dead_pid}))
    assert liverun.read_marker(tmp_path) is None, "a marker of an exited process must not be joined"
    # this PID, but another process's start time: the PID was reused
    ticks = liverun.process_start_ticks(os.getpid())
    (tmp_path / liverun.MARKER).write_text(json.dumps({"run_dir": str(run_dir), "pid": os.getpid(),
                                                       "pid_start_ticks": (ticks or 0) + 12345}))
    assert liverun.read_marker(tmp_path) is None
    (tmp_path / liverun.MARKER).write_text("{not json")
    assert liverun.read_marker(tmp_path) is None
    # the run folder is gone
    (tmp_path / liverun.MARKER).write_text(json.dumps({"run_dir": str(tmp_path / "gone"), "pid": os.getpid()}))
    assert liverun.read_marker(tmp_path) is None


def test_chaos_run_joins_the_load_run_in_progress(tmp_path: Path, monkeypatch) -> None:
    testbed = tmp_path / "testbed"
    testbed.mkdir()
    load_run = tmp_path / "results" / "20260101T000000Z-load"
    load_run.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIER7_RUN_DIR", raising=False)
    monkeypatch.delenv("TIER7_TARGET", raising=False)
    monkeypatch.setenv("TIER7_TESTBED_DIR", str(testbed))
    assert target_folder({}) == testbed.resolve()
    liverun.write_marker(testbed, load_run, 1700000000.0)
    chosen, joined, said = select_run_dir(None, False, {})
    assert (chosen, joined) == (load_run.resolve(), True)
    assert "joined the load run in progress" in said and str(load_run.resolve()) in said
    assert not (tmp_path / "results" / "latest").exists(), "joining must not move results/latest"
    # --new-run: a folder of its own even though the load runs
    chosen, joined, _ = select_run_dir(None, True, {})
    assert not joined and chosen != load_run.resolve() and chosen.name.endswith("-chaos")
    # --run-dir wins, and contradicting flags are a usage error
    explicit = tmp_path / "mine"
    chosen, joined, _ = select_run_dir(explicit, False, {})
    assert (chosen, joined) == (explicit.resolve(), False)
    with pytest.raises(Tier7Error, match="--new-run"):
        select_run_dir(explicit, True, {})
    # another target (a testbed elsewhere): nothing to join
    chosen, joined, _ = select_run_dir(None, False, {"tier7_testbed_dir": str(tmp_path / "other")})
    assert not joined and chosen != load_run.resolve()


def test_target_file_marker_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TIER7_TARGET", raising=False)
    target_file = tmp_path / "targets" / "mine.toml"
    assert target_folder({"tier7_target": str(target_file)}) == target_file.parent.resolve()
