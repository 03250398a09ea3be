"""The replicated rebalance commands (testbed/rebalance_state.py) as pure logic: who serves a key at each
step of a batch, idempotency under a new leader's re-sends, and the TEST-ONLY routes-early switch."""

from __future__ import annotations

from testbed.rebalance_state import batch_id, ring_of
from testbed.store import KVState

OLD, NEW = ["g0", "g1", "g2"], ["g0", "g1", "g2", "g3"]
PLAN = {"epoch": 2, "from_epoch": 1, "old": OLD, "new": NEW, "vnodes": 64, "action": "add", "group": "g3",
        "started": 1.0, "members": {}}


def apply(state: KVState, command: str, *args):
    return getattr(state, command)(*args, _doApply=True)


def moving_key(source: str = "g0", target: str = "g3") -> str:
    """A key of tenant t that moves from ``source`` to ``target`` when g3 joins."""
    old, new = ring_of(OLD, 64), ring_of(NEW, 64)
    return next(k for k in (f"k{i}" for i in range(10_000))
                if old.owner("t", k) == source and new.owner("t", k) == target)


def staying_key(group: str = "g0") -> str:
    old, new = ring_of(OLD, 64), ring_of(NEW, 64)
    return next(k for k in (f"s{i}" for i in range(10_000)) if old.owner("t", k) == new.owner("t", k) == group)


def test_a_batch_moves_the_authority_only_after_the_target_holds_the_data():
    source, target = KVState(group="g0"), KVState(group="g3")
    key, stay = moving_key(), staying_key()
    apply(source, "put", "t", key, "v1")
    apply(source, "put", "t", stay, "s1")
    for state in (source, target):
        assert apply(state, "rebalance_begin", PLAN)["ok"]
    assert apply(source, "rebalance_planned", 2, 1)
    assert source.leaving(source.mig) == [("t", key)]
    # before the fence the source still serves the key; the target sends its callers to the source
    assert apply(source, "put", "t", key, "v2")["version"] > 0
    assert apply(target, "read", "t", key) == {"route": "redirect", "group": "g0"}
    name = batch_id(2, "g0", [("t", key)])
    fenced = apply(source, "rebalance_fence", 2, name, [("t", key)])
    assert fenced["items"][0][:3] == ["t", key, "v2"]
    # fenced: a write is refused (certainly not applied), the value cannot change under the copy
    assert apply(source, "put", "t", key, "v3") == {"route": "moving", "group": "g3"}
    assert apply(source, "read", "t", key)["route"] == "moving"
    assert apply(target, "rebalance_install", 2, name + ">g3#0", fenced["items"])["ok"]
    assert apply(target, "read", "t", key)["value"] == "v2"
    assert apply(target, "put", "t", key, "v4")["version"] > fenced["items"][0][3]  # versions keep rising
    # a new leader re-sends the same install: nothing is installed twice (v4 survives)
    assert apply(target, "rebalance_install", 2, name + ">g3#0", fenced["items"]).get("again")
    assert apply(target, "read", "t", key)["value"] == "v4"
    assert apply(source, "rebalance_handoff", 2, name, 1, 10)["ok"]
    assert apply(source, "read", "t", key) == {"route": "redirect", "group": "g3"}
    assert apply(source, "read", "t", stay)["value"] == "s1"  # keys that stay are untouched
    done = apply(source, "rebalance_source_finish", 2, 5.0)
    assert done["ok"] and done["report"]["moved"] == 1
    for state in (source, target):
        for group in OLD:
            apply(state, "rebalance_source_done", 2, group, {**done["report"], "ts": 5.0})
        assert state.mig["finished"] == 5.0
    assert apply(target, "read", "t", key)["value"] == "v4"
    assert apply(source, "put", "t", key, "x") == {"route": "redirect", "group": "g3"}


def test_a_key_written_after_the_scan_blocks_the_finish_until_moved():
    source = KVState(group="g0")
    apply(source, "rebalance_begin", PLAN)
    key = moving_key()
    apply(source, "put", "t", key, "late")
    assert apply(source, "rebalance_source_finish", 2, 1.0) == {"ok": False, "remaining": 1}


def test_begin_is_idempotent_and_refuses_another_plan_while_one_runs():
    state = KVState(group="g0")
    assert apply(state, "rebalance_begin", PLAN)["ok"]
    assert apply(state, "rebalance_begin", PLAN)["ok"]  # a re-send
    other = {**PLAN, "new": ["g0", "g2"], "action": "remove", "group": "g1"}
    assert apply(state, "rebalance_begin", other)["conflict"]
    assert apply(state, "rebalance_begin", {**other, "epoch": 3})["running"]


def test_a_never_rescaled_group_trusts_the_router():
    state = KVState(group="g0")
    assert apply(state, "put", "t", moving_key("g1", "g3"), "v")["version"] == 1


def test_routes_early_switch_serves_before_the_data_arrived():
    healthy, broken = KVState(group="g3"), KVState(group="g3", routes_early=True)
    key = moving_key()
    for state in (healthy, broken):
        apply(state, "rebalance_begin", PLAN)
    assert apply(healthy, "read", "t", key) == {"route": "redirect", "group": "g0"}
    assert apply(broken, "read", "t", key) is None  # "not found": a stale read of an existing key
    apply(broken, "put", "t", key, "new")  # acknowledged here, then the copy from the source overwrites it
    apply(broken, "rebalance_install", 2, "b>g3#0", [["t", key, "old", 7]])
    assert apply(broken, "read", "t", key)["value"] == "old"
