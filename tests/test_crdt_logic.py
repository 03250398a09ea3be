"""The testbed's CRDT joins and hybrid clock, without processes: any delivery order converges to the merge
the semantics demand, and each TEST-ONLY mutant really breaks it."""

import random

from testbed.crdt import Replica, counter_value, live_tags, set_value
from testbed.hlc import HybridClock

NODES = ["a", "b", "c"]


def replicas(drops: bool = False) -> dict[str, Replica]:
    return {n: Replica(n, drops_concurrent=drops) for n in NODES}


def deliver(reps: dict[str, Replica], origin: str, kind: str, key: str, delta: dict, order: list[str]) -> None:
    for node in order:
        if node != origin:
            reps[node].remote("t", kind, key, origin, delta)


def test_counter_concurrent_increments_all_count_in_any_order():
    reps = replicas()
    rng = random.Random(3)
    deltas, expected = [], 0
    for i in range(60):
        origin = NODES[i % 3]
        step = rng.randint(-5, 9)
        expected += step
        deltas.append((origin, reps[origin].local("t", "counter", "k", {"delta": step})))
    for node in NODES:  # each replica receives the others' deltas in its own shuffled order, some twice
        mine = [d for d in deltas if d[0] != node]
        rng.shuffle(mine)
        for origin, delta in mine + mine[:10]:
            reps[node].remote("t", "counter", "k", origin, delta)
    assert {counter_value(r.peek("t", "counter", "k")) for r in reps.values()} == {expected}
    assert reps["a"].peek("t", "counter", "k")["vv"] == {"a": 20, "b": 20, "c": 20}


def test_counter_mutant_keeps_the_larger_total_and_loses_concurrent_increments():
    reps = replicas(drops=True)
    da = reps["a"].local("t", "counter", "k", {"delta": 1})
    db = reps["b"].local("t", "counter", "k", {"delta": 1})
    reps["a"].remote("t", "counter", "k", "b", db)
    reps["b"].remote("t", "counter", "k", "a", da)
    assert counter_value(reps["a"].peek("t", "counter", "k")) == 1  # the healthy join says 2
    healthy = replicas()
    da = healthy["a"].local("t", "counter", "k", {"delta": 1})
    db = healthy["b"].local("t", "counter", "k", {"delta": 1})
    healthy["a"].remote("t", "counter", "k", "b", db)
    assert counter_value(healthy["a"].peek("t", "counter", "k")) == 2


def test_or_set_add_wins_over_a_concurrent_remove():
    for drops, present in ((False, ["x"]), (True, [])):
        reps = replicas(drops)
        add1 = reps["a"].local("t", "set", "s", {"op": "add", "element": "x", "tag": "op1"})
        deliver(reps, "a", "set", "s", add1, NODES)
        # b removes x having observed op1; concurrently c adds x again (op2), unseen by b
        tags = live_tags(reps["b"].peek("t", "set", "s"), "x")
        assert tags == ["op1"]
        rm = reps["b"].local("t", "set", "s", {"op": "remove", "element": "x", "tags": tags})
        add2 = reps["c"].local("t", "set", "s", {"op": "add", "element": "x", "tag": "op2"})
        deliver(reps, "c", "set", "s", add2, ["b", "a"])
        deliver(reps, "b", "set", "s", rm, ["c", "a"])
        values = {n: set_value(r.peek("t", "set", "s")) for n, r in reps.items()}
        if not drops:
            assert set(map(tuple, values.values())) == {tuple(present)}  # add wins, everywhere
        else:
            assert values["a"] == [] and values["c"] == []  # the concurrent add op2 was lost there


def test_set_remove_before_its_add_arrives_still_removes_it():
    r = Replica("a")
    r.remote("t", "set", "s", "b", {"r": "x", "g": ["op1"], "n": 1})
    r.remote("t", "set", "s", "c", {"a": "x", "g": "op1", "n": 1})
    assert set_value(r.peek("t", "set", "s")) == []


def test_register_lww_by_timestamp_then_node_id():
    reps = replicas()
    w1 = reps["a"].local("t", "register", "r", {"value": "from-a", "ts": (100, 0, "a"), "op_id": "1"})
    w2 = reps["c"].local("t", "register", "r", {"value": "from-c", "ts": (100, 0, "c"), "op_id": "2"})
    deliver(reps, "a", "register", "r", w1, NODES)
    deliver(reps, "c", "register", "r", w2, NODES)
    assert {r.peek("t", "register", "r")["v"] for r in reps.values()} == {"from-c"}  # tie: greater node id
    late = reps["b"].local("t", "register", "r", {"value": "late", "ts": (101, 0, "b"), "op_id": "3"})
    deliver(reps, "b", "register", "r", late, ["c", "a"])
    assert {r.peek("t", "register", "r")["v"] for r in reps.values()} == {"late"}


def test_full_state_join_catches_a_fresh_replica_up():
    from testbed.crdt import wire_state

    old = Replica("a")
    old.local("t", "counter", "k", {"delta": 5})
    old.remote("t", "counter", "k", "b", {"p": 3, "q": 1, "n": 2})
    old.local("t", "set", "s", {"op": "add", "element": "x", "tag": "o1"})
    old.local("t", "register", "r", {"value": "v", "ts": (5, 0, "a"), "op_id": "o2"})
    fresh = Replica("c")
    for (tenant, kind, key), state in old.states.items():
        fresh.merge_state(tenant, kind, key, wire_state(kind, state))
    assert counter_value(fresh.peek("t", "counter", "k")) == 7
    assert set_value(fresh.peek("t", "set", "s")) == ["x"]
    assert fresh.peek("t", "register", "r")["v"] == "v"
    assert fresh.peek("t", "counter", "k")["vv"] == {"a": 1, "b": 2}
    assert fresh.keys("t") == [{"type": "counter", "key": "k"}, {"type": "register", "key": "r"},
                               {"type": "set", "key": "s"}]


def test_hlc_moves_past_received_timestamps_and_the_mutant_does_not():
    now = [1000]
    clock = HybridClock("b", now_ms=lambda: now[0])
    assert clock.tick() == (1000, 0, "b")
    assert clock.tick() == (1000, 1, "b")
    clock.observe((1005, 3, "a"))  # a timestamp from ahead (another node's clock)
    later = clock.tick()
    assert later > (1005, 3, "a")
    now[0] = 1010
    assert clock.tick() == (1010, 0, "b")
    assert clock.ms_until_past((1010, 0, "b")) == 1.0 and clock.ms_until_past((1009, 0, "b")) == 0.0
    broken = HybridClock("b", now_ms=lambda: now[0], skew_ms=250, ignore_received=True)
    broken.observe((1010, 0, "a"))
    assert broken.tick() < (1010, 0, "a")  # written after it, yet ordered before it
