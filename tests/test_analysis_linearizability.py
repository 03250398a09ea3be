"""Linearizability checker on hand-written register histories, both ways, and against a brute-force oracle."""

import itertools
import random

import pytest

from analysis.checkers.linearizability import check_linearizability
from analysis.checkers.register import CAS, READ, WRITE, KeyHistory
from analysis.checkers.wgl import ILLEGAL, OK, check_register
from analysis.verdict import Status
from tests.analysis_history import History


def verdict(history: History, **kw):
    return check_linearizability(history.ops(), **kw)


# -- classic linearizable histories --

@pytest.mark.parametrize("name, history", [
    ("sequential write then read", History().put("a", "1", 0, 1).get("b", "1", 2, 3)),
    ("read concurrent with a write may see the old value", History().put("a", "1", 0, 1)
     .put("a", "2", 2, 10).get("b", "1", 3, 4)),
    ("read concurrent with a write may see the new value", History().put("a", "2", 0, 10).get("b", "2", 1, 2)),
    ("absent before any write", History().get("b", None, 0, 1).put("a", "1", 2, 3).get("b", "1", 4, 5)),
    ("two concurrent writes, reads agree on one order", History().put("a", "1", 0, 10).put("b", "2", 0, 10)
     .get("c", "1", 11, 12).get("d", "1", 13, 14)),
    ("cas success and failure", History().put("a", "1", 0, 1).cas("b", "1", "2", 2, 3)
     .cas("c", "1", "3", 4, 5, type="fail", status=409, error="cas_mismatch").get("d", "2", 6, 7)),
    ("cas only-if-absent", History().cas("a", None, "1", 0, 1).get("b", "1", 2, 3)),
    ("delete is a write of absent", History().put("a", "1", 0, 1).op("a", "delete", 2, 3).get("b", None, 4, 5)),
    ("404 get is a read of absent", History().get("b", None, 0, 1, type="fail", status=404, error="not_found")),
    ("failed write never took effect", History().put("a", "1", 0, 1).put("b", "2", 2, 3, type="fail", status=503)
     .get("c", "1", 4, 5)),
])
def test_linearizable_histories_pass(name, history):
    result = verdict(history)
    assert result.status is Status.PASS, (name, result)


# -- classic non-linearizable histories --

@pytest.mark.parametrize("name, history", [
    ("stale read after an acknowledged write", History().put("a", "1", 0, 1).put("a", "2", 2, 3)
     .get("b", "1", 4, 5)),
    ("two reads see concurrent writes in opposite orders", History().put("a", "1", 0, 10).put("b", "2", 0, 10)
     .get("c", "1", 11, 12).get("c", "2", 13, 14).get("d", "1", 15, 16)),
    ("read of a value never written", History().put("a", "1", 0, 1).get("b", "9", 2, 3)),
    ("read of absent after an acknowledged write", History().put("a", "1", 0, 1).get("b", None, 2, 3)),
    ("cas succeeded on a value the register did not hold", History().put("a", "1", 0, 1).put("a", "2", 2, 3)
     .cas("b", "1", "3", 4, 5)),
    ("a read that goes back in time", History().put("a", "1", 0, 1).put("a", "2", 2, 10).get("b", "2", 3, 4)
     .get("c", "1", 5, 6)),
    # the generator's other operations (issue 9): delete, write-once put, empty value, wide key shapes
    ("read of the old value after an acknowledged delete", History().put("a", "1", 0, 1).op("a", "delete", 2, 3)
     .get("b", "1", 4, 5)),
    ("delete that did not take: cas only-if-absent then fails", History().put("a", "1", 0, 1)
     .op("a", "delete", 2, 3).cas("b", None, "2", 4, 5, type="fail", status=409, error="cas_mismatch")
     .cas("c", "1", "3", 6, 7)),
    ("info delete cannot explain a read of absent before it was invoked", History().put("a", "1", 0, 1)
     .get("b", None, 2, 3).op("c", "delete", 4, type="info")),
    ("write-once value read as absent after its acknowledgement", History().put("a", "v", 0, 1, once=True)
     .get("b", "v", 2, 3).get("c", None, 4, 5)),
    ("empty value read as absent", History().put("a", "", 0, 1).get("b", None, 2, 3)),
    ("stale linearizable read on a hot key entered at another node", History().put("a", "1", 0, 1, region="eu")
     .put("a", "2", 2, 3, region="eu").get("b", "1", 4, 5, region="ap")),
])
def test_non_linearizable_histories_fail(name, history):
    result = verdict(history)
    assert result.status is Status.FAIL, (name, result)
    evidence = result.evidence[0]
    assert evidence["key"] == "x" and evidence["operation"]["process"], evidence


