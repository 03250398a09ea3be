"""Federated SQL end to end and its TEST-ONLY switches.

* The phase on the shared healthy cluster: it loads rows, runs the suite, TLP and the leader kill; the
  criterion PASSes and the evidence lists every query with rows, time and verdict.
* The two switches really break the coordinator (in-process, on the coordinator's own code with a stub
  node and in-process member tables): ``sql_drops_group_rows`` leaves a group out,
  ``sql_wrong_null_aggregate`` turns NULL into 0 (members read ``events_n0``, whatever the plan). The
  selftest mutants (tier7/selftest/catalogue.toml) show the criterion FAILs on each, end to end.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import httpx

from analysis.criteria import sql as sql_judge
from analysis.facts import RunFacts
from analysis.plan import load_plan
from analysis.verdict import Status
from testbed import sql_model
from testbed.sql import SqlService
from testbed.sql_store import MemberTables
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
    """The coordinator's code with a stub node (no Raft, no HTTP); members are in-process tables."""
    service = SqlService.__new__(SqlService)
    me = SimpleNamespace(name="g0-us-east", group="g0", region="us-east", dir=tmp_path)
    service.app = SimpleNamespace(faults=faults, me=me, ring=SimpleNamespace(groups=["g0", "g1", "g2"]))
    service._planner, service._planner_lock = None, threading.Lock()
    return service


def _members() -> dict[str, MemberTables]:
    members = {}
    for index, group in enumerate(("g0", "g1", "g2")):
        rows = [sql_model.parse_row({"id": index * 10 + i, "key": f"k{i}", "n": None if i % 2 else i}, 256)
                for i in range(4)]
        members[group] = MemberTables(group, "us-east")
        members[group].state = SimpleNamespace(events={"t": rows}, data={}, revision=0)
    return members


def _query(service: SqlService, sql: str) -> list[list]:
    members = _members()

    async def part(group, tenant, queries, deadline):
        return {"group": group, "node": f"{group}-us-east", "region": "us-east",
                "results": members[group].run(tenant, queries, 5.0)}

    service._part = part
    plan = service._plan(sql, ["events"])
    parts, _ = asyncio.run(service._gather("t", {t: q.sql for t, q in plan.member.items()}))
    return service._run(plan, parts)[1]


def test_wrong_null_aggregate_switch_turns_null_into_zero(tmp_path):
    sql = "SELECT count(*), count(n), min(n) FROM events"
    healthy = _query(_service(tmp_path, {}), sql)
    broken = _query(_service(tmp_path, {"sql_wrong_null_aggregate": True}), sql)
    assert healthy == [[12, 6, 0]] and broken == [[12, 12, 0]]


def test_drops_group_rows_switch_leaves_a_group_out(tmp_path):
    asked: list[str] = []

    async def part(group, tenant, queries, deadline):
        asked.append(group)
        return {"group": group, "node": f"{group}-us-east", "region": "us-east", "results": {}}

    for faults, groups in (({}, ["g0", "g1", "g2"]), ({"sql_drops_group_rows": True}, ["g0", "g1"])):
        asked.clear()
        service = _service(tmp_path, faults)
        service._part = part
        _, sources = asyncio.run(service._gather("t", {}))
        assert asked == groups and [s["group"] for s in sources] == groups
    assert _query(_service(tmp_path, {"sql_drops_group_rows": True}), "SELECT count(*) FROM events") == [[8]]
