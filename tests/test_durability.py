"""Must hold 4: SIGKILL all 9 nodes and restart them; every acknowledged write reads back its last value."""

import random
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import new_tenant
from tier7.contract import ContractClient


def test_kill_all_and_restart_keeps_acknowledged_writes(fresh_cluster, http):
    cluster = fresh_cluster
    tenant, token = new_tenant(cluster, http)
    nodes = cluster.nodes()
    rng = random.Random(7)
    acked: dict[str, str] = {}

    def write(i):
        key = f"dur-{i % 300}"  # 600 writes over 300 keys: most keys are overwritten once
        value = f"v{i}"
        answer = ContractClient(rng.choice(nodes).url, token, client=http).put(key, value)
        return key, value, answer.status

    for batch in (range(0, 300), range(300, 600)):  # second batch overwrites the first
        with ThreadPoolExecutor(12) as pool:
            for key, value, status in pool.map(write, batch):
                assert status == 200
                acked[key] = value

    for node in nodes:  # no goodbye: SIGKILL everyone
        cluster.kill_node(node.name)
    assert cluster.running() == []
    cluster.start(timeout=30)

    reader = ContractClient(nodes[0].url, token, client=http)
    with ThreadPoolExecutor(12) as pool:
        answers = dict(zip(acked, pool.map(lambda k: reader.get(k).body.get("value"), acked), strict=True))
    assert {k: (v, answers[k]) for k, v in acked.items() if answers[k] != v} == {}
