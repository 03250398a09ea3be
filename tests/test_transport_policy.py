"""The adaptive transport's per-pair policy (testbed/transport_policy.py), pure logic: EWMA, hysteresis,
minimum dwell, minimum samples, the fastest-of-window RTT filter, the preset's validation, and the frozen
(TEST-ONLY ``transport_never_switches``) policy."""

from __future__ import annotations

import pytest

from testbed.transport_policy import PairPolicy, PolicyConfig, PolicyError

CONFIG = PolicyConfig(rtt_alpha=0.5, loss_alpha=0.1, rtt_up_ms=60, rtt_down_ms=35, loss_up=0.15, loss_down=0.02,
                      min_dwell_s=3.0, min_samples=4, rtt_window=1)


def feed(policy: PairPolicy, rtts: list[float | None], start: float, step: float = 0.25) -> list:
    switches = []
    for index, rtt in enumerate(rtts):
        switch = policy.observe(rtt, start + index * step)
        if switch is not None:
            switches.append((start + index * step, switch))
    return switches


def test_high_rtt_switches_up_then_low_rtt_switches_back_after_the_dwell():
    policy = PairPolicy("us-east/eu-west", CONFIG, now=0.0)
    assert feed(policy, [10.0] * 20, start=0.0) == []  # baseline: stays on h2
    up = feed(policy, [120.0] * 8, start=5.0)
    assert len(up) == 1 and up[0][1].to_protocol == "h3" and up[0][1].from_protocol == "h2"
    assert "rtt" in up[0][1].reason and up[0][1].pair == "us-east/eu-west"
    switched_at = up[0][0]
    down = feed(policy, [10.0] * 40, start=7.0)
    assert len(down) == 1 and down[0][1].to_protocol == "h2"
    assert down[0][0] - switched_at >= CONFIG.min_dwell_s  # the dwell held it on h3 first


def test_hysteresis_keeps_h3_between_the_thresholds():
    policy = PairPolicy("a/b", CONFIG, now=0.0)
    feed(policy, [120.0] * 12, start=5.0)
    assert policy.protocol == "h3"
    assert feed(policy, [45.0] * 60, start=10.0) == []  # below up (60) but above down (35): no flapping
    assert policy.protocol == "h3"


def test_no_decision_before_min_samples_or_inside_the_dwell():
    policy = PairPolicy("a/b", CONFIG, now=0.0)
    assert feed(policy, [500.0] * 3, start=10.0) == []  # 3 < min_samples
    policy = PairPolicy("a/b", CONFIG, now=0.0)
    assert feed(policy, [500.0] * 10, start=0.0, step=0.2) == []  # all inside the first 3 s (dwell from start)


def test_loss_ewma_switches_on_repeated_loss_not_on_one_lost_probe():
    policy = PairPolicy("a/b", CONFIG, now=0.0)
    feed(policy, [10.0] * 20, start=5.0)
    assert feed(policy, [None] + [10.0] * 30, start=20.0) == []  # one loss: 0.1 < 0.15
    switches = feed(policy, [None, 10.0, None, 10.0], start=40.0)
    assert [s.to_protocol for _, s in switches] == ["h3"] and "loss" in switches[0][1].reason
    assert policy.loss == pytest.approx(0.1 * 0.9 * 0.9 + 0.1, rel=0.2)


def test_rtt_window_takes_the_fastest_recent_probe():
    config = PolicyConfig(rtt_alpha=1.0, rtt_window=4, min_samples=1, min_dwell_s=0)
    policy = PairPolicy("a/b", config, now=0.0)
    for rtt in (10.0, 400.0, 12.0, 300.0):  # a busy machine delays single probes: not a slow link
        policy.observe(rtt, 1.0)
    assert policy.rtt_ms == 10.0 and policy.protocol == "h2"


def test_frozen_policy_measures_but_never_switches():
    policy = PairPolicy("a/b", CONFIG, now=0.0, frozen=True)
    assert feed(policy, [500.0] * 40, start=5.0) == []
    assert policy.protocol == "h2" and policy.rtt_ms == pytest.approx(500.0)


@pytest.mark.parametrize("section, message", [
    ({"rtt_up_ms": -1}, ">= 0"),
    ({"rtt_alpha": 0}, "(0, 1]"),
    ({"rtt_up_ms": 30, "rtt_down_ms": 40}, "hysteresis"),
    ({"loss_up": True}, ">= 0"),
])
def test_bad_preset_sections_are_refused(section, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace("]", r"\]")):
        PolicyConfig.from_preset(section)


def test_relative_thresholds_follow_each_pairs_baseline():
    """A far pair (150 ms) stays on h2 with rtt_relative; +100 ms moves it, as it moves a near one (10 ms)."""
    config = PolicyConfig(rtt_alpha=1.0, rtt_up_ms=60, rtt_down_ms=35, min_samples=1, min_dwell_s=0, rtt_window=1,
                          rtt_relative=True)
    for base in (10.0, 150.0):
        policy = PairPolicy("a/b", config, now=0.0)
        assert feed(policy, [base] * 10, start=1.0) == []
        assert [s.to_protocol for _, s in feed(policy, [base + 100] * 5, start=20.0)] == ["h3"]
        switches = [s for _, s in feed(policy, [base + 20] * 5, start=40.0)]  # under baseline + 35: back
        assert [s.to_protocol for s in switches] == ["h2"] and "baseline" in switches[0].reason
    absolute = PairPolicy("a/b", PolicyConfig(rtt_alpha=1.0, min_samples=1, min_dwell_s=0, rtt_window=1), now=0.0)
    assert [s.to_protocol for _, s in feed(absolute, [150.0] * 10, start=1.0)] == ["h3"]  # why it is relative


def test_rtt_relative_must_be_a_boolean():
    with pytest.raises(PolicyError, match="true or false"):
        PolicyConfig.from_preset({"rtt_relative": 1})
    assert PolicyConfig.from_preset({"rtt_relative": True}).rtt_relative
