"""Outage, election, throughput, validity gate and commit-latency figures on synthetic timelines with known
answers (times in seconds from the history's origin)."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.checkers.failover import check_failover
from analysis.load import TOPOLOGY_COLUMNS, read_topology
from analysis.metrics.election import election_per_fault
from analysis.metrics.latency import write_latency_ms
from analysis.metrics.outage import outage_distribution, outage_per_fault
from analysis.metrics.prom import commit_latency_ms, histogram_quantile
from analysis.metrics.throughput import around_faults
from analysis.metrics.validity import load_gate
from analysis.thresholds import load_thresholds
from analysis.verdict import Status
from analysis.windows import from_nemesis
from tests.analysis_history import BASE_NS, BASE_WALL, History, ns

NODES = {"n0": "g0", "n1": "g0", "n2": "g0", "m0": "g1", "m1": "g1"}


def steady(history: History, group: str, start: float, stop: float, step: float, process: str) -> None:
    """Acknowledged puts on ``group`` completing at start, start + step, ... (<= stop), each 5 ms long."""
    for i, t in enumerate(np.arange(start, stop + 1e-9, step)):
        history.op(process, "put", round(t - 0.005, 6), round(t, 6), value=f"{process}-{i}", key=f"{group}k",
                   group=group, node=f"{group}-n")


def timeline() -> History:
    """g0: ok every 0.1 s until 5.0, nothing until 7.3, then every 0.1 s; g1: ok every 0.1 s throughout,
    except a gap 9.0 -> 9.9. Fault F1 kill-leader n1 (g0) at 5.05, healed by restart-node n1 ending 8.5;
    fault F2 latency on g1 at 9.02-9.03 (no heal); a failed fault at 12.0."""
    h = History()
    steady(h, "g0", 0.1, 5.0, 0.1, "a")
    steady(h, "g0", 7.3, 12.5, 0.1, "b")
    steady(h, "g1", 0.1, 9.0, 0.1, "c")
    steady(h, "g1", 9.9, 12.5, 0.1, "d")
    h.nemesis("kill-leader", 5.05, 5.06, node="n1")
    h.nemesis("restart-node", 8.0, 8.5, node="n1")
    h.nemesis("latency", 9.02, 9.03, group="g1")
    h.op("nemesis", "kill-leader", 12.0, 12.01, type="fail", key=None, tenant=None, value={"node": "m0"})
    return h


def windows_of(history: History):
    return from_nemesis(history.nemesis_ops(), NODES, history_end=float(ns(13)))


def test_fault_windows_pair_faults_with_heals():
    windows = windows_of(timeline())
    assert list(windows["fault"]) == ["kill-leader", "latency", "kill-leader"]
    first, second, failed = windows.to_dict("records")
    assert (first["node"], first["group"], first["healed_by"]) == ("n1", "g0", "restart-node")
    assert first["start_time"] == ns(5.05) and first["end_time"] == ns(8.5)
    assert first["duration_s"] == pytest.approx(3.45)
    assert second["group"] == "g1" and second["end_time"] == ns(9.03) and pd.isna(second["healed_by"])
    assert failed["applied"] is False or failed["applied"] == 0


def test_outage_per_fault_and_group_is_exact():
    h = timeline()
    outages = outage_per_fault(h.ops(), windows_of(h), ["g0", "g1"])
    by = {(r["fault_id"], r["group"]): r for r in outages.to_dict("records")}
    assert set(by) == {("F1", "g0"), ("F1", "g1"), ("F2", "g0"), ("F2", "g1")}  # the failed fault F3 is skipped
    assert by[("F1", "g0")]["outage_s"] == pytest.approx(2.3, abs=1e-9)
    assert by[("F1", "g0")]["targeted"] and not by[("F1", "g1")]["targeted"]
    assert by[("F1", "g1")]["outage_s"] == pytest.approx(0.1, abs=1e-9)
    assert by[("F2", "g1")]["outage_s"] == pytest.approx(0.9, abs=1e-9)
    assert by[("F2", "g1")]["last_ok_time"] == ns(9.0) and by[("F2", "g1")]["first_ok_time"] == ns(9.9)
    distribution = outage_distribution(outages)
    assert distribution["count"] == 2 and distribution["max_s"] == pytest.approx(2.3, abs=1e-9)
    assert distribution["min_s"] == pytest.approx(0.9, abs=1e-9)


def test_a_group_born_after_a_broad_fault_has_no_row_for_it_but_a_named_group_always_does():
    h = History()
    steady(h, "g0", 0.1, 6.0, 0.1, "a")
    steady(h, "g3", 4.0, 6.0, 0.1, "b")  # added by a scale-out at 4 s
    h.nemesis("partition-region", 2.0, 2.5, region="ap-south")  # names no group: every group's
    h.nemesis("kill-leader", 3.0, 3.01, group="g3")  # names g3 before it was seen: its row stays (thin load)
    born = {"g0": float(ns(0.1)), "g3": float(ns(4.0))}
    outages = outage_per_fault(h.ops(), windows_of(h), ["g0", "g3"], born)
    rows = {(r["fault_id"], r["group"]) for r in outages.to_dict("records")}
    assert rows == {("F1", "g0"), ("F2", "g0"), ("F2", "g3")}
    assert len(outage_per_fault(h.ops(), windows_of(h), ["g0", "g3"])) == 4  # without birth times: every row


def test_outage_without_recovery_is_reported_as_such():
    h = History()
    steady(h, "g0", 0.1, 2.0, 0.1, "a")
    h.nemesis("kill-leader", 2.05, 2.06, group="g0")
    outages = outage_per_fault(h.ops(), windows_of(h), ["g0"])
    row = outages.iloc[0]
    assert not row["recovered"] and np.isnan(row["outage_s"])
    assert outage_distribution(outages)["unrecovered"] == 1


def write_topology(path, samples):
    """samples: (seconds, {group: (leader, term)})"""
    with open(path / "topology.jsonl", "w") as out:
        for t, groups in samples:
            out.write(json.dumps({"time": ns(t), "wall": BASE_WALL + t, "groups": {
                g: {"leader": leader, "term": term, "members": {}} for g, (leader, term) in groups.items()}}) + "\n")


def test_election_time_from_topology_samples_is_exact(tmp_path):
    samples = []
    for i in range(0, 100):
        t = i / 10
        if t < 5.1:
            g0 = ("n1", 3)
        elif t < 5.7:
            g0 = (None, 4)
        else:
            g0 = ("n2", 4)
        samples.append((t, {"g0": g0, "g1": ("m0", 7)}))
    write_topology(tmp_path, samples)
    topology = read_topology(tmp_path)
    assert len(topology) == 200
    h = timeline()
    elections = election_per_fault(topology, windows_of(h))
    row = elections[(elections["fault_id"] == "F1") & (elections["group"] == "g0")].iloc[0]
    assert row["leader_before"] == "n1" and row["term_before"] == 3
    assert row["leader_after"] == "n2" and row["term_after"] == 4
    assert row["election_s"] == pytest.approx(5.7 - 5.05, abs=1e-9)
    assert row["resolution_s"] == pytest.approx(0.1, abs=1e-9)
    assert row["leader_was_target"]
    other = elections[(elections["fault_id"] == "F1") & (elections["group"] == "g1")].iloc[0]
    assert np.isnan(other["election_s"]) and not other["leader_was_target"]


def test_throughput_and_success_rate_before_during_after():
    h = timeline()
    # errors on g0 while it is down: one 503 every 0.5 s from 5.5 to 7.0 (4 errors)
    for i, t in enumerate((5.5, 6.0, 6.5, 7.0)):
        h.op(f"e{i}", "put", t - 0.01, t, value="x", key="g0k", type="fail", status=503, error="unavailable",
             group="g0")
    windows = windows_of(h)
    table = around_faults(h.ops(), windows, context_s=5.0)
    g0 = table[(table["fault_id"] == "F1") & (table["scope"] == "g0")].set_index("phase")
    # before: [0.05, 5.05): 50 oks (0.1 .. 5.0) over 5 s
    assert g0.loc["before", "ok"] == 50 and g0.loc["before", "ok_per_s"] == pytest.approx(10.0)
    # during: [5.05, 8.5): oks 7.3 .. 8.4 (12) and 4 errors
    assert g0.loc["during", "ok"] == 12 and g0.loc["during", "errors"] == 4
    assert g0.loc["during", "success_rate"] == pytest.approx(1 - 4 / 16)
    assert g0.loc["during", "duration_s"] == pytest.approx(3.45)
    # after: [8.5, 13.5): oks 8.5 .. 12.5 (41)
    assert g0.loc["after", "ok"] == 41 and g0.loc["after", "success_rate"] == 1.0


def test_minimum_load_gate_and_failover_verdict():
    thresholds = load_thresholds()
    dense = timeline()
    windows = windows_of(dense)
    gates = load_gate(dense.ops(), windows, thresholds, float(BASE_NS))
    assert gates.set_index("fault_id").loc["F1", "valid"]
    thin = History()
    steady(thin, "g0", 0.5, 5.0, 1.5, "a")   # an ok every 1.5 s: too thin to see a sub-second outage
    steady(thin, "g0", 5.5, 9.0, 1.5, "b")
    thin.nemesis("kill-leader", 5.05, 5.06, group="g0")
    thin_windows = windows_of(thin)
    gate = load_gate(thin.ops(), thin_windows, thresholds, float(BASE_NS)).iloc[0]
    assert not gate["valid"] and "ok/s" in gate["reason"]
    outages = outage_per_fault(thin.ops(), thin_windows, ["g0"])
    verdict = check_failover(outages, election_per_fault(read_topology_empty(), thin_windows),
                             load_gate(thin.ops(), thin_windows, thresholds, float(BASE_NS)), thin_windows, thresholds)
    assert verdict.status is Status.UNKNOWN and "too thin" in verdict.reason


def read_topology_empty():
    return pd.DataFrame(columns=TOPOLOGY_COLUMNS)


def test_failover_fails_when_the_outage_exceeds_the_limit(tmp_path):
    thresholds = load_thresholds()
    h = History()
    steady(h, "g0", 0.1, 5.0, 0.1, "a")
    steady(h, "g0", 11.0, 14.0, 0.1, "b")  # 6 s outage > 5 s
    h.nemesis("kill-leader", 5.05, 5.06, node="n1")
    write_topology(tmp_path, [(i / 10, {"g0": ("n1", 1) if i < 52 else ("n2", 2)}) for i in range(140)])
    windows = windows_of(h)
    outages = outage_per_fault(h.ops(), windows, ["g0"])
    elections = election_per_fault(read_topology(tmp_path), windows)
    verdict = check_failover(outages, elections, load_gate(h.ops(), windows, thresholds, float(BASE_NS)), windows,
                             thresholds)
    assert verdict.status is Status.FAIL and "outage 6.000 s" in verdict.reason
    # the same timeline with a 1 s outage passes
    h2 = History()
    steady(h2, "g0", 0.1, 5.0, 0.1, "a")
    steady(h2, "g0", 6.0, 14.0, 0.1, "b")
    h2.nemesis("kill-leader", 5.05, 5.06, node="n1")
    windows2 = windows_of(h2)
    verdict2 = check_failover(outage_per_fault(h2.ops(), windows2, ["g0"]), election_per_fault(read_topology(tmp_path), windows2),
                              load_gate(h2.ops(), windows2, thresholds, float(BASE_NS)), windows2, thresholds)
    assert verdict2.status is Status.PASS, verdict2
    assert verdict2.figures["worst_election_s"] == pytest.approx(5.2 - 5.05, abs=1e-9)


def test_histogram_quantile_matches_prometheus():
    bounds, cumulative = [0.01, 0.1, float("inf")], [50.0, 100.0, 100.0]
    assert histogram_quantile(0.5, bounds, cumulative) == pytest.approx(0.01)
    assert histogram_quantile(0.9, bounds, cumulative) == pytest.approx(0.01 + 0.09 * 40 / 50)
    assert np.isnan(histogram_quantile(0.5, bounds, [0.0, 0.0, 0.0]))


def test_commit_latency_from_metrics_text():
    def text(node, group, counts, total):
        lines = ["# HELP testbed_commit_latency_seconds Time from submitting a command to its commit, seconds",
                 "# TYPE testbed_commit_latency_seconds histogram"]
        for le, c in zip(("0.01", "0.1", "+Inf"), counts, strict=True):
            lines.append(f'testbed_commit_latency_seconds_bucket{{group="{group}",le="{le}",node="{node}",region="r"}} {c}')
        lines.append(f'testbed_commit_latency_seconds_count{{group="{group}",node="{node}",region="r"}} {counts[-1]}')
        lines.append(f'testbed_commit_latency_seconds_sum{{group="{group}",node="{node}",region="r"}} {total}')
        return "\n".join(lines) + "\n"

    table = commit_latency_ms({"n0": text("n0", "g0", (30.0, 60.0, 60.0), 1.2),
                               "n1": text("n1", "g0", (20.0, 40.0, 40.0), 0.8),
                               "m0": text("m0", "g1", (0.0, 10.0, 10.0), 0.5)}).set_index("group")
    assert table.loc["g0", "count"] == 100 and table.loc["g0", "nodes"] == 2
    assert table.loc["g0", "mean_ms"] == pytest.approx(20.0)
    assert table.loc["g0", "p50_ms"] == pytest.approx(10.0)
    assert table.loc["g1", "p50_ms"] == pytest.approx((0.01 + 0.09 * 0.5) * 1000)
    assert table.loc["all", "count"] == 110


def test_acknowledged_write_latency_percentiles():
    h = History()
    for i in range(100):  # latencies 1..100 ms on g0
        h.op(f"p{i}", "put", i, i + (i + 1) / 1000, value=str(i), group="g0")
    h.op("q", "put", 0, 0.5, value="slow", type="fail", status=503, group="g0")  # failures do not count
    table = write_latency_ms(h.ops()).set_index("group")
    assert table.loc["g0", "count"] == 100
    assert table.loc["g0", "max_ms"] == pytest.approx(100.0)
    assert table.loc["g0", "p50_ms"] == pytest.approx(50.5)


def test_an_operation_in_flight_at_the_fault_does_not_end_the_outage():
    h = History()
    steady(h, "g0", 0.1, 5.0, 0.1, "a")
    h.op("slow", "put", 4.9, 5.08, value="late", key="g0k", group="g0")  # committed before, acknowledged after
    steady(h, "g0", 6.0, 8.0, 0.1, "b")
    h.nemesis("kill-leader", 5.05, 5.06, node="n1")
    row = outage_per_fault(h.ops(), windows_of(h), ["g0"]).iloc[0]
    assert row["outage_s"] == pytest.approx(1.0, abs=1e-9)


def test_fault_starts_at_the_injection_time_the_action_reports_and_probes_are_skipped():
    h = History()
    h.op("nemesis", "kill-leader", 5.0, 5.2, key=None, tenant=None, value={"phase": "method", "arguments": {}},
         out={"node": "n1", "group": "g0", "injected_ns": ns(5.1)})
    h.op("nemesis", "new-leader-elected", 5.3, 5.9, key=None, tenant=None, value={"activity": "probe"})
    h.op("nemesis", "start-stopped-nodes", 8.0, 8.5, key=None, tenant=None, value={"phase": "method"},
         out={"started": ["n1"], "heal": True})
    windows = windows_of(h)
    assert len(windows) == 1
    window = windows.iloc[0]
    assert window["start_time"] == ns(5.1) and window["start_wall"] == pytest.approx(BASE_WALL + 5.1)
    assert window["end_time"] == ns(8.5) and window["healed_by"] == "start-stopped-nodes"


def test_failover_judges_the_election_with_its_sample_uncertainty(tmp_path):
    """A sample stamped at its observation's midpoint: over the limit only within its half width is UNKNOWN,
    over it at the midpoint is FAIL (hole 8: the stamp must not make elections look faster)."""
    thresholds = load_thresholds()
    h = History()
    steady(h, "g0", 0.1, 5.0, 0.1, "a")
    steady(h, "g0", 6.0, 14.0, 0.1, "b")
    h.nemesis("kill-leader", 5.05, 5.06, node="n1")
    write_topology(tmp_path, [(i / 10, {"g0": ("n1", 1) if i < 52 else ("n2", 2)}) for i in range(140)])
    windows = windows_of(h)
    outages = outage_per_fault(h.ops(), windows, ["g0"])
    gates = load_gate(h.ops(), windows, thresholds, float(BASE_NS))
    limit = float(thresholds["failover"]["election_max_s"])

    def judged(election_s, uncertainty_s):
        elections = election_per_fault(read_topology(tmp_path), windows)
        elections["election_s"] = election_s
        elections["election_uncertainty_s"] = uncertainty_s
        elections["election_upper_s"] = election_s + uncertainty_s
        return check_failover(outages, elections, gates, windows, thresholds)

    assert judged(limit - 1.0, 0.3).status is Status.PASS
    unsure = judged(limit - 0.2, 0.5)
    assert unsure.status is Status.UNKNOWN and "uncertainty" in unsure.reason
    assert judged(limit + 0.2, 0.5).status is Status.FAIL
