"""Federated SQL end to end and its TEST-ONLY switches.

* The phase on the shared healthy cluster: it loads rows, runs the suite, TLP and the leader kill; the
  criterion PASSes and the evidence lists every query with rows, time and verdict.
* The two switches really break the coordinator (in-process, on the coordinator's own code with a stub
  node): ``sql_drops_group_rows`` leaves a group out, ``sql_wrong_null_aggregate`` turns NULL into 0. The
  selftest mutants (tier7/selftest/catalogue.toml) show the criterion FAILs on each, end to end.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace

import httpx

from analysis.criteria import sql as sql_judge
from analysis.facts import RunFacts
from analysis.plan import load_plan
from analysis.verdict import Status
from testbed import sql_model
from testbed.sql import SqlService
from tier7.verify.context import RunContext
from tier7.verify.criteria import sql as sql_phase
from tier7.verify.progress import Progress


def test_the_phase_passes_on_the_shared_cluster(cluster, tmp_path):
    """The phase for real on the shared healthy cluster (it kills one leader and restarts it, then waits for
    the cluster to be healthy again), judged from the folder it wrote."""
    run = tmp_path / "run"
    (run / "target").mkdir(parents=True)
    (run / "target" / "nodes.json").write_text(json.dumps(
        [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in cluster.nodes()]))
    ctx = RunContext(run, load_plan(), False, 12, cluster, Progress(run, stream=io.StringIO()))
    ctx.facts["ring"] = httpx.get(f"{cluster.nodes()[0].url}/v1/ring", timeout=5).json()
    try:
        sql_phase.run(ctx)
    finally:
        ctx.history.close()
    result = sql_judge.judge(RunFacts(run))
    assert result.status is Status.PASS, (result.verdict.reason, result.verdict.evidence[:3])
    evidence = result.evidence_doc
    assert len(evidence["queries"]) >= 10 and all(q["verdict"] == "PASS" and q["seconds"] > 0
                                                  for q in evidence["queries"])
    assert evidence["kill"]["queries"] >= 1 and evidence["routing"]["quorum_share"] == 1.0
    assert evidence["routing"]["local_in_region_share"] == 1.0
    facts = json.loads((run / "facts" / "sql.json").read_text())
    assert facts["rows_loaded"] == 3000 and not facts["ingest_unacknowledged"] and facts["kill"]["healthy_after"]
    assert not any(t in (run / "facts" / "sql.json").read_text() for t in ctx.tokens.values())


def _service(tmp_path: Path, faults: dict) -> SqlService:
    """The coordinator's code with a stub node (no Raft, no HTTP)."""
    service = SqlService.__new__(SqlService)
    me = SimpleNamespace(name="g0-us-east", group="g0", region="us-east", dir=tmp_path)
    service.app = SimpleNamespace(faults=faults, me=me, ring=SimpleNamespace(groups=["g0", "g1", "g2"]))
    service.tmp = tmp_path
    return service


def _parts(tmp_path: Path) -> dict[str, list[bytes]]:
    parts = []
    for index, group in enumerate(("g0", "g1", "g2")):
        rows = [sql_model.parse_row({"id": index * 10 + i, "key": f"k{i}", "n": None if i % 2 else i}, 256)
                for i in range(4)]
        blob = sql_model.partition_parquet(sql_model.events_frame(rows), "events", group, "us-east",
                                           tmp_path / f"{group}.parquet")
        parts.append(base64.b64decode(blob))
    return {"events": parts}


def test_wrong_null_aggregate_switch_turns_null_into_zero(tmp_path):
    sql = "SELECT count(*), count(n), min(n) FROM events"
    healthy = _service(tmp_path, {})._run(sql, ["events"], _parts(tmp_path))[1]
    broken = _service(tmp_path, {"sql_wrong_null_aggregate": True})._run(sql, ["events"], _parts(tmp_path))[1]
    assert healthy == [[12, 6, 0]] and broken == [[12, 12, 0]]


def test_drops_group_rows_switch_leaves_a_group_out(tmp_path):
    asked: list[str] = []

    async def part(group, tenant, tables, deadline):
        asked.append(group)
        return {"group": group, "node": f"{group}-us-east", "region": "us-east", "tables": {}}

    for faults, groups in (({}, ["g0", "g1", "g2"]), ({"sql_drops_group_rows": True}, ["g0", "g1"])):
        asked.clear()
        service = _service(tmp_path, faults)
        service._part = part
        _, sources = asyncio.run(service._gather("t", []))
        assert asked == groups and [s["group"] for s in sources] == groups