@pytest.mark.parametrize("key", ["a/b/", "100%2F%25", " sp ace ", "é中😀e\u0301", "שלום\u202e", "nul\u0000", "."])
def test_wide_key_shapes_are_separate_registers(key):
    """A stale read on any key shape fails; the same ops on two keys that differ only in shape pass."""
    stale = History().put("a", "1", 0, 1, key=key).put("a", "2", 2, 3, key=key).get("b", "1", 4, 5, key=key)
    assert verdict(stale).status is Status.FAIL
    split = History().put("a", "1", 0, 1, key=key).put("a", "2", 2, 3, key=key + "x").get("b", "1", 4, 5, key=key)
    assert verdict(split).status is Status.PASS


def test_a_stale_local_read_passes_the_same_read_linearizable_fails():
    base = History().put("a", "1", 0, 1).put("a", "2", 2, 3)
    assert verdict(base.get("b", "1", 4, 5, consistency="local")).status is Status.PASS
    base = History().put("a", "1", 0, 1).put("a", "2", 2, 3)
    assert verdict(base.get("b", "1", 4, 5)).status is Status.FAIL


def test_stale_read_evidence_names_the_read_and_the_state():
    result = verdict(History().put("a", "1", 0, 1).put("a", "2", 2, 3).get("b", "1", 4, 5))
    evidence = result.evidence[0]
    assert evidence["operation"]["f"] == "get" and evidence["operation"]["value_out"] == "1"
    assert evidence["register_value_before"] == "2"


# -- info operations (unknown outcome) both ways --

def test_info_write_that_applied_explains_a_later_read():
    history = History().put("a", "1", 0, 1).put("b", "2", 2, None, type="info").get("c", "2", 10, 11)
    assert verdict(history).status is Status.PASS


def test_info_write_that_did_not_apply_is_fine_too():
    history = History().put("a", "1", 0, 1).put("b", "2", 2, 3, type="info", error="timeout").get("c", "1", 10, 11)
    assert verdict(history).status is Status.PASS


def test_info_write_applies_once_not_twice():
    # The info write may apply at any time after its invoke, but only once: 1 -> 2 -> 1 -> 2 is impossible.
    history = (History().put("a", "1", 0, 1).put("b", "2", 2, None, type="info").get("c", "2", 3, 4)
               .put("a", "1", 5, 6).get("c", "2", 7, 8))
    assert verdict(history).status is Status.FAIL


def test_info_write_cannot_apply_before_its_invoke():
    history = History().put("a", "1", 0, 1).get("c", "2", 2, 3).put("b", "2", 4, None, type="info")
    assert verdict(history).status is Status.FAIL


def test_info_cas_applies_only_on_match():
    ok = History().put("a", "1", 0, 1).cas("b", "1", "2", 2, None, type="info").get("c", "2", 5, 6)
    bad = History().put("a", "3", 0, 1).cas("b", "1", "2", 2, None, type="info").get("c", "2", 5, 6)
    assert verdict(ok).status is Status.PASS
    assert verdict(bad).status is Status.FAIL


def test_keys_are_partitioned_per_tenant():
    history = History().put("a", "1", 0, 1, tenant="t1").put("b", "2", 0, 1, tenant="t2") \
        .get("c", "1", 2, 3, tenant="t1").get("d", "2", 2, 3, tenant="t2")
    assert verdict(history).status is Status.PASS
    leak = History().put("a", "1", 0, 1, tenant="t1").get("d", "1", 2, 3, tenant="t2")
    assert verdict(leak).status is Status.FAIL


def test_cross_tenant_probes_and_local_reads_are_not_judged_here():
    history = History().put("a", "1", 0, 1).get("b", "zzz", 2, 3, cross_tenant=True) \
        .get("c", None, 4, 5, consistency="local")
    assert verdict(history).status is Status.PASS


def test_no_kv_operations_is_not_applicable():
    history = History().op("a", "create_tenant", 0, 1, key=None)
    assert verdict(history).status is Status.NOT_APPLICABLE


def test_budget_exhausted_is_unknown_not_pass():
    rng = random.Random(7)
    history = History()
    for i in range(60):  # 60 fully concurrent writes and reads: a large search
        start = rng.uniform(0, 1)
        if i % 2:
            history.put(f"p{i}", str(i), start, 100 + start)
        else:
            history.get(f"p{i}", str(rng.randrange(1, 60, 2)), start, 100 + start)
    result = verdict(history, time_budget_s=0.0)
    assert result.status is Status.UNKNOWN and "budget" in result.reason


