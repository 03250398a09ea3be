"""The scaling activities (chaos/scaling.py, exported by chaos.actions / chaos.probes) on fake drivers: they
fail with a clear ActivityFailed when the target cannot scale, when the driver's result is not what was
asked, when the rebalance fails or never finishes; they pass on a driver that did it. (The real testbed:
tests/test_scaling_e2e.py and the experiments scale-out.json, scale-in.json.)"""

from __future__ import annotations

import pytest
from chaoslib.exceptions import ActivityFailed

import chaos.actions as actions
import chaos.probes as probes
from chaos import scaling, state
from tier7.targets.base import Capability, NodeInfo

REGIONS = ("us-east", "eu-west", "ap-south")


class FakeTarget:
    """A driver that adds / removes groups in memory; ``wrong`` makes scale_out add the wrong nodes."""

    name = "fake"

    def __init__(self, can_scale: bool = True, wrong: bool = False) -> None:
        self.capabilities = frozenset({Capability.SCALE} if can_scale else set())
        self.groups = ["g0", "g1", "g2"]
        self.wrong = wrong

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo(f"{g}-{r}", g, r, "http://127.0.0.1:9") for g in self.groups for r in REGIONS]

    def scale_out(self, n: int = 3) -> str:
        self.groups.append("g3" if not self.wrong else "g3x")
        return "g3"

    def scale_in(self, group: str) -> None:
        self.groups.remove(group)

    def finish_scale_in(self, group: str, timeout: float) -> None:
        return None


@pytest.fixture
def fake(monkeypatch):
    def use(target: FakeTarget, statuses: list[dict] | None = None) -> FakeTarget:
        answers = iter(statuses or [{"epoch": 2, "state": "finished"}] * 100)
        monkeypatch.setattr(scaling, "resolve", lambda configuration=None: target)
        monkeypatch.setattr(scaling, "_status", lambda nodes: next(answers))
        monkeypatch.setattr(scaling, "_ring_groups", lambda t: list(t.groups))
        monkeypatch.setattr(scaling, "_answering", lambda nodes: [])
        monkeypatch.setattr(scaling, "POLL_S", 0.01)
        state.forget()
        return target
    return use


def test_the_activities_are_exported():
    assert {"scale_out", "scale_in"} <= set(actions.__all__)
    assert {"rebalance_finished", "rebalance_status"} <= set(probes.__all__)


def test_a_target_that_cannot_scale_fails_the_activity(fake):
    fake(FakeTarget(can_scale=False))
    with pytest.raises(ActivityFailed, match="cannot scale"):
        actions.scale_out(3)
    with pytest.raises(ActivityFailed, match="cannot scale"):
        actions.scale_in("g1")


def test_scale_out_fails_when_the_driver_added_the_wrong_nodes(fake):
    fake(FakeTarget(wrong=True))
    with pytest.raises(ActivityFailed, match="asked for 3 new nodes of one group"):
        actions.scale_out(3)


def test_scale_out_then_rebalance_finished_passes(fake):
    fake(FakeTarget(), [{"epoch": 2, "state": "running"}, {"epoch": 2, "state": "running"},
                        {"epoch": 2, "state": "finished", "keys_moved": 5}])
    out = actions.scale_out(3)
    assert out["scaled_group"] == "g3" and len(out["nodes"]) == 3 and out["epoch"] == 2
    done = probes.rebalance_finished(within_s=5)
    assert done["state"] == "finished" and done["keys_moved"] == 5


def test_rebalance_failed_or_too_slow_fails_the_probe(fake):
    fake(FakeTarget(), [{"epoch": 2, "state": "running"}, {"epoch": 2, "state": "failed"}])
    actions.scale_out(3)
    with pytest.raises(ActivityFailed, match="failed"):
        probes.rebalance_finished(within_s=5)
    fake(FakeTarget(), [{"epoch": 2, "state": "running"}] * 1000)
    actions.scale_out(3)
    with pytest.raises(ActivityFailed, match="did not finish within 0.2"):
        probes.rebalance_finished(within_s=0.2)


def test_scale_in_refuses_an_unknown_group_and_passes_on_a_real_one(fake, monkeypatch):
    target = fake(FakeTarget())
    with pytest.raises(ActivityFailed, match="unknown group 'g9'"):
        actions.scale_in("g9")
    out = actions.scale_in("", within_s=1)  # default: the ring's last group
    assert out["scaled_group"] == "g2" and "g2" not in target.groups
    monkeypatch.setattr(scaling, "_answering", lambda nodes: [n.name for n in nodes][:1])
    monkeypatch.setattr(scaling, "STOP_S", 0.05)
    with pytest.raises(ActivityFailed, match="still answer"):
        actions.scale_in("g1", within_s=1)
