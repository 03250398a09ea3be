"""The sql phase (contract v5): a tenant of its own writes KV rows (recorded client) and loads event rows of
wide shapes through the events ingest, then runs the query suite through random nodes, each answer stored
with the rows the harness's own oracle computes from its record (tier7/sqlsuite.py); then TLP partitions of
several predicates; then queries while one group's leader is killed (each must be right or an explicit
error). Routing evidence on the way: the quorum each acknowledged KV write names, and which region served
each ``consistency=local`` read. Facts: facts/sql.json (judged by analysis/criteria/sql.py)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from ... import sqlsuite
from ...ring import HarnessRing
from ...targets.base import Capability
from ...topology import observe
from ...waiting import DeadlineExceeded, wait_until
from ..context import RunContext

ATTEMPTS = 3  # per ingest batch / KV write; a resent batch is safe (event ids make appends idempotent)


def _post(http: httpx.Client, url: str, token: str, body: dict[str, Any]) -> tuple[int | None, Any, float]:
    """(status or None when no answer, JSON body or error text, seconds)."""
    began = time.perf_counter()
    try:
        response = http.post(url, json=body, headers={"authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:300], time.perf_counter() - began
    try:
        payload = response.json()
    except ValueError:
        payload = response.text[:300]
    return response.status_code, payload, time.perf_counter() - began


def run(ctx: RunContext) -> None:
    cfg = ctx.plan["sql"]
    tenant = f"sql{ctx.seed}"
    admin = ctx.client(ctx.nodes()[0], ctx.target.admin_token(), "verify-sql-admin")
    created = admin.create_tenant(tenant)
    admin.close()
    if not created.ok:
        ctx.record("sql", {"error": f"cannot create tenant: {created.error}"})
        return
    token = created.body["token"]
    ctx.tokens[tenant] = token
    facts: dict[str, Any] = {"tenant": tenant, "requested_rows": int(cfg["rows"])}
    with httpx.Client(timeout=float(cfg["request_timeout_s"])) as http:
        try:
            kv = write_kv(ctx, tenant, token, facts)
            rows = load_events(ctx, http, token, facts)
            local_reads(ctx, http, tenant, token, list(kv), facts)
            if facts.get("ingest_unacknowledged"):
                facts["error_note"] = "some event batches were never acknowledged: the record is uncertain"
            run_suite(ctx, http, token, tenant, kv, rows, facts)
            leader_kill(ctx, http, token, tenant, rows, facts)
        finally:
            ctx.record("sql", facts)


def write_kv(ctx: RunContext, tenant: str, token: str, facts: dict[str, Any]) -> dict[str, str]:
    """KV rows for the join, each through a random node; the record keeps the value of each acknowledged
    write and the quorum its answer named."""
    keys = sqlsuite.make_keys(int(ctx.plan["sql"]["kv_keys"]))
    kv: dict[str, str] = {}
    writes: list[dict[str, Any]] = []
    uncertain: list[str] = []
    ctx.progress.set_phase(f"sql: {len(keys)} KV writes")
    for index, key in enumerate(keys):
        node = ctx.rng.choice(ctx.nodes())
        client = ctx.client(node, token, f"verify-sql-kv-{index}")
        try:
            for attempt in range(ATTEMPTS):
                value = f"v{attempt}-{index}-é😀"
                result = client.put(key, value, tenant=tenant)
                ctx.written.add((tenant, key))
                if result.ok:
                    kv[key] = value
                    body = result.body or {}
                    writes.append({"key": key, "entry": node.name, "group": result.group, "node": result.node,
                                   "leader": body.get("leader"), "quorum": body.get("quorum")})
                    break
                if result.type == "info":
                    uncertain.append(key)
                    break
        finally:
            client.close()
    facts["kv_writes"] = writes
    facts["kv_uncertain"] = uncertain
    return {k: v for k, v in kv.items() if k not in uncertain}


def load_events(ctx: RunContext, http: httpx.Client, token: str, facts: dict[str, Any]) -> list[dict]:
    cfg = ctx.plan["sql"]
    keys = sqlsuite.make_keys(int(cfg["kv_keys"]))
    rows = sqlsuite.make_rows(ctx.rng, int(cfg["rows"]), keys)
    batch = int(cfg["ingest_batch_rows"])
    ctx.progress.set_phase(f"sql: loading {len(rows)} event rows")
    answers, unacknowledged = [], 0
    for start in range(0, len(rows), batch):
        body = {"rows": [sqlsuite.to_json(r) for r in rows[start:start + batch]]}
        for _attempt in range(ATTEMPTS):
            node = ctx.rng.choice(ctx.nodes())
            status, payload, seconds = _post(http, f"{node.url}/v1/events?depth={cfg['ingest_depth']}", token, body)
            answers.append({"entry": node.name, "status": status, "seconds": round(seconds, 4),
                            "stored": payload.get("stored") if isinstance(payload, dict) else None,
                            "duplicates": payload.get("duplicates") if isinstance(payload, dict) else None,
                            "error": None if status == 200 else (payload.get("error") if isinstance(payload, dict)
                                                                 else payload)})
            if status == 200:
                break
        else:
            unacknowledged += 1
    facts["ingest"] = answers
    facts["ingest_unacknowledged"] = unacknowledged
    facts["rows_loaded"] = len(rows)
    return rows


def local_reads(ctx: RunContext, http: httpx.Client, tenant: str, token: str, keys: list[str],
                facts: dict[str, Any]) -> None:
    """Read-local reads (``consistency=local&route=region``) through random nodes: the harness knows each
    entry node's region and records the region the answer names (not KV history: local reads are not
    linearizable and are judged by nothing else)."""
    reads = []
    ctx.progress.set_phase(f"sql: {int(ctx.plan['sql']['local_reads'])} local reads")
    for index in range(int(ctx.plan["sql"]["local_reads"])):
        node = ctx.rng.choice(ctx.nodes())
        key = keys[index % len(keys)] if keys else "none"
        try:
            answer = http.get(f"{node.url}/v1/tenants/{tenant}/kv/{quote(key, safe='')}",
                              params={"consistency": "local", "route": "region"},
                              headers={"authorization": f"Bearer {token}"})
            status, body = answer.status_code, answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            status, body = None, {"error": exc.__class__.__name__}
        body = body if isinstance(body, dict) else {}
        reads.append({"key": key, "entry": node.name, "entry_region": node.region, "status": status,
                      "served_by": body.get("node"), "served_region": body.get("region"),
                      "owner_group": body.get("owner_group")})
    facts["local_reads"] = reads


def run_suite(ctx: RunContext, http: httpx.Client, token: str, tenant: str, kv: dict[str, str], rows: list[dict],
              facts: dict[str, Any]) -> None:
    ring = HarnessRing.from_contract(ctx.facts["ring"])
    groups = sorted({n.group for n in ctx.nodes()})
    grp = {r["key"]: ring.group_for(tenant, r["key"]) for r in rows}
    results = []
    for query in sqlsuite.suite(kv, groups[0]):
        ctx.progress.set_phase(f"sql: query {query.name}")
        node = ctx.rng.choice(ctx.nodes())
        status, payload, seconds = _post(http, f"{node.url}/v1/sql", token, {"sql": query.sql})
        expected = sqlsuite.expected_json(query.oracle(rows, grp, groups[0]), query.kinds)
        results.append({"name": query.name, "sql": query.sql, "entry": node.name, "touches": query.touches,
                        "kinds": list(query.kinds), "ordered": query.ordered, "status": status,
                        "seconds": round(seconds, 4), "expected": expected, **_answer(payload)})
    facts["queries"] = results
    tlp = []
    for predicate in sqlsuite.TLP_PREDICATES:
        ctx.progress.set_phase(f"sql: TLP {predicate}")
        node = ctx.rng.choice(ctx.nodes())
        status, payload, seconds = _post(http, f"{node.url}/v1/sql", token, {"sql": sqlsuite.tlp_sql(predicate)})
        tlp.append({"predicate": predicate, "entry": node.name, "status": status, "seconds": round(seconds, 4),
                    **_answer(payload)})
    facts["tlp"] = tlp


def _answer(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict) and "rows" in payload:
        return {"rows": payload["rows"], "sources": payload.get("sources"), "error": None}
    error = payload.get("error") if isinstance(payload, dict) else payload
    return {"rows": None, "sources": None, "error": error}


def leader_kill(ctx: RunContext, http: httpx.Client, token: str, tenant: str, rows: list[dict],
                facts: dict[str, Any]) -> None:
    """Kill one group's leader and query (count, sum over every group) until the window ends; restart it."""
    missing = [c.value for c in (Capability.KILL, Capability.RESTART) if c not in ctx.target.capabilities]
    if missing:
        facts["kill"] = {"not_applicable": f"target {ctx.target.name!r} cannot {' and '.join(missing)} nodes"}
        return
    window = float(ctx.plan["sql"]["kill_window_s"])
    topology = observe(ctx.nodes())
    group = sorted(topology.groups)[-1]
    victim = topology.groups[group].leader
    if victim is None:
        facts["kill"] = {"error": f"group {group} had no leader to kill"}
        return
    sql = "SELECT count(*), sum(id), count(n) FROM events"
    expected = [[len(rows), sum(r["id"] for r in rows), sum(1 for r in rows if r["n"] is not None)]]
    others = [n for n in ctx.nodes() if n.name != victim]
    ctx.progress.set_phase(f"sql: queries while {victim} (leader of {group}) is killed")
    # nemesis events on the run's clock (as chaos/controls.py writes them): the fault window for the analysis
    # measure_failover false: a fault window for the log scan, not a failover measurement (no load runs here)
    op = ctx.history.invoke("nemesis", "kill-node", value={"phase": "sql", "group": group, "measure_failover": False})
    ctx.target.kill_node(victim)
    ctx.history.complete("ok", "nemesis", op, "kill-node", value={"phase": "sql", "applied": True},
                         node=victim, group=group)
    killed_at = time.monotonic()
    answers = []
    try:
        for _ in range(100):  # bounded; the window ends it first
            if time.monotonic() - killed_at > window and answers:
                break
            node = ctx.rng.choice(others)
            began = time.monotonic() - killed_at
            status, payload, seconds = _post(http, f"{node.url}/v1/sql", token, {"sql": sql})
            answers.append({"entry": node.name, "started_s": round(began, 3), "seconds": round(seconds, 4),
                            "status": status, **_answer(payload)})
    finally:
        op = ctx.history.invoke("nemesis", "restart-node", value={"phase": "sql", "node": victim})
        ctx.target.start_node(victim)
        ctx.history.complete("ok", "nemesis", op, "restart-node", value={"phase": "sql", "applied": True},
                             node=victim, group=group)
    try:
        wait_until(lambda: (t := observe(ctx.nodes())).healthy() and t, 30, 0.2, "the cluster to be healthy again")
        healthy = True
    except DeadlineExceeded:
        healthy = False
    facts["kill"] = {"group": group, "victim": victim, "window_s": window, "sql": sql, "expected": expected,
                     "kinds": ["int", "int", "int"], "answers": answers, "healthy_after": healthy}
