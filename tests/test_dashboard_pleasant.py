"""Issue 17, "Make it pleasant", dashboard: axis titles with units, gaps left as gaps, phase bands, run
metadata at the top, every legend entry distinct. Built from hand-made tables (no cluster)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.plots import phase_of, timeline_figure, with_gaps, write_dashboard

ORIGIN = 1e12  # monotonic ns of the run's first event


def series() -> pd.DataFrame:
    rows = []
    for t in (0, 1, 2, 10, 11):  # no data from 3 s to 9 s: a gap, not a line
        for group in ("g0", "g1", "all"):
            rows.append({"t_s": float(t), "group": group, "completed": 10, "ok": 9, "errors": 1, "ok_per_s": 9.0,
                         "error_rate": 0.1, "p50_ms": 2.0, "p90_ms": 3.0, "p99_ms": np.nan if t == 11 else 5.0})
    return pd.DataFrame(rows)


def ops() -> pd.DataFrame:
    def op(process: str, start_s: float, end_s: float) -> dict:
        return {"process": process, "invoke_time": int(ORIGIN + start_s * 1e9), "complete_time": ORIGIN + end_s * 1e9}

    return pd.DataFrame([op("l0-setup3", 0.0, 0.5), op("l0-setup1", 0.2, 1.0), op("l0-u1", 1.0, 1.1),
                         op("l0-u2", 11.0, 11.5), op("l0-final0", 12.0, 12.4), op("nemesis", 5.0, 5.1)])


def analysis(tmp_path: Path) -> SimpleNamespace:
    windows = pd.DataFrame([{"fault_id": "F1", "fault": "kill-leader", "node": "g0-a", "group": "g0",
                             "start_time": ORIGIN + 5e9, "end_time": ORIGIN + 6e9, "applied": True}])
    empty = pd.DataFrame()
    tables = {"timeseries": series(), "outage": pd.DataFrame(columns=["targeted"]), "elections": empty,
              "commit_latency_metrics": empty, "write_latency": empty}
    run = SimpleNamespace(path=tmp_path, start_time=ORIGIN, windows=windows, ops=ops(),
                          thresholds={"failover": {"outage_max_s": 5}})
    return SimpleNamespace(tables=tables, run=run, verdicts=[])


def test_gaps_are_gaps():
    xs, ys = with_gaps([0, 1, 2, 10], [1.0, float("nan"), 2.0, 3.0], 1.0)
    assert ys == [1.0, None, 2.0, None, 3.0] and xs[3] == 6.0


def test_timeline_axes_gaps_legends_and_phase_bands(tmp_path):
    fig = timeline_figure(analysis(tmp_path))
    layout = fig.layout
    assert layout.xaxis3.title.text == "time since run start (s)"
    assert [layout.yaxis.title.text, layout.yaxis2.title.text, layout.yaxis3.title.text] == \
        ["ops/s", "ms", "errored / completed (0-1)"]
    names = [trace.name for trace in fig.data]
    assert len(names) == len(set(names)), names  # every legend entry distinct
    assert all(trace.showlegend is not False for trace in fig.data)
    for trace in fig.data:
        assert trace.connectgaps is False
        xs = list(trace.x)
        gap = [i for i, x in enumerate(xs) if 2 < x < 10]
        assert gap and trace.y[gap[0]] is None, (trace.name, xs, trace.y)  # no line from 2 s to 10 s
    assert {trace.legend for trace in fig.data} == {"legend", "legend2", "legend3"}
    texts = [a.text for a in layout.annotations]
    assert any(t.startswith("setup (") for t in texts) and any(t.startswith("load (") for t in texts)
    assert any(t.startswith("final read (") for t in texts)
    assert any("F1 kill-leader" in t for t in texts)
    assert not any(t.startswith("nemesis") for t in texts)


def test_phase_names():
    assert [phase_of(p) for p in ("w0-setup", "w0-u17", "master-final-setup", "l0-final3", "federation2",
                                  "load-5.1", "load-0")] == \
        ["setup", "load", "final read", "final read", "federation", "load", "load"]


def test_dashboard_heads_with_run_metadata_and_criteria(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"kind": "load", "seed": 1234, "git_commit": "deadbeef",
                                                   "started_wall": 1_700_000_000.0,
                                                   "target": {"kind": "testbed", "source": "results/tb/cluster.json",
                                                              "nodes": 9}}))
    (tmp_path / "verdicts.json").write_text(json.dumps({"headline": "FAIL — 1 PASS, 1 FAIL", "criteria": [
        {"id": "failover", "status": "FAIL"}, {"id": "logs", "status": "PASS"}, {"id": "crdt", "status": "NOT RUN"}]}))
    page = write_dashboard(analysis(tmp_path)).read_text()
    head = page[:page.index("class='verdicts'")]
    for text in ("1234", "deadbeef", "results/tb/cluster.json", "2023-11-14 22:13:20", "FAIL — 1 PASS, 1 FAIL",
                 "failover: FAIL", "logs: PASS"):
        assert text in head, text
    assert "crdt" not in head
