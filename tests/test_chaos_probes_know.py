"""Issue 9, hole 6 and the kill that silently does nothing (hole 1), on the shared healthy cluster (nothing
here breaks it): probes fail when they cannot know, and a node fault that did not take effect fails its
action. Each test failed on the code before the fix."""

import json
import threading
import time

import pytest
from chaoslib.exceptions import ActivityFailed

from chaos import actions, probes, state
from tier7.load.workers import free_port
from tier7.targets.base import Capability
from tier7.topology import observe


def config(cluster):
    return {"tier7_testbed_dir": str(cluster.dir)}


def target_file(cluster, tmp_path, extra_nodes=()):
    nodes = [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in cluster.nodes()]
    path = tmp_path / "target.json"
    path.write_text(json.dumps({"name": "foreign", "admin_token": cluster.admin_token(),
                                "nodes": nodes + list(extra_nodes)}))
    return {"tier7_target": str(path)}


def test_new_leader_elected_fails_when_no_leader_loss_was_recorded(cluster):
    """Before: with no fault recorded it accepted the current (old) leader at once."""
    state.forget()
    started = time.monotonic()
    with pytest.raises(ActivityFailed, match="no leader loss of g0 was recorded"):
        probes.new_leader_elected("g0", within_s=5, configuration=config(cluster))
    assert time.monotonic() - started < 2.0
    with pytest.raises(ActivityFailed, match="unknown group"):
        probes.new_leader_elected("g9", within_s=1, configuration=config(cluster))


def test_new_leader_elected_never_accepts_the_lost_leader(cluster):
    """A recorded loss whose leader is still leading (the kill did nothing) is not an election."""
    view = observe(cluster.nodes()).groups["g1"]
    state.forget()
    state.record("leader-lost", "g1", {"node": view.leader, "term": view.term, "injected_ns": time.monotonic_ns()})
    try:
        with pytest.raises(ActivityFailed, match=f"no new leader in g1 within 0.5s of losing {view.leader}"):
            probes.new_leader_elected("g1", within_s=0.5, configuration=config(cluster))
    finally:
        state.forget()


class NoOpKill:
    """The cluster's own driver whose kill and pause silently do nothing (the selftest mutant's story)."""

    def __init__(self, target):
        self._target = target
        self.name, self.capabilities = target.name, target.capabilities

    def __getattr__(self, name):
        return getattr(self._target, name)

    def kill_node(self, node):
        return None

    def pause_node(self, node):
        return None


def test_a_kill_that_does_nothing_fails_its_action(cluster, monkeypatch):
    """Before: kill_leader returned success and the fault counted as applied."""
    monkeypatch.setattr(actions, "resolve", lambda configuration: NoOpKill(cluster))
    state.forget()
    leader = observe(cluster.nodes()).groups["g2"].leader
    with pytest.raises(ActivityFailed, match=f"the fault on {leader} did not take effect: .* still answers as "
                                             "leader of g2"):
        actions.kill_leader("g2", verify_s=0.5)
    with pytest.raises(ActivityFailed, match="did not take effect"):
        actions.pause_leader("g2", verify_s=0.5)
    follower = next(n.name for n in cluster.nodes() if n.group == "g2" and n.name != leader)
    with pytest.raises(ActivityFailed, match=f"the fault on {follower} did not take effect"):
        actions.kill_node(follower, verify_s=0.5)
    assert state.last("leader-lost", "g2") is None  # a fault that did not happen is not remembered
    assert observe(cluster.nodes()).healthy()


def test_no_faults_in_force_checks_a_foreign_target(cluster, tmp_path):
    """Before: any target other than the testbed had 'no fault in force', always."""
    assert probes.no_faults_in_force(configuration=target_file(cluster, tmp_path)) is True
    dead = {"name": "g0-gone", "group": "g0", "region": "us-east", "url": f"http://127.0.0.1:{free_port()}"}
    found = probes.faults_in_force(target_file(cluster, tmp_path, [dead]))
    assert found["unreachable"] == ["g0-gone"]
    assert probes.no_faults_in_force(1.0, target_file(cluster, tmp_path, [dead])) is False


def test_a_node_slow_for_a_moment_is_not_a_fault_in_force_but_one_that_stays_silent_is(cluster, tmp_path):
    """Before: one slow GET /v1/node on a starved machine (a live run, 20 s after a restart) made the
    post-method steady state fail: a false FAIL of a healthy run. Seen from outside (a target file), a
    node stopped with SIGSTOP is just silent; it answers again once resumed."""
    leader = observe(cluster.nodes()).groups["g1"].leader
    follower = next(n.name for n in cluster.nodes() if n.group == "g1" and n.name != leader)
    outside = target_file(cluster, tmp_path)
    cluster.pause_node(follower)
    resumer = threading.Timer(1.5, cluster.resume_node, (follower,))
    try:
        assert probes.no_faults_in_force(0.5, outside) is False  # silent past the wait: a fault
        started = time.monotonic()
        resumer.start()
        assert probes.no_faults_in_force(10.0, outside) is True  # silent for a moment only
        assert time.monotonic() - started < 9.0
    finally:
        resumer.cancel()
        if cluster.is_paused(follower):
            cluster.resume_node(follower)
    cluster.wait_healthy(30)


def test_no_faults_in_force_raises_when_it_cannot_know(cluster, monkeypatch):
    """A target that can have network faults but whose fault proxy cannot be read: not knowing is not 'none'."""

    class Blind(NoOpKill):
        def __init__(self, target):
            super().__init__(target)
            self.capabilities = target.capabilities | {Capability.NETWORK}

        def network(self):
            return None

    monkeypatch.setattr(probes, "resolve", lambda configuration: Blind(cluster))
    with pytest.raises(ActivityFailed, match="cannot tell whether a fault is in force"):
        probes.no_faults_in_force()
