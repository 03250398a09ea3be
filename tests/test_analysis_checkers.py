"""No-lost-write, placement, tenant isolation, log scan, client errors and chaos-journal checkers, each
shown to PASS on a good history and FAIL on a bad one."""

import json

import pandas as pd
import pytest

from analysis.checkers.client_errors import check_client_errors
from analysis.checkers.experiments import check_experiments
from analysis.checkers.isolation import check_isolation
from analysis.checkers.logscan import check_logs
from analysis.checkers.lost_writes import check_lost_writes
from analysis.checkers.placement import check_placement
from analysis.load import read_logs
from analysis.owners import owner_groups, ring_from
from analysis.thresholds import load_thresholds
from analysis.verdict import Status, Verdict
from analysis.windows import from_nemesis
from tests.analysis_history import BASE_WALL, History
from tier7.ring import HarnessRing

RING = {"epoch": 1, "hash": "sha256-64be", "vnodes": 16, "groups": ["g0", "g1", "g2"]}


# -- verdict type --

def test_verdict_needs_a_reason_unless_pass():
    with pytest.raises(ValueError):
        Verdict("x", Status.UNKNOWN)
    assert Verdict.from_dict(Verdict("x", Status.FAIL, "why", [{"a": 1}], {"n": 2}).to_dict()).reason == "why"


# -- no lost acknowledged write --

def test_every_acknowledged_write_read_back_or_overwritten_passes():
    h = (History().put("a", "1", 0, 1).put("b", "2", 2, 3).put("c", "3", 2.5, 3.5)  # 2 and 3 concurrent
         .get("r", "2", 10, 11))
    assert check_lost_writes(h.ops()).status is Status.PASS


def test_a_lost_acknowledged_write_is_found():
    h = History().put("a", "1", 0, 1).put("b", "2", 2, 3).get("r", "1", 10, 11)
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.FAIL
    lost = verdict.evidence[0]
    assert lost["lost_write"]["value_in"] == "2" and lost["final_read"]["value_out"] == "1"


def test_an_acknowledged_write_read_back_as_absent_is_lost():
    h = History().put("a", "1", 0, 1).get("r", None, 10, 11)
    assert check_lost_writes(h.ops()).status is Status.FAIL


def test_info_write_may_explain_an_overwrite_both_ways():
    # an info write concurrent-or-later may have overwritten the acknowledged one...
    h = History().put("a", "1", 0, 1).put("b", "2", 2, None, type="info").get("r", "2", 10, 11)
    assert check_lost_writes(h.ops()).status is Status.PASS
    # ...but a failed one did not
    h = History().put("a", "1", 0, 1).put("b", "2", 2, 3, type="fail", status=503).get("r", None, 10, 11)
    assert check_lost_writes(h.ops()).status is Status.FAIL


def test_a_timed_out_write_may_land_after_later_acknowledged_writes():
    """Seen on a healthy testbed under load: a put whose client gave up after 5 s (info, with a completion
    time) was applied 2 s later, after two acknowledged puts; the final read shows it. Not a loss."""
    h = History().put("a", "80", 0, 5, type="info", error="TimeoutError").put("b", "81", 5, 5.2)
    h.put("c", "116", 6, 6.3).get("r", "80", 10, 11)
    assert check_lost_writes(h.ops()).status is Status.PASS
    # the same final read without the timed-out write: the last acknowledged value is lost
    lost = History().put("b", "81", 5, 5.2).put("c", "116", 6, 6.3).get("r", "80", 10, 11)
    verdict = check_lost_writes(lost.ops())
    assert verdict.status is Status.FAIL and verdict.evidence[0]["value"] == "116"
    # and a write that failed for certain (its completion is real) explains nothing
    failed = History().put("a", "80", 0, 5, type="fail", status=503).put("c", "116", 6, 6.3).get("r", "80", 10, 11)
    assert check_lost_writes(failed.ops()).status is Status.FAIL


