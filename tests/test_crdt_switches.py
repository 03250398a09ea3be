"""The three TEST-ONLY CRDT switches really break the testbed's CRDTs (tests/test_crdt_testbed.py shows the
healthy testbed getting each of these right). They do not interfere — lossy merges touch counters and sets,
the clock touches registers, and the give-up switch only acts after a partition (last test) — so one
cluster carries all three."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import new_tenant, start_cluster
from tests.crdt_support import converged, ok, read, values, write
from tier7.waiting import wait_until

SWITCHES = {"crdt_merge_drops_concurrent": True, "crdt_clock_ignores_causality": True,
            "crdt_anti_entropy_stops_after_partition": True}


@pytest.fixture(scope="module")
def mutant(tmp_path_factory):
    target = start_cluster(tmp_path_factory.mktemp("crdt-mutant"), test_faults=SWITCHES)
    yield target
    target.stop()


def regions_of(target) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in target.nodes():
        out.setdefault(node.region, []).append(node)
    return out


def test_lossy_merge_loses_concurrent_increments_and_adds(mutant, http):
    _, token = new_tenant(mutant, http, "m")
    nodes = mutant.nodes()

    def writes(node):
        for i in range(5):
            ok(write(http, node, token, "counter", "c", {"op": "inc", "delta": 1}))
            ok(write(http, node, token, "set", "s", {"op": "add", "element": f"{node.name}-{i}"}))

    with ThreadPoolExecutor(9) as pool:
        list(pool.map(writes, nodes))
    time.sleep(2.0)  # far longer than the healthy testbed needs to converge (tests/test_crdt_testbed.py)
    counters = values(http, nodes, token, "counter", "c")
    assert all(v < 45 for v in counters.values()), counters  # increments of other nodes were dropped
    # a remove that observed one add deletes, on the other replicas, the adds it never saw
    east, west = regions_of(mutant)["us-east"][0], regions_of(mutant)["eu-west"][0]
    first = ok(write(http, east, token, "set", "t", {"op": "add", "element": "x"}))
    converged(http, [west], token, "set", "t", ["x"])
    ok(write(http, east, token, "set", "t", {"op": "add", "element": "x"}))
    # at once, before the next anti-entropy round (0.1 s) can bring west the second add
    removed = ok(write(http, west, token, "set", "t", {"op": "remove", "element": "x"}))
    assert removed["removed_tags"] == [first["tag"]]
    time.sleep(1.0)
    assert read(http, east, token, "set", "t")["value"] == []  # the second add should have won


def test_skewed_clock_lets_a_later_register_write_lose(mutant, http):
    _, token = new_tenant(mutant, http, "m")
    regions = regions_of(mutant)
    east, west = regions["us-east"][0], regions["eu-west"][0]
    first = ok(write(http, east, token, "register", "r", {"op": "set", "value": "first"}))
    later = ok(write(http, west, token, "register", "r", {"op": "set", "value": "later"}))
    assert tuple(later["timestamp"]) < tuple(first["timestamp"])  # invoked after first's ack, ordered before it
    converged(http, mutant.nodes(), token, "register", "r", "first")  # the later write lost everywhere


@pytest.mark.timeout(120)
def test_anti_entropy_never_resumes_after_a_partition(mutant, http):
    net = mutant.network()
    _, token = new_tenant(mutant, http, "m")
    regions = regions_of(mutant)
    east, south = regions["us-east"][0], regions["ap-south"][0]
    ok(write(http, east, token, "register", "before", {"op": "set", "value": "v"}))
    converged(http, mutant.nodes(), token, "register", "before", "v")  # replication works before the cut
    try:
        net.partition("ap-south")
        ok(write(http, east, token, "register", "during", {"op": "set", "value": "v"}))
        time.sleep(4.0)  # longer than [crdt] give_up_s (3 s)
    finally:
        mutant.heal()
    ok(write(http, east, token, "register", "after", {"op": "set", "value": "v"}))
    converged(http, regions["us-east"] + regions["eu-west"], token, "register", "after", "v")
    with pytest.raises(Exception):  # noqa: B017,PT011 - the wait must run out: ap-south never hears of it
        wait_until(lambda: read(http, south, token, "register", "during")["value"] == "v", 3, 0.2, "never")
    assert read(http, south, token, "register", "after")["value"] is None
