"""no-lost-writes on write-once keys (issue 9, hole 11): a key written exactly once cannot hide a lost
acknowledgement behind a later write, so the check names it (key, value, acknowledgement time, the reads
after it); keys overwritten many times are judged as before."""

from __future__ import annotations

from analysis.checkers.lost_writes import check_lost_writes
from analysis.verdict import Status
from tests.analysis_history import BASE_WALL, History


def test_a_lost_write_once_value_is_lost_with_key_value_and_ack_time():
    h = History().put("a", "w1", 0, 1, key="once/a/1", once=True).get("f", None, 5, 6, key="once/a/1")
    h.put("a", "w2", 0, 1, key="once/a/2", once=True).get("f", "w2", 5, 6, key="once/a/2")
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.FAIL
    assert verdict.figures["lost"] == 1 and verdict.figures["write_once_lost"] == 1
    assert verdict.figures["write_once_keys"] == 2 and verdict.figures["write_once_acknowledged"] == 2
    item = verdict.evidence[0]
    assert item["key"] == "once/a/1" and item["value"] == "w1" and item["write_once"] is True
    assert item["acknowledged_wall"] == BASE_WALL + 1
    assert item["reads_after_ack"] == {"total": 1, "with_value": 0, "without": 1}
    assert "write-once" in verdict.reason


def test_a_write_once_value_seen_then_gone_is_lost():
    """Read until stable: a re-read saw the value, the final read no longer does."""
    h = History().put("a", "v", 0, 1, once=True).get("b", "v", 2, 3).get("f", None, 5, 6)
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["reads_after_ack"] == {"total": 2, "with_value": 1, "without": 1}
    assert verdict.figures["write_once_stale_reads"] == 1


def test_an_empty_value_is_not_absence():
    """"" is a value the contract allows; a target that stores it as "absent" lost the write."""
    lost = History().put("a", "", 0, 1, once=True).get("f", None, 5, 6)
    assert check_lost_writes(lost.ops()).status is Status.FAIL
    kept = History().put("a", "", 0, 1, once=True).get("f", "", 5, 6)
    assert check_lost_writes(kept.ops()).status is Status.PASS


def test_healthy_write_once_keys_pass_with_figures():
    h = History()
    for i in range(3):
        key = f"once/{i}"
        h.put("a", f"v{i}", i, i + 0.5, key=key, once=True).get("b", f"v{i}", i + 0.6, i + 0.7, key=key)
        h.get("f", f"v{i}", 10 + i, 10.5 + i, key=key)
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.PASS
    assert verdict.figures["write_once_keys"] == 3 and verdict.figures["write_once_reads_after_ack"] == 6
    assert verdict.figures["write_once_stale_reads"] == 0 and verdict.figures["write_once_lost"] == 0


def test_a_local_read_is_not_the_final_read():
    """A replica's own (possibly stale) copy is not evidence of loss, nor of survival."""
    h = History().put("a", "v", 0, 1, once=True).get("f", "v", 5, 6).get("l", None, 7, 8, consistency="local")
    assert check_lost_writes(h.ops()).status is Status.PASS
    h = History().put("a", "v", 0, 1, once=True).get("f", None, 5, 6).get("l", "v", 7, 8, consistency="local")
    assert check_lost_writes(h.ops()).status is Status.FAIL


def test_overwritten_keys_are_judged_as_before():
    """A lost write followed by an overwrite stays invisible here (the linearizability search sees it):
    the reason the load writes part of its keys once."""
    h = History().put("a", "1", 0, 1).put("b", "2", 2, 3).get("f", "2", 5, 6)
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.PASS and verdict.figures["write_once_keys"] == 0
    h = History().put("a", "1", 0, 1).put("b", "2", 2, 3).get("f", "1", 5, 6)
    assert check_lost_writes(h.ops()).status is Status.FAIL


def test_a_write_once_write_never_read_back_is_unknown():
    h = History().put("a", "v", 0, 1, once=True).put("a", "w", 2, 3, key="y").get("f", "w", 5, 6, key="y")
    verdict = check_lost_writes(h.ops())
    assert verdict.status is Status.UNKNOWN and verdict.figures["uncovered"] == 1
