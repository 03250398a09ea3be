"""The transport criterion's judge (analysis/criteria/transport.py) on hand-made facts folders: the healthy
switch PASSes; a switch that never happens, is late, is missing from the logs, drops in-flight requests,
loses a write or never comes back FAILs; too little load or no injection is UNKNOWN; no phase is NOT RUN."""

from __future__ import annotations

import copy

import pytest

from analysis.criteria import transport
from analysis.verdict import Status
from tests.test_verify_criteria import make_run

S = 1_000_000_000
WALL0 = 1_800_000_000.0
PAIR = "us-east/eu-west"


def facts(switch_s: float = 1.5, back_s: float = 1.2, h3: bool = True, logs: bool = True,
          out_s: int = 12) -> dict:
    """20 s of writes every 0.1 s: injection at 4 s, removal at ``out_s``."""
    t_in, t_out = 4 * S, out_s * S
    rows = []
    for i in range(200):
        t = i * S // 10
        on_h3 = h3 and t_in + switch_s * S <= t < t_out + back_s * S
        rows.append({"t_ns": t, "wall": WALL0 + t / S, "status": 200, "transport": "h3" if on_h3 else "h2",
                     "latency_ms": 150.0 if t_in <= t < t_out else 40.0})
    switch_log = []
    if logs and h3:
        switch_log = [{"node": "g0-us-east", "region": "us-east", "ts": WALL0 + 4 + switch_s - 0.05, "pair": PAIR,
                       "from": "h2", "to": "h3", "rtt": 110.0, "loss": 0.0, "reason": "rtt"},
                      {"node": "g0-us-east", "region": "us-east", "ts": WALL0 + out_s + back_s - 0.05, "pair": PAIR,
                       "from": "h3", "to": "h2", "rtt": 20.0, "loss": 0.0, "reason": "rtt"}]
    return {"pair": PAIR, "entry": "g0-us-east", "group": "g1", "leader": "g1-eu-west", "added_rtt_ms": 100.0,
            "injected": {"t_ns": t_in, "wall": WALL0 + 4}, "removed": {"t_ns": t_out, "wall": WALL0 + out_s},
            "requests": rows, "read_back": {"acknowledged": 200, "checked": 200, "lost": []},
            "switch_log": switch_log}


def judge(tmp_path, data: dict | None):
    return transport.judge(make_run(tmp_path, {"transport": data} if data is not None else {}))


def test_healthy_switch_and_back_passes(tmp_path):
    result = judge(tmp_path, facts())
    assert result.status is Status.PASS, result.verdict.reason
    assert result.verdict.figures["switch_s"] == pytest.approx(1.5, abs=0.11)
    assert result.verdict.figures["h3_share_after_switch"] == 1.0
    assert result.evidence_doc["timeline"]


def _dropped_inflight(data: dict) -> dict:
    first_h3 = next(r for r in data["requests"] if r["transport"] == "h3")
    for row in data["requests"]:
        if abs(row["t_ns"] - first_h3["t_ns"]) <= S // 5 and row is not first_h3:
            row.update(status=None, transport=None, error="ReadError")
    return data


def _dropped_at_the_logged_switch(data: dict) -> dict:
    """Seen with the transport_switch_drops_inflight mutant: the requests in flight fail when the node
    switches (its log line), and the first h3 answer comes 5 s later (the forwarder tried a same-region
    follower over HTTP/1.1 meanwhile): errors far from the first h3 answer, right at the logged switch."""
    switch_ns = int((data["switch_log"][0]["ts"] - WALL0) * S)
    for row in data["requests"]:
        if switch_ns - S // 10 <= row["t_ns"] <= switch_ns:
            row.update(status=504, transport=None)
        elif switch_ns < row["t_ns"] < switch_ns + 5 * S and row["transport"] == "h3":
            row.update(transport="http/1.1")
    return data


def _cut_and_retried(data: dict) -> dict:
    """The same mutant on a target whose nodes retry a forwarded write after a lost connection (op ids make
    it safe): every client answer is 200 on time, but the nodes log the requests the switch cut."""
    switch = data["switch_log"][0]
    data["retry_log"] = [{"node": "g0-us-east", "region": "us-east", "ts": switch["ts"] + 0.01 * i, "pair": PAIR,
                          "member": "g1-eu-west", "group": "g1", "op": "put", "error": "ReadError: closed"}
                         for i in range(3)]
    return data


def _lost(data: dict) -> dict:
    data["read_back"]["lost"] = [{"key": "k1", "written": "v", "read": None, "status": 404}]
    return data


@pytest.mark.parametrize("wrong, expect", [
    (lambda d: facts(h3=False), "no answer carried by h3"),
    (lambda d: facts(switch_s=11.0, out_s=17, back_s=1.0), "took"),
    (lambda d: facts(logs=False), "log line"),
    (_dropped_inflight, "around the switch"),
    (_dropped_at_the_logged_switch, "around the switch up"),
    (_lost, "lost"),
    (_cut_and_retried, "cut around the switch up"),
    (lambda d: facts(out_s=8, back_s=11.0), "switch back to h2 took"),
])
def test_broken_transport_fails(tmp_path, wrong, expect):
    result = judge(tmp_path, wrong(copy.deepcopy(facts())))
    assert result.status is Status.FAIL
    assert expect in result.verdict.reason


def test_always_on_h3_fails_because_there_is_no_switch_to_show(tmp_path):
    data = facts()
    for row in data["requests"]:
        row["transport"] = "h3" if row["t_ns"] < 12 * S + S else "h2"
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL and "before the injection" in result.verdict.reason


def test_little_load_or_no_injection_is_unknown_and_no_phase_not_run(tmp_path):
    data = facts()
    data["requests"] = [r for i, r in enumerate(data["requests"]) if i % 4 == 0]
    assert judge(tmp_path / "a", data).status is Status.UNKNOWN
    data = facts()
    del data["injected"]
    assert judge(tmp_path / "b", data).status is Status.UNKNOWN
    assert judge(tmp_path / "c", None).status is Status.NOT_RUN
    assert judge(tmp_path / "d", {"not_applicable": "no fault proxy"}).status is Status.NOT_APPLICABLE


def test_a_retry_far_from_any_switch_or_on_another_pair_does_not_count(tmp_path):
    data = facts()
    data["retry_log"] = [
        {"node": "g0-us-east", "ts": WALL0 + 8.0, "pair": PAIR, "member": "g1-eu-west", "op": "put", "error": "x"},
        {"node": "g0-us-east", "ts": WALL0 + 5.5, "pair": "us-east/ap-south", "member": "g2-ap-south", "op": "put",
         "error": "x"}]
    result = judge(tmp_path, data)
    assert result.status is Status.PASS, result.verdict.reason
    assert result.verdict.figures["retried_around_switch_up"] == 0