# -- the search against a brute-force oracle on small random histories --

def brute_force(history: KeyHistory) -> bool:
    """Try every order of every subset of info ops plus all ok ops, respecting real time."""
    n = len(history)
    acked = [i for i in range(n) if history.complete[i] is not None]
    unknown = [i for i in range(n) if history.complete[i] is None]
    inf = float("inf")
    end = [history.complete[i] if history.complete[i] is not None else inf for i in range(n)]
    for size in range(len(unknown) + 1):
        for chosen in itertools.combinations(unknown, size):
            for order in itertools.permutations(acked + list(chosen)):
                if any(end[a] < history.invoke[b] for x, a in enumerate(order) for b in order[:x]):
                    continue
                state, legal = None, True
                for op in order:
                    k, a = history.kind[op], history.arg[op]
                    if k == READ:
                        legal = state == a
                    elif k == CAS:
                        legal = state == a
                        state = history.new[op] if legal else state
                    else:
                        state = a
                    if not legal:
                        break
                if legal:
                    return True
    return False


def random_history(rng: random.Random, size: int) -> KeyHistory:
    """A small random register history (values 1-3 and absent; ~15 % of writes with unknown outcome)."""
    values = ["1", "2", "3"]
    history = KeyHistory("t", "x", [], [], [], [], [], [])
    for i in range(size):
        start = rng.randrange(0, 100)
        end = start + rng.randrange(1, 40)
        roll = rng.random()
        info = roll >= 0.45 and rng.random() < 0.15
        history.rows.append(i)
        history.invoke.append(start)
        history.complete.append(None if info else end)
        if roll < 0.45:
            history.kind.append(READ), history.arg.append(rng.choice(values + [None])), history.new.append(None)
        elif roll < 0.8:
            history.kind.append(WRITE), history.arg.append(rng.choice(values)), history.new.append(None)
        else:
            history.kind.append(CAS), history.arg.append(rng.choice(values + [None]))
            history.new.append(rng.choice(values))
    return history


def test_search_agrees_with_brute_force_on_random_histories():
    rng = random.Random(2024)
    outcomes = {True: 0, False: 0}
    for _ in range(400):
        history = random_history(rng, rng.randint(2, 6))
        expected = brute_force(history)
        got = check_register(history, deadline=float("inf")).outcome
        assert got == (OK if expected else ILLEGAL), vars(history)
        outcomes[expected] += 1
    assert outcomes[True] > 50 and outcomes[False] > 50, outcomes


def test_simulated_concurrent_history_passes_and_a_corrupted_one_fails():
    from bench.histories import simulate
    from tests.analysis_history import History as H

    events = simulate(keys=20, clients=8, ops_per_key=60, seed=3)
    history = H()
    history.events = events
    assert check_linearizability(history.ops()).status is Status.PASS
    reads = [e for e in events if e["type"] == "ok" and e["f"] == "get" and e.get("value") is not None]
    reads[len(reads) // 2]["value"] = "corrupted"
    assert check_linearizability(history.ops()).status is Status.FAIL


def test_many_illegal_keys_all_fail_the_first_ones_described_the_rest_named():
    """A broken target can make thousands of keys illegal: every one counts and is named, the first
    DESCRIBED_KEYS with their operations (the evidence a reader needs), so analysing such a run stays fast."""
    from analysis.checkers.linearizability import DESCRIBED_KEYS

    history = History()
    for i in range(DESCRIBED_KEYS + 7):
        key = f"k{i:03d}"  # a stale read on every key, phantom reads on every fifth
        history.put(f"a{i}", "1", 0, 1, key=key).put(f"a{i}", "2", 2, 3, key=key)
        history.get(f"b{i}", "9" if i % 5 == 0 else "1", 4, 5, key=key)
    result = verdict(history)
    assert result.status is Status.FAIL
    assert result.figures["keys_illegal"] == len(result.evidence) == DESCRIBED_KEYS + 7
    assert {e["key"] for e in result.evidence} == {f"k{i:03d}" for i in range(DESCRIBED_KEYS + 7)}
    described = [e for e in result.evidence if "operation" in e]
    assert len(described) == DESCRIBED_KEYS and described == result.evidence[:DESCRIBED_KEYS]
    assert all(e["operation"]["process"].startswith("b") for e in described)
