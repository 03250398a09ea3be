"""Anti-entropy between nine in-process replicas (the real AntiEntropy code, its HTTP link swapped for a
direct call that a test can cut): convergence, partition and heal, a restarted node catching up by full
sync, the log emptied once acknowledged, nothing sent while idle, and the give-up mutant never healing."""

import asyncio
import json
import time

from testbed.config import Cluster, build_cluster, load_preset
from testbed.crdt import Replica, counter_value, set_value
from testbed.crdt_link import LinkError
from testbed.crdt_sync import AntiEntropy
from testbed.hlc import HybridClock
from testbed.metrics import NodeMetrics

FAST = {"interval_s": 0.005, "retry_s": 0.005, "request_timeout_s": 1.0, "batch_bytes": 2000, "give_up_s": 0.2}


class Net:
    """Who can reach whom: ``cut`` holds regions cut off from every other region."""

    def __init__(self) -> None:
        self.cut: set[str] = set()
        self.nodes: dict[str, AntiEntropy] = {}
        self.posts = 0


class DirectLink:
    def __init__(self, net: Net, src: str, dst: str) -> None:
        self.net, self.src, self.dst = net, src, dst

    async def post(self, body: bytes) -> dict:
        await asyncio.sleep(0)
        a, b = self.net.nodes[self.src], self.net.nodes[self.dst]
        if a.me.region != b.me.region and self.net.cut & {a.me.region, b.me.region}:
            raise LinkError("ConnectionRefusedError: partitioned")
        self.net.posts += 1
        return b.receive(json.loads(body))

    def close(self) -> None:
        pass


def make_cluster(tmp_path) -> Cluster:
    preset = load_preset("god-tier")
    preset["crdt"] = FAST
    return Cluster(build_cluster(preset, tmp_path, geo="none"))


def start_node(net: Net, cluster: Cluster, name: str, faults: dict | None = None) -> AntiEntropy:
    spec = cluster.node(name)
    faults = faults or {}
    node = AntiEntropy(cluster, spec, Replica(name, faults.get("drops", False)), HybridClock(name),
                       NodeMetrics(name, spec.group, spec.region),
                       stops_after_partition=faults.get("stops", False))
    node.links = {p: DirectLink(net, name, p) for p in node.peers}
    old = net.nodes.get(name)
    if old is not None:
        for task in old.tasks:
            task.cancel()
    net.nodes[name] = node
    node.start()
    return node


def write(node: AntiEntropy, kind: str, key: str, delta: dict) -> None:
    node.record(("t", kind, key), node.replica.local("t", kind, key, delta))


def values(net: Net) -> set:
    return {(counter_value(n.replica.peek("t", "counter", "c")), tuple(set_value(n.replica.peek("t", "set", "s"))))
            for n in net.nodes.values()}


async def until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


def test_partition_heal_restart_converge(tmp_path):
    cluster = make_cluster(tmp_path)

    async def scenario() -> None:
        net = Net()
        for spec in cluster.nodes:
            start_node(net, cluster, spec.name)
        nodes = list(net.nodes.values())
        assert await until(lambda: not any(any(n.full.values()) for n in nodes), 5)  # introductions done
        idle = net.posts
        await asyncio.sleep(0.2)
        assert net.posts == idle, "anti-entropy sent something while nothing was written"
        for i, node in enumerate(nodes):
            write(node, "counter", "c", {"delta": i + 1})
            write(node, "set", "s", {"op": "add", "element": f"e{i}", "tag": f"op{i}"})
        assert await until(lambda: values(net) == {(45, tuple(f"e{i}" for i in range(9)))}, 5), values(net)
        assert await until(lambda: all(not n.log for n in nodes), 5), "acknowledged deltas were kept"
        # partition ap-south; both sides keep writing
        net.cut = {"ap-south"}
        for node in nodes:
            for _ in range(30):  # several batches (batch_bytes is small here)
                write(node, "counter", "c", {"delta": 1})
        await asyncio.sleep(0.3)
        assert len(values(net)) > 1
        net.cut = set()
        assert await until(lambda: values(net) == {(45 + 270, tuple(f"e{i}" for i in range(9)))}, 5), values(net)
        # a node restarts with an empty memory; full sync brings it back
        fresh = start_node(net, cluster, nodes[4].me.name)
        assert counter_value(fresh.replica.peek("t", "counter", "c")) == 0
        assert await until(lambda: len(values(net)) == 1, 5), values(net)
        assert values(net) == {(315, tuple(f"e{i}" for i in range(9)))}
        for node in net.nodes.values():
            await node.stop()

    asyncio.run(scenario())


def test_give_up_mutant_never_heals(tmp_path):
    cluster = make_cluster(tmp_path)

    async def scenario() -> None:
        net = Net()
        for spec in cluster.nodes:
            start_node(net, cluster, spec.name, {"stops": True})
        nodes = list(net.nodes.values())
        write(nodes[0], "counter", "c", {"delta": 1})
        assert await until(lambda: values(net) == {(1, ())}, 5)
        net.cut = {"eu-west"}
        write(nodes[0], "counter", "c", {"delta": 1})
        origin = nodes[0]
        west = [i for i, p in enumerate(origin.peers) if "eu-west" in p]
        assert await until(lambda: all(origin.tasks[i].done() for i in west), 10), "it never gave up"
        net.cut = set()
        assert not await until(lambda: len(values(net)) == 1, 1.0), "the mutant healed"
        for node in nodes:
            await node.stop()

    asyncio.run(scenario())
