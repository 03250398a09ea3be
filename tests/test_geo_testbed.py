"""Simulated regions: the testbed routes every inter-region connection (Raft and HTTP forwarding)
through the fault proxy, with the preset's baseline latency; profiles come from the preset."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.chaos_support import BIN, ROOT
from tier7.targets.network import split_rtt
from tier7.waiting import wait_until


def test_inter_region_traffic_goes_through_the_proxy(cluster):
    net = cluster.network()
    assert net is not None and cluster.proxy_running()
    # every node, from each of the 2 other regions: raft and http, and the adaptive transport's h2 (TCP),
    # h3 and probe (UDP relay) links (issue 13)
    transport_on = bool(cluster.cluster.get("transport"))  # on by default (preset [transport] enabled)
    assert len(net.links) == 9 * 2 * (5 if transport_on else 2)
    assert {link.protocol for link in net.links if link.kind in ("h3", "probe")} == ({"udp"} if transport_on else set())
    proxies = net.client.proxies()
    for link in net.links:
        up, down = split_rtt(net.baseline_ms(link.from_region, link.to_region))
        toxics = {t["name"]: t["attributes"]["latency"] for t in proxies[link.name]["toxics"]}
        assert toxics == {"baseline-up": up, "baseline-down": down}, link
    nodes = {n["name"]: n for n in cluster.cluster["nodes"]}
    raft_ports = {n["raft_port"] for n in nodes.values()}
    raft_links = {int(link.listen.rsplit(":", 1)[1]) for link in net.links if link.kind == "raft"}

    def dialled() -> set[int]:
        """Remote ports of the nodes' established TCP connections (from /proc: no psutil, which the
        load tests' gevent patching breaks in this process)."""
        inodes = set()
        for pid in cluster.pids.values():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    link = os.readlink(fd)
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        ports = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED, one of the nodes' sockets
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
        return ports

    # one connection per pair of group members (3 groups x 3 pairs), every one through a Raft link
    def all_pairs() -> set[int] | None:
        ports = dialled()
        return ports if len(ports & raft_links) == 9 else None

    remote_ports = wait_until(all_pairs, 15, 0.2, "every pair of group members to be connected through the proxy")
    assert not remote_ports & raft_ports, "a node dialled another node's Raft port directly"


def test_geo_profiles(tmp_path):
    def init(*extra):
        return subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(tmp_path / "c"), *extra],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    assert init("--geo", "realistic").returncode == 0
    geo = json.loads((tmp_path / "c" / "cluster.json").read_text())["geo"]
    assert geo["profile"] == "realistic"
    assert geo["rtt_ms"] == {"us-east/eu-west": 70, "us-east/ap-south": 180, "eu-west/ap-south": 120}
    assert init().returncode == 0
    assert json.loads((tmp_path / "c" / "cluster.json").read_text())["geo"]["profile"] == "compressed"
    assert init("--geo", "none").returncode == 0
    assert "geo" not in json.loads((tmp_path / "c" / "cluster.json").read_text())
    bad = init("--geo", "mars")
    assert bad.returncode == 2 and "unknown geo profile 'mars'" in bad.stderr and "realistic" in bad.stderr


def test_chaos_discover_lists_the_extension(tmp_path):
    done = subprocess.run([str(BIN / "chaos"), "discover", "--no-install", "--no-system-info", "chaostoolkit-tier7"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    discovery = json.loads((tmp_path / "discovery.json").read_text())
    names = {(a["type"], a["name"]) for a in discovery["activities"]}
    assert {("action", "kill_leader"), ("action", "partition_region"), ("action", "heal_all"),
            ("probe", "cluster_healthy"), ("probe", "new_leader_elected")} <= names
    assert all(a["mod"] in ("chaos.actions", "chaos.probes") and a["doc"] for a in discovery["activities"])