def test_cas_and_delete_count_as_writes():
    h = History().put("a", "1", 0, 1).cas("b", "1", "2", 2, 3).op("c", "delete", 4, 5).get("r", None, 10, 11)
    assert check_lost_writes(h.ops()).status is Status.PASS
    h = History().put("a", "1", 0, 1).cas("b", "1", "2", 2, 3).get("r", "1", 10, 11)
    assert check_lost_writes(h.ops()).status is Status.FAIL


def test_no_final_read_is_unknown_not_pass():
    verdict = check_lost_writes(History().put("a", "1", 0, 1).ops())
    assert verdict.status is Status.UNKNOWN and "never read back" in verdict.reason


def test_write_after_the_final_read_is_not_covered():
    h = History().put("a", "1", 0, 1).get("r", "1", 2, 3).put("b", "2", 4, 5)
    assert check_lost_writes(h.ops()).status is Status.UNKNOWN


# -- placement --

def placed(history: History):
    ops = history.ops()
    ops["owner"] = owner_groups(ops, ring_from(RING))
    return ops


def test_keys_in_their_ring_group_pass_and_a_misplaced_key_is_found():
    ring = HarnessRing.from_contract(RING)
    keys = [f"k{i}" for i in range(30)]
    good = History()
    for i, key in enumerate(keys):
        good.put(f"p{i}", "v", i, i + 0.5, key=key, group=ring.group_for("t", key))
    verdict = check_placement(placed(good), RING)
    assert verdict.status is Status.PASS and verdict.figures["keys"] == 30
    bad = History()
    for i, key in enumerate(keys):
        group = ring.group_for("t", key)
        if key == "k7":
            group = {"g0": "g1", "g1": "g2", "g2": "g0"}[group]
        bad.put(f"p{i}", "v", i, i + 0.5, key=key, group=group)
    verdict = check_placement(placed(bad), RING)
    assert verdict.status is Status.FAIL
    assert [e["key"] for e in verdict.evidence] == ["k7"]
    assert verdict.evidence[0]["expected_group"] == ring.group_for("t", "k7")


def test_placement_without_ring_is_not_applicable():
    assert check_placement(placed(History().put("a", "1", 0, 1, group="g0")), None).status is Status.NOT_APPLICABLE


# -- tenant isolation --

def isolated_history() -> History:
    h = History()
    h.put("a", "a-secret", 0, 1, tenant="ta", key="k").put("b", "b-secret", 0, 1, tenant="tb", key="k")
    h.get("a", "a-secret", 2, 3, tenant="ta", key="k").get("b", "b-secret", 2, 3, tenant="tb", key="k")
    h.get("b", None, 4, 5, tenant="ta", key="k", type="fail", status=403, error="forbidden", cross_tenant=True)
    return h


def test_isolated_tenants_pass():
    verdict = check_isolation(isolated_history().ops())
    assert verdict.status is Status.PASS, verdict
    assert verdict.figures["refused"] == 1


def test_cross_tenant_attempt_accepted_is_a_leak():
    h = isolated_history().get("b", "a-secret", 6, 7, tenant="ta", key="k", cross_tenant=True)
    verdict = check_isolation(h.ops())
    assert verdict.status is Status.FAIL and verdict.figures["leaked"] == 1


def test_tenant_reading_another_tenants_value_is_a_leak():
    h = isolated_history().get("b", "a-secret", 6, 7, tenant="tb", key="k")
    verdict = check_isolation(h.ops())
    assert verdict.status is Status.FAIL
    assert any(e.get("writer_tenant") == "ta" for e in verdict.evidence), verdict.evidence


def test_isolation_without_probes_is_unknown():
    h = History().put("a", "1", 0, 1, tenant="ta").put("b", "2", 0, 1, tenant="tb").get("a", "1", 2, 3, tenant="ta")
    assert check_isolation(h.ops()).status is Status.UNKNOWN


