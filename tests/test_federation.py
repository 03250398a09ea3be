"""Must hold 2: 1000 writes through random nodes land in the group the harness's own ring computes."""

import random
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import harness_ring, new_tenant
from tier7.contract import ContractClient
from tier7.replicas import ReplicaProbe
from tier7.waiting import wait_until


def test_thousand_writes_land_in_the_ring_owner_only(cluster, http):
    tenant, token = new_tenant(cluster, http)
    ring = harness_ring(cluster, http)
    nodes = cluster.nodes()
    rng = random.Random(45_04)
    keys = [f"fed-{i}" for i in range(1000)]

    def write(key):
        node = rng.choice(nodes)
        answer = ContractClient(node.url, token, client=http).put(key, f"v-{key}")
        assert answer.status == 200, (node.name, answer)
        return key, answer.body["group"]

    with ThreadPoolExecutor(16) as pool:
        served = dict(pool.map(write, keys))
    expected = {key: ring.group_for(tenant, key) for key in keys}
    assert {k: g for k, g in served.items() if g != expected[k]} == {}
    assert set(expected.values()) == {"g0", "g1", "g2"}

    probe = ReplicaProbe(nodes, token)
    group_of = {n.name: n.group for n in nodes}

    def all_replicated():
        holders = probe.holders(keys)
        wrong = {k: h for k, h in holders.items() if any(group_of[n] != expected[k] for n in h)}
        assert not wrong, f"keys held by a group that does not own them: {list(wrong.items())[:5]}"
        return all(sorted(h) == sorted(n for n, g in group_of.items() if g == expected[k]) for k, h in holders.items())

    # followers apply committed entries a tick later: poll until every replica agrees
    assert wait_until(all_replicated, timeout=90, interval=0.5, what="every member of the owner group to hold its keys")


def test_placement_answer_matches_harness_ring(cluster, http):
    ring = harness_ring(cluster, http)
    client = ContractClient(cluster.nodes()[4].url, client=http)
    for i in range(50):
        answer = client.request("GET", "/v1/ring/placement", params={"tenant": "acme", "key": f"k{i}"})
        assert answer.body["owner_group"] == ring.group_for("acme", f"k{i}")
