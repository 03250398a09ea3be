"""The adaptive transport's TEST-ONLY switches (testbed/faults.py) do what their stories say, in process
(no cluster): ``transport_never_switches`` measures a slow link and stays on h2; ``transport_switch_drops_inflight``
closes the old protocol's connections at the switch (a healthy transport leaves them open). Their effect on
a whole run is measured by ``tier7 selftest --only transport-never-switches`` / ``transport-switch-drops-inflight``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.config import load_cluster
from testbed.transport import TransportManager
from tests.transport_support import transport_on_preset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("transport-faults")
    preset = transport_on_preset(folder)
    done = subprocess.run([sys.executable, "-m", "testbed", "init", "--preset", str(preset), "--dir", str(folder / "tb")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return folder / "tb" / "cluster.json"


def manager(cluster_file: Path, faults: dict) -> TransportManager:
    data = json.loads(cluster_file.read_text())
    data["test_faults"] = faults
    patched = cluster_file.with_name(f"cluster-{len(faults)}-{'-'.join(faults)}.json")
    patched.write_text(json.dumps(data))
    cluster = load_cluster(patched)
    return TransportManager(cluster, cluster.nodes[0])


class FakePeer:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def drive(m: TransportManager, region: str) -> list[str]:
    """20 fast probes (5 ms: the pair's baseline), 200 slow ones (150 ms), 200 fast ones, 0.25 s apart; the
    protocols the pair went through."""
    seen = [m.protocol_for(region)]
    start = time.monotonic() + 10.0  # the policy's clock: after the dwell that began at its construction
    for index in range(420):
        m._observe(region, 150.0 if 20 <= index < 220 else 5.0, start + index * 0.25)
        if m.protocol_for(region) != seen[-1]:
            seen.append(m.protocol_for(region))
    return seen


def test_cluster_file_has_transport_ports_links_and_tls(cluster_file):
    data = json.loads(cluster_file.read_text())
    assert all(n["xport_port"] and n["probe_port"] for n in data["nodes"])
    kinds = {(link["kind"], link.get("protocol", "tcp")) for link in data["geo"]["links"]}
    assert {("h2", "tcp"), ("h3", "udp"), ("probe", "udp")} <= kinds
    assert Path(data["transport"]["key"]).stat().st_mode & 0o077 == 0  # the key is private


def test_healthy_policy_switches_and_keeps_old_connections(cluster_file):
    m = manager(cluster_file, {})
    region = next(iter(m.policies))
    peer = m.h3["some-node"] = FakePeer()
    assert drive(m, region) == ["h2", "h3", "h2"]
    assert not peer.closed and m.h3.get("some-node") is peer


def test_never_switches_stays_on_h2(cluster_file):
    m = manager(cluster_file, {"transport_never_switches": True})
    region = next(iter(m.policies))
    assert drive(m, region) == ["h2"]
    assert m.policies[region].rtt_ms == pytest.approx(5.0, abs=1.0)  # it measured, it just never moved


def test_switch_drops_inflight_closes_the_old_connections(cluster_file):
    m = manager(cluster_file, {"transport_switch_drops_inflight": True})
    region = next(iter(m.policies))
    peers = {n.name: FakePeer() for n in m.cluster.nodes if n.region == region}
    m.h3.update(peers)

    async def run() -> list[str]:
        return drive(m, region)

    assert asyncio.run(run()) == ["h2", "h3", "h2"]
    assert all(p.closed for p in peers.values()) and not any(name in m.h3 for name in peers)
