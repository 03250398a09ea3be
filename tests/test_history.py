"""History format: writing, torn last lines, merging several processes' files in time order."""

import json

import pytest

from tier7.history import HistoryWriter, load_history, read_events


def test_invoke_completion_pairs_and_merge(tmp_path):
    a = HistoryWriter(tmp_path / "history" / "a.jsonl")
    b = HistoryWriter(tmp_path / "history" / "b.jsonl")
    op1 = a.invoke("a-u1", "put", key="k", value="1")
    op2 = b.invoke("b-u1", "get", key="k")
    a.complete("ok", "a-u1", op1, "put", key="k", value="1", node="g0-us-east", group="g0")
    b.complete("info", "b-u1", op2, "get", key="k", error="timeout")
    a.close()
    b.close()
    frame = load_history(tmp_path)
    assert list(frame["type"]) == ["invoke", "invoke", "ok", "info"]
    assert frame["time"].is_monotonic_increasing
    assert set(frame["source"]) == {"a.jsonl", "b.jsonl"}
    with pytest.raises(ValueError):
        a.complete("maybe", "a-u1", 1, "put")


def test_torn_last_line_is_skipped_but_corruption_elsewhere_is_an_error(tmp_path):
    path = tmp_path / "history" / "w.jsonl"
    path.parent.mkdir()
    good = json.dumps({"type": "invoke", "time": 1, "process": "p", "op": 1, "f": "put"})
    path.write_text(good + "\n" + '{"type": "ok", "ti')
    assert len(list(read_events(path))) == 1
    path.write_text('{"bad\n' + good + "\n")
    with pytest.raises(ValueError, match="not a JSON history line"):
        list(read_events(path))


def test_empty_run_gives_empty_frame(tmp_path):
    assert load_history(tmp_path).empty
