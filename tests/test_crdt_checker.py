"""The CRDT checker on hand-written histories: healthy -> PASS; lost op, divergent replicas, wrong merge,
timestamps against real-time order, conflicting timestamps, impossible removed tags -> FAIL; missing final
reads -> UNKNOWN; no CRDT operations -> NOT APPLICABLE."""

from __future__ import annotations

from analysis.checkers.crdt import check_crdt
from analysis.verdict import Status

from .crdt_history import NODES, CrdtHistory, healthy


def verdict(h: CrdtHistory, stopped: float | None = None):
    return check_crdt(h.ops(), NODES, stopped).verdict


def kinds(v) -> set[str]:
    return set(v.figures.get("violations_by_kind", {}))


def test_healthy_history_passes() -> None:
    v = verdict(healthy())
    assert v.status is Status.PASS, v.reason
    assert v.figures["replicas"] == 9 and v.figures["keys"] == 3 and v.figures["acknowledged_writes"] == 9


def test_info_increment_may_or_may_not_count() -> None:
    h = healthy()
    h.final_round("counter", "c", 10, 6.0)  # the unknown +7 took effect after all: still correct
    assert verdict(h).status is Status.PASS
    h.final_round("counter", "c", 11, 7.0)
    v = verdict(h)
    assert v.status is Status.FAIL and kinds(v) == {"wrong_merge"}


def test_lost_increment_fails() -> None:
    h = healthy()
    h.final_round("counter", "c", -2, 6.0)  # the acknowledged +5 is missing everywhere
    v = verdict(h)
    assert v.status is Status.FAIL and "lost" in kinds(v)


def test_divergent_replicas_fail() -> None:
    h = healthy()
    h.final_round("counter", "c", 3, 6.0, n4=10)  # n4 counts the unknown increment, the others do not
    v = verdict(h)
    assert v.status is Status.FAIL and "divergent" in kinds(v)


def test_set_add_wins_and_lost_add_fails() -> None:
    h = healthy()
    h.final_round("set", "s", [], 6.0)  # the concurrent add from eu-west must win over the remove
    v = verdict(h)
    assert v.status is Status.FAIL and "lost" in kinds(v)


def test_set_resurrected_element_fails() -> None:
    h = healthy()
    h.final_round("set", "s", ["x", "y"], 6.0)  # y's only add was removed by an acknowledged remove
    v = verdict(h)
    assert v.status is Status.FAIL and kinds(v) == {"wrong_merge"}


def test_unknown_remove_makes_an_element_optional() -> None:
    h = CrdtHistory()
    h.add("u1", "s", "x", 1.0)
    h.remove("u2", "s", "x", 1.1, type="info")
    h.final_round("set", "s", [], 5.0)
    assert verdict(h).status is Status.PASS
    h.final_round("set", "s", ["x"], 6.0)
    assert verdict(h).status is Status.PASS


def test_impossible_removed_tags_fail() -> None:
    h = CrdtHistory()
    h.add("u1", "s", "x", 1.0)
    h.remove("u2", "s", "x", 1.1, tags=["nobody-1"])
    h.remove("u2", "s", "x", 1.2, tags=["u3-1"])  # an add invoked after this remove completed
    h.add("u3", "s", "x", 2.0)
    h.final_round("set", "s", ["x"], 5.0)
    v = verdict(h)
    assert v.status is Status.FAIL and kinds(v) == {"impossible_removed_tags"}
    assert v.figures["violations_by_kind"]["impossible_removed_tags"] == 2


def test_register_wrong_winner_fails() -> None:
    h = healthy()
    h.final_round("register", "r", "east", 6.0, ts=[1000, 0, "n0"])  # older timestamp wins: west is lost
    v = verdict(h)
    assert v.status is Status.FAIL and "lost" in kinds(v)


