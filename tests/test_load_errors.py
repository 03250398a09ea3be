"""Recorded load's failure modes, as a user meets them: an unreachable target or a tenant that cannot be
created is one line on stderr and a non-zero exit (no traceback), with the history recorded so far kept;
bad options likewise; Ctrl-C stops the run and still writes everything recorded."""

from __future__ import annotations

import json
import signal
import socket
import subprocess

from tests.load_support import LOCUST, LOCUSTFILE, ROOT, TIER7_LOAD, load_env, one_line_error, run_load
from tier7.history import load_history
from tier7.load.summary import pairing_problems
from tier7.waiting import wait_until


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_target_is_one_line_and_exit_2(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    done = run_load(["--target-endpoints", url, "--duration", "5", "--run-dir", str(tmp_path / "r1")], timeout=60)
    assert done.returncode == 2
    assert "target unreachable" in one_line_error(done.stderr)

    cluster_file = tmp_path / "down.json"  # a cluster file whose nodes are all down
    cluster_file.write_text(json.dumps({"nodes": [{"name": "n1", "group": "g0", "region": "r", "url": url}]}))
    done = run_load(["--target-file", str(cluster_file), "--duration", "5", "--run-dir", str(tmp_path / "r2")], timeout=60)
    assert done.returncode == 2 and "target unreachable" in one_line_error(done.stderr)
    assert not (tmp_path / "r2").exists()

    done = run_load(["--target-file", str(tmp_path / "missing.json")], timeout=60)
    assert done.returncode == 2 and "does not exist" in one_line_error(done.stderr)

    headless = subprocess.run(LOCUST + ["-f", str(LOCUSTFILE), "--headless", "-u", "1", "-t", "5s",
                                        "--target-endpoints", url, "--run-dir", str(tmp_path / "r3")],
                              capture_output=True, text=True, cwd=ROOT, timeout=60, env=load_env(),
                              start_new_session=True)
    assert headless.returncode == 2 and "target unreachable" in one_line_error(headless.stderr)


def test_bad_options_are_one_line_errors(tmp_path):
    for args, words in ((["--users", "0"], "--users"), (["--read-ratio", "0.8", "--cas-ratio", "0.5"], "must not exceed"),
                        (["--tenants", "0"], "--tenants"), (["--profile", "nope"], "invalid choice"),
                        (["--target-endpoints", "http://10.1.2.3:8000"], "10.1.2.3 is not a loopback address")):
        done = run_load(args + ["--run-dir", str(tmp_path / "r")], timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)


def test_tenant_that_cannot_be_created_is_one_line_and_history_is_kept(cluster, tmp_path):
    for workers in ("0", "1"):
        run_dir = tmp_path / f"w{workers}"
        done = run_load(["--profile", "tenants", "--users", "2", "--tenants", "5", "--duration", "20",
                         "--workers", workers, "--target-file", str(cluster.cluster_file), "--run-dir", str(run_dir)],
                        timeout=120, TIER7_ADMIN_TOKEN="not-the-admin-token")
        assert done.returncode == 2, done.stderr[-2000:]
        line = one_line_error(done.stderr)
        assert "cannot create tenant" in line and "forbidden" in line and "403" in line, line
        frame = load_history(run_dir)
        failed = frame[(frame["f"] == "create_tenant") & (frame["type"] == "fail")]
        assert len(failed) >= 1 and set(failed["error"]) == {"forbidden"}
        assert pairing_problems(frame) == []
        assert "not-the-admin-token" not in (run_dir / "run.json").read_text()


def test_ctrl_c_stops_the_run_and_keeps_the_history(cluster, tmp_path):
    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen(TIER7_LOAD + ["--profile", "mixed", "--users", "10", "--tenants", "10", "--duration", "120",
                                             "--target-file", str(cluster.cluster_file), "--run-dir", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=load_env(),
                               start_new_session=True)
    try:
        def recorded() -> bool:
            files = list((run_dir / "history").glob("load-*.jsonl"))
            return bool(files) and files[0].read_text().count('"type":"ok"') >= 30

        wait_until(recorded, 90, 0.2, "30 recorded operations")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    frame = load_history(run_dir)
    assert pairing_problems(frame) == []
    assert json.loads((run_dir / "run.json").read_text())["ended_wall"] is not None
    assert (run_dir / "locust" / "stats.csv").is_file()