def test_inconclusive_probe_is_unknown():
    h = isolated_history().get("b", None, 6, 7, tenant="ta", key="k", type="info", cross_tenant=True)
    assert check_isolation(h.ops()).status is Status.UNKNOWN


def test_a_probe_that_never_reached_the_target_is_counted_apart_and_leaves_the_verdict_to_the_others():
    h = isolated_history().get("b", None, 6, 7, tenant="ta", key="k", type="info", error="cancelled",
                               cross_tenant=True)
    h.get("b", None, 6, 7, tenant="ta", key="k", type="fail", error="ConnectionRefusedError", cross_tenant=True)
    verdict = check_isolation(h.ops())
    assert verdict.status is Status.PASS, verdict
    assert verdict.figures["undelivered_probes"] == 2 and verdict.figures["inconclusive_probes"] == 0
    answered_500 = isolated_history().get("b", None, 6, 7, tenant="ta", key="k", type="fail", status=500,
                                          error="http_500", cross_tenant=True)
    assert check_isolation(answered_500.ops()).status is Status.UNKNOWN  # answered, but not refused
    only_cancelled = History().put("a", "1", 0, 1, tenant="ta", key="k").get("a", "1", 2, 3, tenant="ta", key="k")
    only_cancelled.get("b", None, 4, 5, tenant="ta", key="k", type="info", error="cancelled", cross_tenant=True)
    assert check_isolation(only_cancelled.ops()).status is Status.UNKNOWN  # no probe answered: no evidence
    leaky = h.get("b", "a-secret", 8, 9, tenant="ta", key="k", cross_tenant=True)
    assert check_isolation(leaky.ops()).status is Status.FAIL


def test_a_probe_lost_to_a_fault_is_counted_but_one_lost_outside_the_faults_is_unknown():
    lost_in_fault = isolated_history().get("b", None, 6, 7, tenant="ta", key="k", type="info",
                                           error="ConnectionResetError", cross_tenant=True)
    verdict = check_isolation(lost_in_fault.ops(), windows(), 1.0)
    assert verdict.status is Status.PASS, verdict
    assert verdict.figures["inconclusive_in_faults"] == 1 and verdict.figures["inconclusive_probes"] == 0
    lost_outside = isolated_history().get("b", None, 20, 21, tenant="ta", key="k", type="info",
                                          error="ConnectionResetError", cross_tenant=True)
    assert check_isolation(lost_outside.ops(), windows(), 1.0).status is Status.UNKNOWN
    leak_in_fault = lost_in_fault.get("b", "a-secret", 6, 7, tenant="ta", key="k", cross_tenant=True)
    assert check_isolation(leak_in_fault.ops(), windows(), 1.0).status is Status.FAIL  # a leak is a leak, always


# -- log scan --

def write_logs(tmp_path, lines):
    (tmp_path / "logs").mkdir(exist_ok=True)
    with open(tmp_path / "logs" / "n1.log", "w") as out:
        for t, level in lines:
            out.write(json.dumps({"ts": BASE_WALL + t, "level": level, "node": "n1", "event": "e", "msg": "m"}) + "\n")
        out.write("not json\n")
    return read_logs(tmp_path)


def windows():
    h = History().nemesis("kill-leader", 5.0, 5.1, node="n1").nemesis("restart-node", 8.0, 8.5, node="n1")
    return from_nemesis(h.nemesis_ops(), {"n1": "g0"})


def test_errors_inside_fault_windows_are_attributed_and_pass(tmp_path):
    logs, unparsed = write_logs(tmp_path, [(1, "INFO"), (6, "ERROR"), (17, "ERROR"), (20, "WARNING")])
    assert unparsed == 1
    verdict = check_logs(logs, windows(), grace_s=10.0)
    assert verdict.status is Status.PASS
    assert verdict.evidence[0]["fault_id"] == "F1" and verdict.evidence[0]["count"] == 2


