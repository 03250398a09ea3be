"""A run that cannot start leaves no trace (issue 16, issue 17 item 6): `tier7 verify` on a malformed,
unreachable or stopped target and `tier7 chaos run` on a stopped testbed exit 2 with one line, leave an
existing STATUS.md byte-identical, `results/latest` where it was, and make no new run folder. No cluster is
started here (the stopped testbed is only initialised)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tier7.errors import Tier7Error
from tier7.verify.runner import Options, verify

ROOT = Path(__file__).resolve().parents[1]
STATUS = "# STATUS\n\n## 45-04\n\nPASS — 16/16 (the last real verification)\n"


def earlier_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    """results/ with one earlier run that `latest` points at, and a STATUS.md about it."""
    results = tmp_path / "results"
    earlier = results / "20260101T000000Z-tier7"
    earlier.mkdir(parents=True)
    (earlier / "verdicts.json").write_text("{}")
    (results / "latest").symlink_to(earlier.name)
    status = tmp_path / "STATUS.md"
    status.write_bytes(STATUS.encode())
    return results, earlier, status


def assert_untouched(results: Path, earlier: Path, status: Path) -> None:
    assert status.read_bytes() == STATUS.encode()
    assert os.readlink(results / "latest") == earlier.name
    assert sorted(p.name for p in results.iterdir()) == sorted(["latest", earlier.name])
    assert sorted(p.name for p in earlier.iterdir()) == ["verdicts.json"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["malformed", "missing", "unreachable"])
def test_verify_that_cannot_start_leaves_no_trace(tmp_path, kind):
    results, earlier, status = earlier_run(tmp_path)
    target = tmp_path / "target.toml"
    if kind == "malformed":
        target.write_text("nodes = [ oops")
    elif kind == "unreachable":
        port = closed_port()
        target.write_text(f'admin_token = "t"\n[[nodes]]\nname = "n1"\ngroup = "g0"\nregion = "r"\n'
                          f'url = "http://127.0.0.1:{port}"\n')
    with pytest.raises(Tier7Error) as caught:
        verify(Options(target=str(target), out=results, status_file=status, only=["preset"], seed=1))
    assert "\n" not in str(caught.value)
    assert_untouched(results, earlier, status)


def test_verify_on_a_stopped_testbed_leaves_no_trace(tmp_path):
    results, earlier, status = earlier_run(tmp_path)
    done = subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(tmp_path / "tb")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    with pytest.raises(Tier7Error, match="not running"):
        verify(Options(target=str(tmp_path / "tb" / "cluster.json"), out=results, status_file=status,
                       only=["preset"], seed=1))
    assert_untouched(results, earlier, status)


def test_verify_cli_exits_2_with_one_line(tmp_path):
    results, earlier, status = earlier_run(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    done = subprocess.run([sys.executable, "-m", "tier7", "verify", "--target", str(tmp_path / "bad.json"),
                           "--out", str(results), "--status-file", str(status), "--only", "preset"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and "malformed target file" in done.stderr
    assert_untouched(results, earlier, status)


def test_chaos_run_on_a_stopped_testbed_leaves_no_trace(tmp_path):
    results, earlier, status = earlier_run(tmp_path)
    done = subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(tmp_path / "tb")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIER7_")}
    done = subprocess.run([sys.executable, "-m", "tier7", "chaos", "run", "kill-raft-leader", "--var", "group=g1",
                           "--target", str(tmp_path / "tb" / "cluster.json"), "--new-run"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=180, env=env)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert_untouched(results, earlier, status)
