"""Topology samples are stamped at the midpoint of their observation and carry its half width, and the
election figure carries that uncertainty (issue 9, hole 8). A real HTTP server on loopback answers
``/v1/node`` slowly, so an observation takes a known time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from analysis.load import read_topology
from analysis.metrics.election import election_per_fault
from analysis.windows import from_nemesis
from tests.analysis_history import BASE_WALL, History, ns
from tier7.history import now_ns
from tier7.sampler import TOPOLOGY_FILE, TopologySampler
from tier7.targets.base import NodeInfo
from tier7.topology import observe

DELAY_S = 0.3  # each /v1/node answer takes this long


class _SlowNode(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(DELAY_S)
        body = json.dumps({"role": "leader", "term": 3, "leader": "n1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_node():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield NodeInfo("n1", "g0", "us-east", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_observation_records_its_span(slow_node):
    before = now_ns()
    topology = observe([slow_node], timeout=2.0)
    after = now_ns()
    assert before <= topology.observed_from_ns < topology.observed_to_ns <= after
    assert topology.observed_to_ns - topology.observed_from_ns >= DELAY_S * 1e9 * 0.9
    assert topology.midpoint_ns == (topology.observed_from_ns + topology.observed_to_ns) // 2
    assert topology.half_width_ns >= DELAY_S * 1e9 * 0.45


def test_sampler_stamps_the_midpoint_with_its_half_width(slow_node, tmp_path):
    started = now_ns()
    sampler = TopologySampler([slow_node], tmp_path, interval=0.4, max_seconds=30)
    sampler.start()
    deadline = time.monotonic() + 10
    while sampler.samples < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    sampler.stop()
    first = json.loads((tmp_path / TOPOLOGY_FILE).read_text().splitlines()[0])
    # the old sampler stamped the start of the observation (a few ms after `started`): optimistic by ~DELAY_S/2
    assert first["time"] - started >= DELAY_S * 1e9 * 0.4
    assert first["half_width_ns"] >= DELAY_S * 1e9 * 0.45
    assert first["time"] - first["half_width_ns"] >= started
    assert abs(first["wall"] - (time.time() - (now_ns() - first["time"]) / 1e9)) < 0.05
    assert first["groups"]["g0"]["leader"] == "n1"


def _write(path, samples, half_width_ns=None):
    with open(path / TOPOLOGY_FILE, "w") as out:
        for t, leader, term in samples:
            line = {"time": ns(t), "wall": BASE_WALL + t,
                    "groups": {"g0": {"leader": leader, "term": term, "members": {}}}}
            if half_width_ns is not None:
                line["half_width_ns"] = half_width_ns
            out.write(json.dumps(line) + "\n")


def _kill_at_5():
    h = History().nemesis("kill-leader", 5.0, 5.01, node="n1")
    return from_nemesis(h.nemesis_ops(), {"n1": "g0"})


def _samples():
    return [(t / 10, "n1" if t < 52 else ("n2" if t >= 57 else None), 3 if t < 52 else 4) for t in range(100)]


def test_election_upper_bound_adds_the_sample_uncertainty(tmp_path):
    _write(tmp_path, _samples(), half_width_ns=200_000_000)
    row = election_per_fault(read_topology(tmp_path), _kill_at_5()).iloc[0]
    assert row["election_s"] == pytest.approx(0.7, abs=1e-9)
    assert row["election_uncertainty_s"] == pytest.approx(0.2, abs=1e-9)
    assert row["election_upper_s"] == pytest.approx(0.9, abs=1e-9)


def test_old_topology_files_without_half_width_still_read(tmp_path):
    _write(tmp_path, _samples())
    topology = read_topology(tmp_path)
    assert topology["half_width"].isna().all()
    row = election_per_fault(topology, _kill_at_5()).iloc[0]
    assert row["election_s"] == pytest.approx(0.7, abs=1e-9)
    assert np.isnan(row["election_uncertainty_s"])
    assert row["election_upper_s"] == pytest.approx(0.7, abs=1e-9)
