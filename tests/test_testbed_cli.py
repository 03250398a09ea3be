"""`tier7 testbed up|status|down` as a user runs them (real processes), and one-line config errors."""

import json
import subprocess
import sys
import time
from pathlib import Path

from tier7.targets.processes import is_running

ROOT = Path(__file__).resolve().parents[1]
TIER7 = [sys.executable, "-m", "tier7"]


def run(args, **kw):
    return subprocess.run(TIER7 + args, capture_output=True, text=True, cwd=ROOT, timeout=120, **kw)


def test_up_status_down(tmp_path):
    directory = tmp_path / "tb"
    started = time.monotonic()
    up = run(["testbed", "up", "--dir", str(directory)])
    elapsed = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stderr
        assert elapsed < 30, f"up took {elapsed:.1f}s"
        cluster = json.loads((directory / "cluster.json").read_text())
        nodes = cluster["nodes"]
        assert len(nodes) == 9
        by_group = {}
        for n in nodes:
            by_group.setdefault(n["group"], []).append(n["region"])
        assert sorted(by_group) == ["g0", "g1", "g2"]
        assert all(sorted(r) == ["ap-south", "eu-west", "us-east"] for r in by_group.values())
        status = run(["testbed", "status", "--dir", str(directory)])
        assert status.returncode == 0, status.stderr
        assert "9/9 node processes running" in status.stdout
        for group in ("g0", "g1", "g2"):
            line = next(line for line in status.stdout.splitlines() if line.startswith(group + " "))
            assert line.split()[1].startswith(group + "-"), line  # a leader from that group
    finally:
        pids = json.loads((directory / "state.json").read_text())["pids"] if (directory / "state.json").exists() else {}
        down = run(["testbed", "down", "--dir", str(directory)])
    assert down.returncode == 0, down.stderr
    assert pids and not [p for p in pids.values() if is_running(int(p), [])]
    # a second `down` is harmless
    assert run(["testbed", "down", "--dir", str(directory)]).returncode == 0


def test_unknown_preset_is_one_line_error(tmp_path):
    done = run(["testbed", "up", "--preset", "no-such", "--dir", str(tmp_path / "x")])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown preset 'no-such'" in done.stderr and "god-tier" in done.stderr


def test_malformed_preset_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[cluster\nregions = 3\n")
    done = run(["testbed", "up", "--preset", str(bad), "--dir", str(tmp_path / "x")])
    assert done.returncode == 2 and "malformed preset" in done.stderr
    assert done.stderr.strip().count("\n") == 0
    wrong = tmp_path / "wrong.toml"
    wrong.write_text((ROOT / "testbed/presets/god-tier.toml").read_text().replace("groups = 3", 'groups = "3"'))
    done = run(["testbed", "up", "--preset", str(wrong), "--dir", str(tmp_path / "y")])
    assert done.returncode == 2 and "[cluster].groups must be a int" in done.stderr


def test_status_without_testbed_is_clear(tmp_path):
    done = run(["testbed", "status", "--dir", str(tmp_path / "none")])
    assert done.returncode == 2 and "tier7 testbed up" in done.stderr
    assert "Traceback" not in done.stderr