def test_error_outside_windows_and_critical_anywhere_fail(tmp_path):
    logs, _ = write_logs(tmp_path, [(1, "ERROR")])
    verdict = check_logs(logs, windows(), grace_s=10.0)
    assert verdict.status is Status.FAIL and verdict.figures["errors_outside_faults"] == 1
    logs, _ = write_logs(tmp_path, [(6, "CRITICAL")])
    verdict = check_logs(logs, windows(), grace_s=10.0)
    assert verdict.status is Status.FAIL and verdict.figures["critical"] == 1


def test_no_logs_is_unknown(tmp_path):
    logs, _ = read_logs(tmp_path)
    assert check_logs(logs, windows(), 10.0).status is Status.UNKNOWN


# -- client errors --

def busy_history() -> History:
    h = History()
    for i in range(200):
        h.put(f"p{i % 5}", str(i), i * 0.05, i * 0.05 + 0.01, group="g0")
    return h


def test_clean_client_run_passes():
    thresholds = load_thresholds()
    verdict = check_client_errors(busy_history().ops(), windows(), thresholds)
    assert verdict.status is Status.PASS, verdict


@pytest.mark.parametrize("bad, why", [
    ({"type": "fail", "error": "KeyError"}, "unhandled"),
    ({"type": "fail", "status": 500, "error": "internal"}, "500"),
])
def test_unhandled_exceptions_and_500s_fail(bad, why):
    h = busy_history()
    h.op("z", "put", 1.0, 1.01, value="x", **bad)
    verdict = check_client_errors(h.ops(), windows(), load_thresholds())
    assert verdict.status is Status.FAIL and why in verdict.reason


def test_error_rate_outside_faults_fails_but_inside_is_tolerated():
    thresholds = load_thresholds()
    inside = busy_history()
    for i in range(20):  # timeouts while the fault window (5.0 - 8.5) is open
        inside.op(f"t{i}", "put", 6 + i * 0.01, 6.5 + i * 0.01, value="x", type="info", error="TimeoutError")
    assert check_client_errors(inside.ops(), windows(), thresholds).status is Status.PASS
    outside = busy_history()
    for i in range(20):
        outside.op(f"t{i}", "put", 1 + i * 0.01, 1.5 + i * 0.01, value="x", type="info", error="TimeoutError")
    verdict = check_client_errors(outside.ops(), windows(), thresholds)
    assert verdict.status is Status.FAIL and "error rate" in verdict.reason


def test_locust_exceptions_fail():
    exceptions = pd.DataFrame([{"Count": 3, "Message": "boom", "Traceback": "...", "Nodes": "w0"}])
    verdict = check_client_errors(busy_history().ops(), windows(), load_thresholds(), exceptions)
    assert verdict.status is Status.FAIL


# -- chaos journals --

def journal(status="completed", before=True, after=True):
    return {"status": status, "deviated": False, "experiment": {"title": "kill"},
            "steady_states": {"before": {"steady_state_met": before}, "after": {"steady_state_met": after}},
            "run": [], "rollbacks": []}


def test_experiments_pass_and_fail():
    assert check_experiments({}).status is Status.NOT_APPLICABLE
    assert check_experiments({"kill": journal()}).status is Status.PASS
    assert check_experiments({"kill": journal(before=False)}).status is Status.FAIL
    assert check_experiments({"kill": journal(status="failed")}).status is Status.FAIL


def test_events_without_op_numbers_pair_by_order():
    from analysis.ops import client_operations

    h = History().put("a", "1", 0, 1).put("a", "2", 2, 3).get("b", "2", 1.5, 4)
    frame = h.frame().drop(columns=["op"])
    ops = client_operations(frame)
    assert list(zip(ops["process"], ops["f"], ops["type"], ops["value_out"], strict=True)) == [
        ("a", "put", "ok", "1"), ("b", "get", "ok", "2"), ("a", "put", "ok", "2")]
    assert ops["latency_s"].tolist() == pytest.approx([1.0, 2.5, 1.0])
