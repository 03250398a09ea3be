"""The progress view's counts: errors apart from the refusals and mismatches a healthy target must give."""

from tier7.history import HISTORY_DIR, HistoryWriter
from tier7.verify.progress import HistoryTail


def test_counts_separate_errors_from_expected_refusals(tmp_path):
    writer = HistoryWriter(tmp_path / HISTORY_DIR / "h.jsonl")
    base = {"process": "p", "f": "put", "time": 1}
    for op, (kind, extra) in enumerate([("ok", {}), ("fail", {"error": "forbidden", "cross_tenant": True}),
                                        ("fail", {"error": "cas_mismatch"}), ("fail", {"error": "ConnectionRefusedError"}),
                                        ("info", {"error": "TimeoutError"})]):
        writer.append({"type": "invoke", **base, "op": op})
        writer.append({"type": kind, **base, "op": op, **extra})
    writer.append({"type": "invoke", "process": "nemesis-1", "op": 9, "f": "kill", "time": 2})
    writer.close()
    tail = HistoryTail(tmp_path)
    tail.poll()
    assert (tail.ok, tail.failed, tail.expected, tail.unknown, tail.faults) == (1, 1, 2, 1, 1)
    tail.poll()  # incremental: nothing counted twice
    assert (tail.ok, tail.failed, tail.expected) == (1, 1, 2)
