"""The scaling criteria's judges (scale-out, scale-in, scaling-data-loss) on hand-made run folders and
histories, both ways: a healthy scale-out and scale-in PASS; a key lost or misplaced, a slow or failed
rebalance, a wrong ring, a node left answering FAIL; missing evidence is UNKNOWN / NOT RUN, a target that
cannot scale NOT APPLICABLE. (End to end against the testbed and its mutants: tests/test_scaling_e2e.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.criteria import scale_in, scale_out, scaling_data_loss
from analysis.facts import RunFacts
from analysis.verdict import Status
from tests.analysis_history import History, ns
from tier7.ring import HarnessRing

RING = {"hash": "sha256-64be", "vnodes": 16, "epoch": 1, "groups": ["g0", "g1", "g2"]}
REGIONS = ("us-east", "eu-west", "ap-south")
SEEDS, LOAD = 120, 200  # seed keys; load keys written during each operation


def nodes(groups: list[str]) -> list[dict[str, str]]:
    return [{"name": f"{g}-{r}", "group": g, "region": r, "url": "http://127.0.0.1:1"} for g in groups for r in REGIONS]


def ring(groups: list[str], epoch: int) -> dict:
    return {**RING, "groups": groups, "epoch": epoch}


def operation(action: str, group: str, before: list[str], after: list[str], epoch: int, times: tuple, prefix: str,
              **extra) -> dict:
    call, admin, finished, place, agreed, end = (ns(t) for t in times)
    return {"action": action, "group": group, "ring_before": ring(before, epoch), "ring_after": ring(after, epoch + 1),
            "nodes_before": nodes(before), "nodes_after": nodes(after), "call_time": call, "admin_time": admin,
            "expected_epoch": epoch + 1,
            "rebalance": {"outcome": "finished", "finished_time": finished, "waited_s": 1.0,
                          "statuses": [{"epoch": epoch + 1, "state": "finished", "keys_moved": 90, "keys_to_move": 90}]},
            "placement": {"process_prefix": prefix, "started_time": place, "agreed_time": agreed, "agreed": True},
            "health": {"healthy": True, "unreachable": [], "leaders": {}}, "end_time": end, **extra}


def build(tmp_path: Path, fault: str = "") -> tuple[RunFacts, SimpleNamespace]:
    """A run folder with facts/scaling.json and its history (ops frame): seeds, load during both operations,
    the placement reads on every owner member, final reads. ``fault`` breaks one thing."""
    add_times = (5, 8, 15 if fault != "slow" else 400, 25, 27, 28)
    add = operation("add", "g3", ["g0", "g1", "g2"], ["g0", "g1", "g2", "g3"], 1, add_times, "verify-scaling-place-out-")
    remove = operation("remove", "g1", ["g0", "g1", "g2", "g3"], ["g0", "g2", "g3"], 2, (30, 31, 55, 60, 62, 63),
                       "verify-scaling-place-in-", removed_nodes=[f"g1-{r}" for r in REGIONS], still_answering=[])
    if fault == "failed":
        add["rebalance"]["outcome"], add["rebalance"]["finished_time"] = "failed", None
    if fault == "wrong ring":
        add["ring_after"]["groups"] = ["g0", "g1", "g3"]
    if fault == "still answering":
        remove["still_answering"] = ["g1-us-east"]
    if fault == "unhealthy":
        remove["health"] = {"healthy": False, "unreachable": ["g2-eu-west"], "leaders": {"g2": None}}
    facts = {"started_time": ns(0.5), "operations": [add, remove]}
    h = History()
    values: dict[tuple[str, str], str] = {}
    for i in range(SEEDS):
        key = f"seed/{i}"
        h.put(f"verify-scaling-seed-{i}", f"v{i}", 1 + i / 200, 1.1 + i / 200, key=key, status=200)
        values[("t", key)] = f"v{i}"
    for name, start in (("l", 8.0), ("m", 31.0)):
        for i in range(LOAD):
            key = f"once/{name}{i}"
            t = start + i * 0.03
            h.put(f"locust-{name}{i % 8}", f"{name}{i}", t, t + 0.01, key=key, status=200, once=True, group="g0")
            values[("t", key)] = f"{name}{i}"
    for op, check_at in ((add, 25.0), (remove, 60.0)):
        after = HarnessRing.from_contract(ring(op["nodes_after"] and sorted({n["group"] for n in op["nodes_after"]}),
                                               op["expected_epoch"]))
        written = [(t, k) for (t, k), v in values.items() if not k.startswith("once/m") or check_at > 55]
        for index, (tenant, key) in enumerate(written):
            owner = after.group_for(tenant, key)
            for region in REGIONS:
                node = f"{owner}-{region}"
                value = values[(tenant, key)]
                status = 200
                if fault == "lost key" and op is remove and index == 3 and region == "ap-south":
                    value, status = None, 404
                if fault == "misplaced key" and op is add and index == 5:
                    value, status = None, 404
                served = {"node": "g0-us-east"} if fault == "forwarded" and op is add and index == 9 else {}
                h.get(f"{op['placement']['process_prefix']}{node}~0", value, check_at + index * 0.001,
                      check_at + index * 0.001 + 0.0005, key=key, consistency="local", status=status, **served)
    final = HarnessRing.from_contract(ring(["g0", "g2", "g3"], 3))
    for index, ((tenant, key), value) in enumerate(values.items()):
        read = None if fault == "lost key" and key == "seed/3" else value
        group = final.group_for(tenant, key) if not (fault == "served elsewhere" and index == 7) else "g1"
        h.get(f"verify-final-{index % 4}", read, 100 + index * 0.001, 100.0005 + index * 0.001, key=key, status=200,
              group=group)
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "facts" / "scaling.json").write_text(json.dumps(facts))
    (run / "facts" / "verify.json").write_text(json.dumps({"complete": True, "capabilities": ["scale"]}))
    return RunFacts(run), SimpleNamespace(run=SimpleNamespace(ops=h.ops()))


JUDGES = {"scale-out": scale_out.judge, "scale-in": scale_in.judge, "scaling-data-loss": scaling_data_loss.judge}


def test_a_healthy_scale_out_and_scale_in_pass(tmp_path):
    facts, analysis = build(tmp_path)
    for name, judge in JUDGES.items():
        result = judge(facts, analysis)
        assert result.status is Status.PASS, (name, result.verdict.reason)
    out = scale_out.judge(facts, analysis)
    assert "finished in 7.0 s" in out.measured and out.verdict.figures["ideal_moves"] > 0
    assert out.verdict.figures["placement"]["judged"] >= 100


@pytest.mark.parametrize("fault, failing", [
    ("misplaced key", {"scale-out", "scaling-data-loss"}),
    ("lost key", {"scale-in", "scaling-data-loss"}),
    ("slow", {"scale-out"}),
    ("failed", {"scale-out"}),
    ("wrong ring", {"scale-out"}),
    ("still answering", {"scale-in"}),
    ("unhealthy", {"scale-in"}),
    ("served elsewhere", {"scale-in"}),
    ("forwarded", {"scale-out"}),
])
def test_a_broken_scaling_fails_the_right_criteria(tmp_path, fault, failing):
    facts, analysis = build(tmp_path, fault)
    for name in failing:
        result = JUDGES[name](facts, analysis)
        assert result.status is Status.FAIL, (fault, name, result.verdict.reason)


def test_missing_evidence_is_never_pass(tmp_path):
    facts, analysis = build(tmp_path)
    empty = SimpleNamespace(run=SimpleNamespace(ops=History().op("p", "put", 0, 1).ops()))
    for judge in JUDGES.values():  # the facts say it ran, the history has none of it
        assert judge(facts, empty).status is Status.UNKNOWN
        assert judge(facts, None).status is Status.UNKNOWN  # no analysis
    (facts.run_dir / "facts" / "scaling.json").unlink()
    for judge in JUDGES.values():
        assert judge(RunFacts(facts.run_dir), analysis).status is Status.NOT_RUN


def test_a_target_that_cannot_scale_is_not_applicable(tmp_path):
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "facts" / "scaling.json").write_text(json.dumps({"not_applicable": "target 'x' cannot scale"}))
    for judge in JUDGES.values():
        assert judge(RunFacts(run), None).status is Status.NOT_APPLICABLE


def test_a_scale_in_that_never_happened_is_unknown(tmp_path):
    facts, analysis = build(tmp_path)
    data = json.loads((facts.run_dir / "facts" / "scaling.json").read_text())
    data["operations"] = data["operations"][:1]
    data["stopped_early"] = "the scale-out's rebalance ended timeout: no scale-in"
    (facts.run_dir / "facts" / "scaling.json").write_text(json.dumps(data))
    fresh = RunFacts(facts.run_dir)
    assert scale_in.judge(fresh, analysis).status is Status.UNKNOWN
    assert scaling_data_loss.judge(fresh, analysis).status is Status.UNKNOWN


def test_whole_run_placement_follows_the_ring_epochs(tmp_path):
    """analysis.scaling.owners_across_scaling: after a move finished, a key's owner is the new ring's; an
    operation served by the old owner then is misplaced (the whole-run placement check sees it)."""
    from analysis.owners import owner_groups, ring_from
    from analysis.scaling import owners_across_scaling

    facts, _ = build(tmp_path)
    data = json.loads((facts.run_dir / "facts" / "scaling.json").read_text())
    after = HarnessRing.from_contract(ring(["g0", "g1", "g2", "g3"], 2))
    before = HarnessRing.from_contract(RING)
    key = next(f"k{i}" for i in range(1000) if after.group_for("t", f"k{i}") == "g3")
    h = History()
    h.get("a", "v", 2, 2.1, key=key, group=before.group_for("t", key))    # before the move: old owner
    h.get("b", "v", 10, 10.1, key=key, group="g3")                        # during it: the new owner may serve
    h.get("c", "v", 20, 20.1, key=key, group="g3")                        # after it: the new owner
    h.get("d", "v", 21, 21.1, key=key, group=before.group_for("t", key))  # after it, the old owner: misplaced
    ops = h.ops()
    ops["owner"] = owner_groups(ops, ring_from(RING))
    owners = owners_across_scaling(ops, data).tolist()
    assert owners == [before.group_for("t", key), "g3", "g3", "g3"]


def test_the_placement_sample_puts_the_written_once_keys_first_and_moved_keys_first_within_each_part():
    from tier7.verify.scaling_steps import sample_keys

    before, after = HarnessRing.from_contract(ring(["g0", "g1", "g2"], 1)), \
        HarnessRing.from_contract(ring(["g0", "g1", "g2", "g3"], 2))
    times = {("seedt", f"s{i}"): 10 for i in range(60)} | {("load", f"k{i}"): 10 for i in range(300)}
    times[("load", "busy")] = 1_000  # written after the quiet point: never sampled
    sample = sample_keys(times, before.group_for, after.group_for, 500, 100, 7, written_once="seedt")
    keys = sample["keys"]
    assert len(keys) == 100 and ("load", "busy") not in keys
    assert [k[0] for k in keys[:60]] == ["seedt"] * 60 and sample["sampled_written_once"] == 60
    moved = [before.group_for(*k) != after.group_for(*k) for k in keys]
    assert moved[:60] == sorted(moved[:60], reverse=True) and any(moved[:60])
    assert moved[60:] == sorted(moved[60:], reverse=True)
    assert sample_keys(times, before.group_for, after.group_for, 500, 100, 7)["keys"] != keys


def test_a_timed_out_write_stays_acceptable_after_later_acknowledged_ones():
    """An info write's completion is only when the client gave up: the write may land after writes that
    were acknowledged later, so its value stays acceptable; a write that failed for certain does not."""
    from analysis.scaling import acceptable, kv_writes

    h = History().put("a", "late", 0, 5, type="info", error="TimeoutError").put("b", "acked", 6, 6.3)
    h.put("c", "refused", 0, 1, type="fail", status=503)
    values, acknowledged = acceptable(kv_writes(h.ops()))[("t", "x")]
    assert acknowledged and set(values) == {"acked", "late"}
