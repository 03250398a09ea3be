"""The progress view's counts: errors apart from the refusals and mismatches a healthy target must give."""

import builtins
import threading
import time

from tier7.history import HISTORY_DIR, HistoryWriter
from tier7.verify import progress
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



class _SlowReads:
    """A history file whose reads take a millisecond: widens the window between a poll reading its offset
    and advancing it, so an unlocked tail polled from two threads reliably counts lines twice."""

    def __init__(self, path, mode):
        self.handle = builtins.open(path, mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def seek(self, offset):
        return self.handle.seek(offset)

    def read(self):
        time.sleep(0.001)
        return self.handle.read()


def test_two_threads_polling_a_growing_history_count_each_line_once(tmp_path, monkeypatch):
    """The progress thread and a phase's load gate poll the same tail: every line must be counted once
    (an unlocked tail double-counts, which opens the minimum-load gate early)."""
    monkeypatch.setattr(progress, "open", _SlowReads, raising=False)
    paths = [tmp_path / HISTORY_DIR / f"h{i}.jsonl" for i in range(2)]
    paths[0].parent.mkdir(parents=True)
    tail = HistoryTail(tmp_path)
    line = b'{"type":"ok","process":"p","f":"put","time":1}\n'
    done = threading.Event()
    start = threading.Barrier(3)

    def poller() -> None:
        start.wait()
        while not done.is_set():
            tail.poll()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    written = 0
    start.wait()
    for index in range(200):  # appends while both threads poll
        with builtins.open(paths[index % 2], "ab") as out:
            out.write(line * 5)
        written += 5
        time.sleep(0.0005)
    done.set()
    for thread in threads:
        thread.join(timeout=30)
    tail.poll()
    assert tail.ok == written == 1000
