"""Issue 9, holes 4 and 5, on hand-made run folders: the log scan needs a log from every node the run
knows about and reads the console captures (stdout/stderr) where tracebacks land; the client-error check
needs operations outside fault windows and excuses only the exact error labels the client records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.checkers.client_errors import (
    CONTRACT_CODES,
    TRANSPORT,
    check_client_errors,
    is_known,
    unhandled,
)
from analysis.checkers.logscan import check_logs
from analysis.load import load_run
from analysis.logfiles import read_node_logs
from analysis.run import analyze
from analysis.thresholds import load_thresholds
from analysis.verdict import Status
from analysis.windows import from_nemesis
from tests.analysis_history import BASE_WALL, History
from tier7 import runfolder

NODES = ["n1", "n2", "n3"]
ROOT = Path(__file__).resolve().parents[1]
TRACEBACK = """Exception in thread raft-tick:
Traceback (most recent call last):
  File "/usr/lib/python3.11/threading.py", line 1045, in _bootstrap_inner
    self.run()
  File "/app/raft.py", line 88, in run
    self.tick()
KeyError: 'term'
"""


def entry(t: float, level: str = "INFO", node: str = "n1", msg: str = "m") -> str:
    return json.dumps({"ts": BASE_WALL + t, "level": level, "node": node, "event": "e", "msg": msg}) + "\n"


def windows():
    """One applied fault: a leader kill at 5.0 s healed at 8.5 s (times from BASE_WALL)."""
    h = History().nemesis("kill-leader", 5.0, 5.1, node="n1").nemesis("restart-node", 8.0, 8.5, node="n1")
    return from_nemesis(h.nemesis_ops(), {"n1": "g0"})


def make_folder(tmp_path: Path, logs: dict[str, str], consoles: dict[str, str] | None = None,
                nodes: list[str] = NODES) -> Path:
    """A run folder with target/nodes.json naming ``nodes`` and the given logs and console captures."""
    run = tmp_path / "run"
    (run / "target").mkdir(parents=True)
    (run / "target" / "nodes.json").write_text(json.dumps(
        [{"name": n, "group": "g0", "region": f"r{i}", "url": f"http://127.0.0.1:{i + 1}"} for i, n in enumerate(nodes)]))
    (run / "logs" / "console").mkdir(parents=True)
    for node, text in logs.items():
        (run / "logs" / f"{node}.log").write_text(text)
    for node, text in (consoles or {}).items():
        (run / "logs" / "console" / f"{node}.log").write_text(text)
    return run


def healthy_logs(extra: dict[str, str] | None = None) -> dict[str, str]:
    logs = {n: entry(1, node=n) + entry(2, node=n) for n in NODES}
    for node, text in (extra or {}).items():
        logs[node] += text
    return logs


def scan(run: Path):
    data = load_run(run)
    return check_logs(data.logs, windows(), 10.0, data.offset_ns, data.node_logs, data.known_nodes)


# -- hole 4: every node's log, console captures, unparseable lines --

def test_every_node_logged_and_clean_passes(tmp_path):
    verdict = scan(make_folder(tmp_path, healthy_logs(), {"n1": "starting\n"}))
    assert verdict.status is Status.PASS, verdict
    assert verdict.figures["nodes"] == 3 and verdict.figures["console_captures"] == 1


def test_missing_node_log_is_unknown_naming_the_node(tmp_path):
    logs = healthy_logs()
    del logs["n3"]
    verdict = scan(make_folder(tmp_path, logs))
    assert verdict.status is Status.UNKNOWN and "n3" in verdict.reason, verdict
    assert verdict.figures["missing_logs"] == ["n3"]


def test_empty_node_log_is_unknown(tmp_path):
    verdict = scan(make_folder(tmp_path, {**healthy_logs(), "n2": ""}))
    assert verdict.status is Status.UNKNOWN and "empty log of node(s) n2" in verdict.reason, verdict


def test_nodes_known_from_topology_and_served_operations_need_logs_too(tmp_path):
    run = make_folder(tmp_path, healthy_logs())
    (run / "topology.jsonl").write_text(json.dumps({"time": 1, "wall": BASE_WALL, "groups": {
        "g1": {"leader": "m1", "term": 1, "members": {"m1": "leader"}}}}) + "\n")
    h = History().put("w", "v", 1.0, 1.01, node="n9", group="g0")
    (run / "history").mkdir()
    (run / "history" / "w.jsonl").write_text("".join(
        json.dumps({k: v for k, v in e.items() if v is not None}) + "\n" for e in h.events))
    verdict = scan(run)
    assert verdict.status is Status.UNKNOWN and verdict.figures["missing_logs"] == ["m1", "n9"], verdict


def test_traceback_in_a_console_capture_fails_even_during_a_fault(tmp_path):
    verdict = scan(make_folder(tmp_path, healthy_logs(), {"n2": "booting\n" + TRACEBACK + "after\n"}))
    assert verdict.status is Status.FAIL, verdict
    assert verdict.figures["tracebacks"] == 1
    finding = next(e for e in verdict.evidence if "tracebacks" in e["problem"])["findings"][0]
    assert finding["node"] == "n2" and finding["file"] == "logs/console/n2.log" and finding["line"] == 3
    assert "KeyError: 'term'" in finding["text"] and "after" not in finding["text"]


@pytest.mark.parametrize("line", ["CRITICAL:root:state machine diverged\n",
                                  "2026-01-02 03:04:05,678 CRITICAL raft: diverged\n",
                                  "[CRITICAL] diverged\n",
                                  json.dumps({"ts": BASE_WALL + 6, "level": "CRITICAL", "msg": "x"}) + "\n"])
def test_critical_in_a_console_capture_fails(tmp_path, line):
    verdict = scan(make_folder(tmp_path, healthy_logs(), {"n1": "ok\n" + line}))
    assert verdict.status is Status.FAIL and verdict.figures["critical"] == 1, verdict


def test_the_word_critical_in_ordinary_console_text_is_not_a_finding(tmp_path):
    verdict = scan(make_folder(tmp_path, healthy_logs(), {"n1": "a critical section took 3 ms\n"}))
    assert verdict.status is Status.PASS, verdict


def test_unparseable_line_outside_faults_fails(tmp_path):
    logs = healthy_logs({"n1": "Segmentation fault (core dumped)\n" + entry(3, node="n1")})
    verdict = scan(make_folder(tmp_path, logs))
    assert verdict.status is Status.FAIL and verdict.figures["unparseable"] == 1, verdict
    finding = next(e for e in verdict.evidence if "not log entries" in e["problem"])["findings"][0]
    assert finding["node"] == "n1" and finding["after_ts"] == BASE_WALL + 2 and finding["before_ts"] == BASE_WALL + 3


def test_unparseable_lines_inside_a_fault_window_are_attributed(tmp_path):
    logs = healthy_logs({"n1": entry(6, "ERROR", "n1") + "raw line 1\nraw line 2\n" + entry(7, node="n1")})
    verdict = scan(make_folder(tmp_path, logs))
    assert verdict.status is Status.PASS, verdict
    assert verdict.figures["errors_inside_faults"] == 2  # the ERROR line and one block of two raw lines
    attributed = verdict.evidence[0]
    assert attributed["fault_id"] == "F1" and attributed["findings"][0]["count"] == 2


def test_unparseable_line_with_no_entry_after_it_cannot_be_excused(tmp_path):
    logs = healthy_logs({"n1": entry(6, node="n1") + "raw\n"})  # inside the window, but nothing bounds it after
    verdict = scan(make_folder(tmp_path, logs))
    assert verdict.status is Status.FAIL, verdict


def test_json_without_ts_or_level_is_not_a_log_entry(tmp_path):
    logs = healthy_logs({"n1": json.dumps({"msg": "no level"}) + "\n" + entry(3, node="n1")})
    assert scan(make_folder(tmp_path, logs)).status is Status.FAIL


def test_a_torn_last_line_is_a_note_not_a_finding(tmp_path):
    run = make_folder(tmp_path, healthy_logs({"n1": '{"ts": 17000'}))
    assert scan(run).status is Status.PASS
    assert any("torn" in note for note in read_node_logs(run).notes)


def test_critical_wins_over_missing_logs(tmp_path):
    logs = healthy_logs({"n1": entry(6, "CRITICAL", "n1")})
    del logs["n2"]
    verdict = scan(make_folder(tmp_path, logs))
    assert verdict.status is Status.FAIL and any("n2" in e["problem"] for e in verdict.evidence), verdict


def test_analyze_wires_the_log_scan_to_every_node(tmp_path):
    logs = healthy_logs()
    del logs["n2"]
    run = make_folder(tmp_path, logs)
    verdicts = {v.name: v for v in analyze(run).verdicts}
    assert verdicts["log-scan"].status is Status.UNKNOWN and "n2" in verdicts["log-scan"].reason


# -- copying the console captures into the run folder --

def test_copy_logs_brings_each_nodes_console_capture(tmp_path):
    files = {}
    for node in ("n1", "n2"):
        folder = tmp_path / "nodes" / node
        folder.mkdir(parents=True)
        (folder / "node.log").write_text(entry(1, node=node))
        files[node] = folder / "node.log"
    (tmp_path / "nodes" / "n2" / runfolder.CONSOLE_FILE).write_text("token sekret-123456\n" + TRACEBACK)
    run = tmp_path / "run"
    assert runfolder.copy_logs(run, files, ["sekret-123456"]) == 2
    console = run / "logs" / "console" / "n2.log"
    assert console.is_file() and not (run / "logs" / "console" / "n1.log").exists()
    assert "sekret-123456" not in console.read_text() and "KeyError" in console.read_text()
    assert runfolder.CONSOLE_DIR == "logs/console" == __import__("analysis.logfiles").logfiles.CONSOLE_DIR


def test_console_of_logs_sharing_a_folder_is_not_guessed(tmp_path):
    (tmp_path / "a.log").write_text("x\n")
    (tmp_path / "b.log").write_text("x\n")
    (tmp_path / runfolder.CONSOLE_FILE).write_text("shared\n")
    assert runfolder.console_files({"a": tmp_path / "a.log", "b": tmp_path / "b.log"}) == {}


def test_a_truncated_copy_starts_at_a_line(tmp_path):
    source = tmp_path / "node.log"
    source.write_text("".join(entry(i) for i in range(100)))
    run = tmp_path / "run"
    runfolder.copy_logs(run, {"n1": source}, [], max_bytes=1000)
    lines = (run / "logs" / "n1.log").read_text().splitlines()
    assert lines and all(json.loads(line)["level"] == "INFO" for line in lines)


# -- hole 5: client errors --

def steady(h: History, start: float, stop: float, step: float = 0.02) -> History:
    t = start
    i = 0
    while t < stop:
        h.put(f"p{i % 5}", str(i), t, t + 0.01, group="g0")
        t += step
        i += 1
    return h


def test_no_operation_outside_faults_is_unknown():
    h = steady(History(), 5.2, 8.4)  # all inside the fault window (5.0 - 8.5)
    verdict = check_client_errors(h.ops(), windows(), load_thresholds())
    assert verdict.status is Status.UNKNOWN and "floor" in verdict.reason, verdict
    assert verdict.figures["operations_outside_faults"] == 0


def test_too_few_operations_outside_faults_is_unknown_but_many_errors_still_fail():
    thresholds = load_thresholds()
    floor = int(thresholds["client_errors"]["min_operations_outside_faults"])
    few = steady(History(), 1.0, 1.0 + (floor // 2) * 0.02)
    assert check_client_errors(few.ops(), windows(), thresholds).status is Status.UNKNOWN
    for i in range(5):
        few.op(f"t{i}", "put", 2 + i * 0.01, 2.5 + i * 0.01, value="x", type="info", error="TimeoutError")
    assert check_client_errors(few.ops(), windows(), thresholds).status is Status.FAIL


VAGUE = ["ProtocolViolation", "JSONParseError", "ConnectionPoolFullError", "KeyError: 'connection'",
         "closed_form_bug", "ReadTimeoutish", "http_5000", "status_500", "AttributeError", "ValueError"]
EXCUSED = sorted(TRANSPORT) + ["http_502", "unavailable", "outcome_unknown"]


@pytest.mark.parametrize("label", VAGUE)
def test_a_message_that_only_looks_like_a_transport_error_is_not_excused(label):
    assert unhandled(pd.DataFrame({"error": [label]})).tolist() == [True]


@pytest.mark.parametrize("label", EXCUSED)
def test_the_labels_the_client_records_are_excused(label):
    assert unhandled(pd.DataFrame({"error": [label, None]})).tolist() == [False, False]


def test_vague_labels_fail_the_check_and_exact_ones_pass():
    clean = steady(History(), 0.0, 4.0)
    for i, label in enumerate(EXCUSED):
        clean.op(f"x{i}", "put", 6.0, 6.01, value="x", type="info", error=label)
    assert check_client_errors(clean.ops(), windows(), load_thresholds()).status is Status.PASS
    vague = steady(History(), 0.0, 4.0)
    vague.op("z", "put", 1.0, 1.01, value="x", type="fail", error="ProtocolViolation")
    verdict = check_client_errors(vague.ops(), windows(), load_thresholds())
    assert verdict.status is Status.FAIL and "unhandled" in verdict.reason, verdict


def test_contract_codes_match_the_contract():
    text = (ROOT / "docs" / "contract.md").read_text()
    table = text[text.index("| code | status | meaning |"):]
    table = table[: table.index("\n\n")]
    documented = set(re.findall(r"`([a-z_]+)`", "\n".join(line.split("|")[1] for line in table.splitlines()[2:])))
    assert documented == set(CONTRACT_CODES)


def test_client_records_only_catalogued_transport_labels():
    """The recording client labels a transport failure by its exception class or one of two own labels."""
    source = (ROOT / "tier7" / "client.py").read_text()
    assert source.count("exc.__class__.__name__") == 2
    own = set(re.findall(r'_Lost\("(\w+)"\)|"error": "(\w+)"', source))
    labels = {a or b for a, b in own}
    assert labels and all(is_known(label) for label in labels), labels
