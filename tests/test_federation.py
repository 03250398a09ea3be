"""Must hold 2: 1000 writes through random nodes land in the group the harness's own ring computes."""

import random
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import harness_ring, new_tenant
from tier7.contract import ContractClient
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

    def replica_view(args):
        node, key = args
        return node.name, key, ContractClient(node.url, token, client=http).get(key, consistency="local").status

    def all_replicated():
        with ThreadPoolExecutor(16) as pool:
            views = list(pool.map(replica_view, [(n, k) for n in nodes for k in keys]))
        group_of = {n.name: n.group for n in nodes}
        wrong = [(n, k, s) for n, k, s in views if (s == 200) != (group_of[n] == expected[k])]
        assert not [w for w in wrong if w[2] == 200], "a key is held by a group that does not own it"
        return not wrong

    # followers apply committed entries a tick later: poll until every replica agrees
    assert wait_until(all_replicated, timeout=20, interval=0.5, what="every member of the owner group to hold its keys")


def test_placement_answer_matches_harness_ring(cluster, http):
    ring = harness_ring(cluster, http)
    client = ContractClient(cluster.nodes()[4].url, client=http)
    for i in range(50):
        answer = client.request("GET", "/v1/ring/placement", params={"tenant": "acme", "key": f"k{i}"})
        assert answer.body["owner_group"] == ring.group_for("acme", f"k{i}")