def test_register_timestamp_against_real_time_order_fails() -> None:
    h = CrdtHistory()
    h.set("u1", "r", "first", 1.0, end=1.1, ts=[2000, 0, "n0"])
    h.set("u2", "r", "second", 1.5, ts=[1500, 0, "n3"], node="n3", region="eu-west")  # invoked after first's ack
    h.final_round("register", "r", "first", 5.0, ts=[2000, 0, "n0"])
    v = verdict(h)
    assert v.status is Status.FAIL and kinds(v) == {"real_time_violations"}
    assert v.evidence[0]["invoked_after"] == "u1-1"


def test_concurrent_register_writes_may_order_either_way() -> None:
    h = CrdtHistory()
    h.set("u1", "r", "a", 1.0, end=1.5, ts=[2000, 0, "n0"])
    h.set("u2", "r", "b", 1.2, end=1.3, ts=[1500, 0, "n3"], node="n3")  # overlaps: no order required
    h.final_round("register", "r", "a", 5.0, ts=[2000, 0, "n0"])
    assert verdict(h).status is Status.PASS


def test_register_conflicting_timestamps_fail() -> None:
    h = CrdtHistory()
    h.set("u1", "r", "a", 1.0, ts=[1000, 0, "n0"])
    h.set("u2", "r", "b", 1.0, ts=[1000, 0, "n0"], node="n3")
    h.final_round("register", "r", "b", 5.0, ts=[1000, 0, "n0"])
    v = verdict(h)
    assert v.status is Status.FAIL and "conflicts" in kinds(v)


def test_register_unknown_write_may_win() -> None:
    h = CrdtHistory()
    h.set("u1", "r", "a", 1.0, ts=[1000, 0, "n0"])
    h.set("u2", "r", "b", 1.5, type="info")
    h.final_round("register", "r", "b", 5.0, ts=[1600, 0, "n3"])
    assert verdict(h).status is Status.PASS
    h.final_round("register", "r", "zzz", 6.0, ts=[1600, 0, "n3"])  # never written
    assert verdict(h).status is Status.FAIL


def test_missing_final_read_is_unknown() -> None:
    h = healthy()
    h.events = [e for e in h.events if not (e.get("f") == "crdt_read" and e.get("key") == "s" and
                                            e.get("process") == "final-n8")]
    v = verdict(h)
    assert v.status is Status.UNKNOWN and "final read" in v.reason


def test_no_crdt_operations_is_not_applicable() -> None:
    assert verdict(CrdtHistory()).status is Status.NOT_APPLICABLE


def test_convergence_time_is_measured_from_the_stop() -> None:
    h = CrdtHistory()
    h.inc("u1", "c", 1, 1.0)
    for node in NODES:  # n8 lags: first read 0, then 1
        late = node["name"] == "n8"
        h.read("counter", "c", 0 if late else 1, 2.0, node=node["name"])
        h.read("counter", "c", 1, 2.5, node=node["name"])
    v = verdict(h, stopped=None)
    per_region = {r["dest_region"]: r["converged_within_s"] for r in v.figures["convergence_per_region"]}
    assert v.status is Status.PASS
    assert abs(per_region["ap-south"] - 1.495) < 0.01 and per_region["us-east"] < 1.0


def test_region_pair_convergence_from_version_vectors() -> None:
    h = CrdtHistory()
    h.inc("u1", "c", 1, 1.0)
    for node in NODES:
        late = node["name"] == "n8"
        h.read("counter", "c", 0 if late else 1, 2.0, node=node["name"], vector={"n0": 0 if late else 1})
        h.read("counter", "c", 1, 3.0, node=node["name"], vector={"n0": 1})
    pairs = {(r["source_region"], r["dest_region"]): r["converged_within_s"]
             for r in verdict(h).figures["convergence_per_region_pair"]}
    assert pairs[("us-east", "ap-south")] > pairs[("us-east", "eu-west")]


def test_an_old_history_without_crdt_fields_loads() -> None:
    from analysis.ops import crdt_operations

    from .analysis_history import History

    old = History().put("w0-u1", "a", 1.0).get("w0-u1", "a", 2.0).frame()
    ops = crdt_operations(old)
    assert ops.empty and {"crdt", "op_id", "timestamp", "removed_tags"} <= set(ops.columns)
    assert check_crdt(ops, NODES).verdict.status is Status.NOT_APPLICABLE
