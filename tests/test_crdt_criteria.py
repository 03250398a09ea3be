"""The crdt and multi-region-write judges on hand-made run folders (history + facts/crdt.json), both ways:
a correct run PASSes; a lost operation, divergent replicas, a wrong merge, a register timestamp against
real-time order, writes refused on one side of the partition -> FAIL; too few writers, no partition, no
rounds -> UNKNOWN; no phase -> NOT RUN; a target without CRDTs -> NOT APPLICABLE (engine)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.criteria import crdt, multi_region_write
from analysis.facts import RunFacts
from analysis.judge import judge_run
from analysis.run import analyze
from analysis.verdict import Status

from .crdt_history import NODES, CrdtHistory, busy


def folder(tmp_path: Path, h: CrdtHistory, facts: dict[str, Any] | None, capabilities=("crdt", "network")) -> Path:
    run = tmp_path / "run"
    h.write_folder(run)
    (run / "facts").mkdir(exist_ok=True)
    record = {"chosen": ["crdt", "multi-region-write"], "ran": ["crdt"], "complete": True,
              "capabilities": list(capabilities), "target_name": "hand-made"}
    (run / "facts" / "verify.json").write_text(json.dumps(record))
    if facts is not None:
        (run / "facts" / "crdt.json").write_text(json.dumps(facts))
    return run


def judged(tmp_path: Path, h: CrdtHistory, facts: dict[str, Any] | None):
    run = folder(tmp_path, h, facts)
    analysis = analyze(run)
    run_facts = RunFacts(run)
    return crdt.judge(run_facts, analysis), multi_region_write.judge(run_facts, analysis)


def replace_final(h: CrdtHistory, key: str, crdt_type: str, value: Any, nodes: set[str] | None = None,
                  ts: Any = None) -> None:
    for e in h.events:
        if e.get("f") == "crdt_read" and e.get("key") == key and e.get("crdt") == crdt_type and e["type"] == "ok" \
                and (nodes is None or e.get("node") in nodes):
            e["value"] = value
            if ts is not None:
                e["timestamp"] = ts


def test_correct_run_passes_both(tmp_path):
    h, facts = busy()
    c, m = judged(tmp_path, h, facts)
    assert c.status is Status.PASS, c.verdict.reason
    assert m.status is Status.PASS, m.verdict.reason
    proof = c.evidence_doc and m.evidence_doc["proofs"][-1]
    assert proof["crdt"] == "register" and proof["concurrent"] and proof["regions"] == ["eu-west", "us-east"]
    assert proof["expected"]["value"] == "eu-west-2" and proof["final"]["value"] == "eu-west-2"
    sides = {s["side"]: s for s in c.verdict.figures["partition_sides"]}
    assert sides["partitioned ap-south"]["acknowledged"] > 0 and sides["other regions"]["acknowledged"] > 0


def test_lost_increment_fails(tmp_path):
    h, facts = busy()
    replace_final(h, "k0", "counter", 1)
    c, m = judged(tmp_path, h, facts)
    assert c.status is Status.FAIL and "lost" in c.verdict.reason
    assert m.status is Status.PASS  # the multi-region keys are not affected


def test_divergent_replica_fails(tmp_path):
    h, facts = busy()
    replace_final(h, "mrw-set-1", "set", ["us-east-1"], nodes={"n7"})
    c, m = judged(tmp_path, h, facts)
    assert c.status is Status.FAIL and "divergent" in c.verdict.reason
    assert m.status is Status.FAIL and "divergent" in m.verdict.reason


def test_wrong_register_winner_fails(tmp_path):
    h, facts = busy()
    replace_final(h, "mrw-register-0", "register", "us-east-0", ts=[10_000, 0, "n0"])  # the smaller timestamp
    c, m = judged(tmp_path, h, facts)
    assert m.status is Status.FAIL and c.status is Status.FAIL


def test_register_timestamp_against_real_time_fails(tmp_path):
    h, facts = busy()
    late = h.set("late", "k1", "late", 14.0, ts=[1, 0, "n8"], node="n8", region="ap-south")  # after many acks
    assert late
    c, _ = judged(tmp_path, h, facts)
    assert c.status is Status.FAIL and "real time violations" in c.verdict.reason


def test_refused_writes_on_the_partitioned_side_fail(tmp_path):
    h, facts = busy()
    for e in h.events:  # ap-south's writes during the partition were refused
        if e.get("region") == "ap-south" and e["type"] == "ok" and e.get("f", "").startswith("crdt_") \
                and e.get("f") != "crdt_read" and 3.0e9 <= e["time"] - 1_000_000_000_000 <= 6.0e9:
            e["type"] = "fail"
            e.pop("removed_tags", None)
    c, _ = judged(tmp_path, h, facts)
    assert c.status is Status.FAIL and "partitioned ap-south" in c.verdict.reason


@pytest.mark.parametrize("short", ["writers", "partition"])
def test_too_little_evidence_is_unknown(tmp_path, short):
    h, facts = busy(writers=20, per_writer=125) if short == "writers" else busy(partition=None)
    c, _ = judged(tmp_path, h, facts)
    assert c.status is Status.UNKNOWN, c.verdict.reason
    assert ("concurrent writers" if short == "writers" else "no region partition") in c.verdict.reason


def test_missing_phase_and_rounds(tmp_path):
    h, facts = busy(writers=10, per_writer=2, mrw_rounds=0)
    c, m = judged(tmp_path, h, None)
    assert c.status is Status.NOT_RUN and m.status is Status.NOT_RUN
    c, m = judged(tmp_path / "b", h, facts)
    assert m.status is Status.UNKNOWN and "no multi-region" in m.verdict.reason
    c, m = judged(tmp_path / "c", h, {"not_applicable": "target 'x' offers no CRDTs"})
    assert c.status is Status.NOT_APPLICABLE and m.status is Status.NOT_APPLICABLE


def test_engine_not_applicable_without_the_crdt_capability(tmp_path):
    h, facts = busy(writers=10, per_writer=2)
    run = folder(tmp_path, h, facts, capabilities=("kill", "network"))
    results = {r.criterion.id: r for r in judge_run(run, write_analysis=False).results}
    assert results["crdt"].status is Status.NOT_APPLICABLE and results["crdt"].missing == ["crdt"]
    assert results["multi-region-write"].status is Status.NOT_APPLICABLE


def test_nodes_fixture_has_three_regions():
    assert len({n["region"] for n in NODES}) == 3


def test_report_has_the_merge_proofs(tmp_path):
    from analysis.crdt_report import PROOFS

    h, facts = busy(writers=10, per_writer=4)
    run = folder(tmp_path, h, facts)
    (run / "metrics").mkdir()
    (run / "metrics" / "n0.prom").write_text(
        "# TYPE testbed_crdt_replication_lag_seconds histogram\n"
        'testbed_crdt_replication_lag_seconds_bucket{source_region="us-east",dest_region="eu-west",le="0.1"} 9\n'
        'testbed_crdt_replication_lag_seconds_bucket{source_region="us-east",dest_region="eu-west",le="+Inf"} 10\n'
        'testbed_crdt_replication_lag_seconds_bucket{source_region="us-east",dest_region="us-east",le="+Inf"} 10\n'
        'testbed_crdt_replication_lag_seconds_count{source_region="us-east",dest_region="eu-west"} 10\n'
        'testbed_crdt_replication_lag_seconds_sum{source_region="us-east",dest_region="eu-west"} 0.5\n')
    judgement = judge_run(run, write_analysis=False)
    metrics = judgement.sections["metrics"]
    proofs = metrics[PROOFS]
    assert len(proofs) == 9 and proofs[-1]["merge"] == "correct" and "eu-west-2" in proofs[-1]["winner (harness)"]
    lag = metrics["CRDT cross-region replication lag from the nodes' /metrics (ms)"]
    assert [(r["source_region"], r["dest_region"]) for r in lag] == [("us-east", "eu-west")]


def test_rounds_that_were_not_concurrent_do_not_count(tmp_path):
    h, facts = busy(writers=100, per_writer=25)
    for e in h.events:  # eu-west's register writes start only after us-east's were acknowledged
        if e.get("process") == "mrw-1" and e.get("f") == "crdt_set":
            e["time"] += 1_000_000_000
    _, m = judged(tmp_path, h, facts)
    assert m.status is Status.UNKNOWN and "register 0" in m.verdict.reason


@pytest.mark.parametrize("late, status", [(20.0, Status.FAIL), (None, Status.UNKNOWN)])
def test_slow_convergence(tmp_path, late, status):
    """A replica that still differed 20 s after the stop FAILs; reads so slow that the first one (already
    converged) completed after the limit cannot tell: UNKNOWN."""
    h, facts = busy()
    if late is not None:
        for e in h.events:  # n8 answered an old counter value until 35 s, then the right one at 36 s
            if e.get("f") == "crdt_read" and e.get("key") == "k0" and e.get("crdt") == "counter" and \
                    e.get("node") == "n8":
                right = e["value"]
        h.read("counter", "k0", -1, 15.0 + late, node="n8")
        h.read("counter", "k0", right, 15.0 + late + 1.0, node="n8")
    else:
        facts["writers_stopped_time"] -= 12_000_000_000  # the first final read came 12 s after the stop
    c, _ = judged(tmp_path, h, facts)
    assert c.status is status, c.verdict.reason
