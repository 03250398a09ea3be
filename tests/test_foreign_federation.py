"""etcd as three independent clusters behind the harness's own ring (issue 14): keys land on the cluster
the ring names (judged from every member's own store), a wrong placement FAILs, a leader kill in one
cluster leaves the others serving, and what etcd cannot do is NOT APPLICABLE, never PASS. One etcd setup
(3 clusters x 3 members + the fault proxy) for the whole module, stopped by PID when it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.criteria import federation as federation_judge
from analysis.facts import RunFacts
from analysis.judge import judge_run
from analysis.verdict import Status
from tier7.history import HistoryWriter
from tier7.ring import HarnessRing
from tier7.targets.capabilities import declared
from tier7.targets.etcd import EtcdTarget
from tier7.targets.foreign import MemberControl
from tier7.targets.redis_sentinel import RedisSentinelTarget
from tier7.toxiproxy import ToxiproxyClient
from tier7.verify import foreign_federation
from tier7.verify.foreign_load import fault_plan
from tier7.waiting import wait_until

from .foreign_support import need, no_leftovers, run_context

ROOT = Path(__file__).resolve().parents[1]
NEVER_ON_ETCD = ["preset", "crdt", "scale-out", "scale-in", "cloud", "multi-region-write", "sql", "tenants",
                 "scaling-data-loss", "contract"]


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdTarget]:
    need("etcd", "etcd-server")
    folder = tmp_path_factory.mktemp("etcd-fed")
    target = EtcdTarget.create(folder)
    try:
        target.start(timeout=60)
        yield target
    finally:
        EtcdTarget.open(folder).stop()  # by the PIDs on file (a test may have restarted a member)
        target.stop()
        no_leftovers(folder)


# -- without servers --


def test_etcd_declares_federation_and_redis_does_not() -> None:
    assert "federation" in declared(EtcdTarget)
    assert "federation" not in declared(RedisSentinelTarget)
    # the process control of both drivers is the one shared helper
    assert EtcdTarget.kill_node is MemberControl.kill_node is RedisSentinelTarget.kill_node


def facts_run(tmp_path: Path, target_name: str, capabilities: frozenset[str], chosen: list[str]) -> Path:
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    import tomllib

    (run / "plan.json").write_text(json.dumps(tomllib.loads((ROOT / "analysis" / "plan.toml").read_text())))
    (run / "facts" / "verify.json").write_text(json.dumps(
        {"chosen": chosen, "ran": [], "complete": True, "capabilities": sorted(capabilities),
         "target_name": target_name, "log_nodes": [], "meta": {}, "foreign": True}))
    return run


def test_what_etcd_cannot_do_is_not_applicable_never_pass(tmp_path: Path) -> None:
    chosen = [*NEVER_ON_ETCD, "multi-raft", "federation"]
    run = facts_run(tmp_path, "etcd", declared(EtcdTarget), chosen)
    results = {r.criterion.id: r for r in judge_run(run, analysis_error="hand-made", dashboard=False).results}
    for cid in NEVER_ON_ETCD:
        assert results[cid].status is Status.NOT_APPLICABLE, (cid, results[cid].status)
        assert "cannot:" in results[cid].verdict.reason
    # etcd has what they need: judged (here without evidence), not excused
    for cid in ("multi-raft", "federation"):
        assert results[cid].status not in (Status.NOT_APPLICABLE, Status.PASS), cid


def test_multi_raft_and_federation_are_not_applicable_on_one_redis_group(tmp_path: Path) -> None:
    run = facts_run(tmp_path, "redis-sentinel", declared(RedisSentinelTarget), ["multi-raft", "federation"])
    results = {r.criterion.id: r for r in judge_run(run, analysis_error="hand-made", dashboard=False).results}
    for cid in ("multi-raft", "federation"):
        assert results[cid].status is Status.NOT_APPLICABLE and "federation" in results[cid].verdict.reason


def test_the_kills_go_round_the_groups() -> None:
    plan = fault_plan({"fault": "kill-leader", "faults": 4}, ["a", "b", "c"])
    assert plan == [("kill-leader", "a"), ("kill-leader", "b"), ("kill-leader", "c"), ("kill-leader", "a")]
    mixed = fault_plan({"fault": ["kill-primary", "pause-primary"], "faults": 3}, ["r"])
    assert [f for f, _ in mixed] == ["kill-primary", "pause-primary", "kill-primary"]


# -- real etcd: 3 clusters x 3 members, peer traffic through the fault proxy --


def test_peer_traffic_crosses_the_fault_proxy(etcd: EtcdTarget) -> None:
    client = ToxiproxyClient(etcd.proxy_api(), timeout=5.0)
    try:
        links = client.proxies()
    finally:
        client.close()
    assert sorted(links) == sorted(f"peer-{m}" for m in etcd.members())
    for member in etcd.members():  # every member advertises the proxy's link, never its own peer port
        argv = etcd.procs.argv[member]
        advertised = argv[argv.index("--initial-advertise-peer-urls") + 1]
        assert advertised.endswith(links[f"peer-{member}"]["listen"].rsplit(":", 1)[1])
    assert [len(v) for v in etcd.groups().values()] == [3, 3, 3]


def federation_verdict(tmp_path: Path, etcd: EtcdTarget, seed: int, ring: HarnessRing | None) -> object:
    ctx = run_context(tmp_path / f"run-{seed}", etcd, seed=seed, federation_writes=60)
    try:
        foreign_federation.run(ctx, ring=ring)
    finally:
        ctx.history.close()
    return federation_judge.judge(RunFacts(ctx.run_dir)).verdict


def test_keys_land_on_the_cluster_the_harness_ring_names(tmp_path: Path, etcd: EtcdTarget) -> None:
    verdict = federation_verdict(tmp_path, etcd, 11, None)
    assert verdict.status is Status.PASS, verdict.reason
    assert verdict.figures["acknowledged"] == 60 and verdict.figures["misplaced"] == 0


def test_a_wrong_placement_fails_federation(tmp_path: Path, etcd: EtcdTarget) -> None:
    # the clients route by another ring (other vnode labels): keys land on real clusters, often the wrong ones
    params = etcd.ring_params()
    wrong = HarnessRing(params["groups"], int(params["vnodes"]), vnode_label="{group}/not-the-ring/{index}")
    verdict = federation_verdict(tmp_path, etcd, 12, wrong)
    assert verdict.status is Status.FAIL
    assert verdict.figures["misplaced"] > 0
    first = verdict.evidence[0]
    assert first["ring_group"] != first["acked_by_group"]


def test_a_leader_kill_in_one_cluster_leaves_the_others_serving(tmp_path: Path, etcd: EtcdTarget) -> None:
    victim_group, others = etcd.layout.clusters[0], etcd.layout.clusters[1:]
    before = etcd.observe()
    leader = before[victim_group]["leader"]
    assert leader
    keys = {g: [k for k in (f"indep-{i}" for i in range(200)) if etcd.ring.group_for(etcd.name, k) == g][:5]
            for g in others}
    history = HistoryWriter(tmp_path / "h.jsonl")
    client = etcd.kv_client(history, "indep")
    try:
        etcd.kill_node(leader)
        kinds = {g: [client.put(k, "v") for k in ks] for g, ks in keys.items()}
        during = etcd.observe()
    finally:
        client.close()
        history.close()
        etcd.start_node(leader)
    assert kinds == {g: ["ok"] * 5 for g in others}  # the other clusters acknowledged every write at once
    for group in others:  # ... and kept their leader and term
        assert (during[group]["leader"], during[group]["term"]) == (before[group]["leader"], before[group]["term"])
    assert during[victim_group]["members"][leader] == "down"
    wait_until(lambda: all(v["leader"] and "down" not in v["members"].values() for v in etcd.observe().values()),
               30, 0.2, "the killed member back")
