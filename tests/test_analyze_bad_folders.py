"""`tier7 analyze` on an incomplete or foreign run folder: a one-line error naming what is missing or
wrong, never a traceback (issue 16): truncated JSON lines, a missing history, a foreign file in history/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.load import load_run
from tier7.errors import Tier7Error

ROOT = Path(__file__).resolve().parents[1]


def event(**fields) -> str:
    return json.dumps({"time": 1, "wall": 1.0, "process": "w0", "type": "invoke", "f": "put", "key": "k",
                       "value": "v", **fields})


def history(tmp_path: Path, files: dict[str, str]) -> Path:
    run = tmp_path / "run"
    (run / "history").mkdir(parents=True)
    for name, text in files.items():
        (run / "history" / name).write_text(text)
    return run


def test_truncated_line_inside_a_file_is_named(tmp_path):
    run = history(tmp_path, {"w0.jsonl": event() + "\n" + event()[:20] + "\n" + event(type="ok") + "\n"})
    with pytest.raises(Tier7Error, match=r"w0\.jsonl:2: not a JSON history line \(truncated or corrupt\)"):
        load_run(run)


def test_torn_last_line_is_skipped(tmp_path):
    run = history(tmp_path, {"w0.jsonl": event() + "\n" + event(type="ok")[:30]})
    assert len(load_run(run).events) == 1


@pytest.mark.parametrize("text, words", [
    (json.dumps({"hello": "world"}) + "\n", "no time, type, process"),
    (json.dumps([1, 2]) + "\n", "a JSON list, not an object"),
])
def test_foreign_file_in_history_is_named(tmp_path, text, words):
    run = history(tmp_path, {"w0.jsonl": event() + "\n", "notes.jsonl": text})
    with pytest.raises(Tier7Error) as caught:
        load_run(run)
    assert "notes.jsonl:1" in str(caught.value) and words in str(caught.value)


def test_missing_history_of_a_verification_run_is_named(tmp_path):
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "target").mkdir()
    (run / "facts" / "verify.json").write_text(json.dumps({"meta": {}, "chosen": ["linearizable"],
                                                            "ran": ["load", "final-read"], "complete": True}))
    done = subprocess.run([sys.executable, "-m", "tier7", "analyze", str(run), "--no-dashboard"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "history/*.jsonl is missing" in done.stderr and "load, final-read" in done.stderr
    assert done.stderr.strip().count("\n") == 0
