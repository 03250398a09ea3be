"""The node's HTTP contract (docs/contract.md): routing, validation and the KV operations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

import httpx

from . import auth, blob_api
from .config import BUILT_FEATURES, Cluster, NodeSpec
from .crdt_api import CrdtService
from .forward import INTERNAL_HEADER, Forwarder
from .logs import event
from .metrics import NodeMetrics
from .openapi import contract_document
from .raftnode import CommitFailed, RaftMember
from .rebalance import Rebalancer
from .ring import Ring, point
from .sql import SqlService
from .sql_routing import internal_read, local_read, quorum
from .store import SYSTEM_TENANT, KVState, selected
from .web import HttpError, Request, field, send_bytes, send_json

log = logging.getLogger("testbed.api")
KV_OPS = {"put", "get", "cas", "delete", "create_tenant"}
WRITE_OPS = {"put", "cas", "delete", "create_tenant"}  # forwarded with an op id: applied at most once
MAX_OP_ID_CHARS = 64
MAX_HOPS = 4  # redirects one KV operation may follow between groups while a rebalance settles


class NodeApp:
    """One node: an ASGI application bound to its Raft group member."""

    def __init__(self, cluster: Cluster, me: NodeSpec) -> None:
        self.cluster = cluster
        self.me = me
        self.limits = cluster.preset["limits"]
        ring = cluster.data["ring"]
        self.ring = Ring(ring["groups"], ring["vnodes"], ring["epoch"])
        self.metrics = NodeMetrics(me.name, me.group, me.region)
        self.raft: RaftMember | None = None
        self.forwarder: Forwarder | None = None
        self.started = time.time()
        self._monitor: asyncio.Task | None = None
        self._critical: asyncio.Task | None = None
        self.crdt: CrdtService | None = None  # contract v2 CRDTs (testbed/crdt_api.py), built at startup
        self.rebalancer: Rebalancer | None = None  # scaling v3 (testbed/rebalance.py), built at startup
        self.sql: SqlService | None = None  # contract v5 SQL and events ingest (testbed/sql*.py), at startup
        self.blobs = blob_api.BlobService(self)  # contract v4 blobs: streamed, own size limit (testbed/blob*.py)
        self.faults = cluster.test_faults
        self._reads = 0  # linearizable GETs seen by the stale-read switch (its deterministic choice)
        if self.faults:
            log.warning("TEST FAULTS ENABLED: %s", self.faults, extra={"event": "test_faults", "fields": self.faults})
        fwd = cluster.preset["forwarding"]
        self.retry_deadline, self.backoff = float(fwd["retry_deadline"]), float(fwd["retry_backoff"])

    # -- ASGI --

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if blob_api.owns(scope):  # streamed bodies up to blobs.toml's limit, not the KV body limit
            await self.blobs.serve(scope, receive, send)
            return
        request = Request(scope, receive, self.limits["max_body_bytes"])
        route = "unknown"
        try:
            route, handler, args = self._route(request)
            status, payload = await handler(request, *args)
        except HttpError as exc:
            status, payload = exc.status, exc.payload()
        except Exception as exc:  # a bug: answer 500 and log it so the harness's log scan sees it
            log.exception("unhandled error", extra={"event": "unhandled_error", "fields": {"path": scope["path"]}})
            status, payload = 500, HttpError(500, "internal", f"internal error: {exc.__class__.__name__}").payload()
        self.metrics.request(route, status)
        if isinstance(payload, bytes):
            await send_bytes(send, status, payload, "text/plain; version=0.0.4")
            return
        if route != "openapi":  # the document is served as it is (the node is in x-served-by)
            payload.setdefault("node", self.me.name)
        headers = {"x-served-by": str(payload.get("node")), "x-raft-group": str(payload.get("group", self.me.group))}
        await send_json(send, status, payload, headers)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # before the Raft member builds the state: a replayed log must see the same placement
                KVState.node_group = self.me.group
                KVState.node_routes_early = bool(self.faults.get("rebalance_routes_early"))
                self.raft = RaftMember(self.cluster, self.me, self.metrics.commit_seconds.observe)
                self.forwarder = Forwarder(self.cluster, self.me, self.metrics.registry)
                await self.forwarder.start()  # the adaptive inter-region transport (issue 13)
                self.crdt = CrdtService(self)
                self.sql = SqlService(self)
                self.crdt.sync.start()
                self.rebalancer = Rebalancer(self)
                self.rebalancer.start()
                self._monitor = asyncio.create_task(self._watch_raft())
                if "critical_log_after_s" in self.faults and self.me.name == self.cluster.nodes[0].name:
                    self._critical = asyncio.create_task(self._critical_later(self.faults["critical_log_after_s"]))
                event(log, "node_started", http=self.me.http_base, raft=self.me.raft_address,
                      preset=self.cluster.preset.get("name"))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in (self._monitor, self._critical):
                    if task:
                        task.cancel()
                if self.crdt:
                    await self.crdt.sync.stop()
                if self.sql:
                    self.sql.tables.stop()
                if self.rebalancer:
                    await self.rebalancer.stop()
                if self.forwarder:
                    await self.forwarder.close()
                if self.raft:
                    self.raft.close()
                event(log, "node_stopped")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _critical_later(self, delay_s: float) -> None:
        """TEST ONLY (``critical_log_after_s``): one CRITICAL line ``delay_s`` seconds after start, as a
        background task that hits an unrecoverable condition and carries on serving would log it."""
        await asyncio.sleep(delay_s)
        log.critical("snapshot checksum mismatch in raft.dump; continuing with the in-memory state",
                     extra={"event": "snapshot_corrupt", "fields": {"test_fault": "critical_log_after_s"}})

    async def _watch_raft(self) -> None:
        """Log role, term and leader changes as they happen (the harness reads these lines)."""
        last: tuple | None = None
        loop, changed = asyncio.get_running_loop(), asyncio.Event()
        notified = self.raft.watch(lambda: loop.call_soon_threadsafe(changed.set))
        while True:
            current = self.raft.role_term_leader()
            if current != last:
                role, term, leader = current
                if last is not None and leader != last[2]:
                    self.metrics.leader_changes.inc()
                event(log, "raft_state", role=role, term=term, leader=leader,
                      commit_index=self.raft.status()["commit_index"])
                self.metrics.term.set(term or 0)
                self.metrics.is_leader.set(1 if role == "leader" else 0)
                last = current
            if notified:  # woken by the Raft thread; the timeout is only a safety net
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0)
                changed.clear()
            else:
                await asyncio.sleep(0.02)

    # -- routing --

    def _route(self, r: Request) -> tuple[str, Any, tuple]:
        s, m = r.segments, r.method
        if s == ["metrics"]:
            return "metrics", self._only(m, "GET", self.metrics_text), ()
        if len(s) < 2 or s[0] != "v1":
            raise HttpError(404, "not_found", f"no such path: {r.scope['path']}")
        tail = s[1:]
        simple = {
            ("health",): ("health", "GET", self.health),
            ("config",): ("config", "GET", self.config),
            ("openapi.json",): ("openapi", "GET", self.openapi),
            ("node",): ("node", "GET", self.node_status),
            ("cluster",): ("cluster", "GET", self.cluster_view),
            ("ring",): ("ring", "GET", self.ring_params),
            ("ring", "placement"): ("placement", "GET", self.placement),
            ("tenants",): ("tenants", "POST", self.create_tenant),
            ("internal", "apply"): ("internal", "POST", self.internal_apply),
            ("rebalance",): ("rebalance", "GET", self.rebalancer.status),
            ("admin", "rebalance"): ("admin_rebalance", "POST", self.rebalancer.admin),
            ("internal", "rebalance"): ("rebalance_internal", "POST", self.rebalancer.internal),
            ("internal", "crdt"): ("crdt_internal", "POST", self.crdt.internal),
            ("crdt",): ("crdt_list", "GET", self.crdt.list_keys),
            ("sql",): ("sql", "POST", self.sql.query),
            ("events",): ("events", "POST", self.sql.ingest),
            ("internal", "sql"): ("sql_internal", "POST", self.sql.internal_part),
            ("internal", "events"): ("events_internal", "POST", self.sql.internal_events),
            ("internal", "read"): ("read_internal", "POST", self._internal_read),
        }
        if tuple(tail) in simple:
            name, method, handler = simple[tuple(tail)]
            return name, self._only(m, method, handler), ()
        if tail[0] == "crdt" and len(tail) == 3:
            handlers = {"GET": ("crdt_get", self.crdt.read), "POST": ("crdt_post", self.crdt.write)}
            if r.method not in handlers:
                raise HttpError(405, "method_not_allowed", f"{r.method} not allowed here; use GET or POST")
            return handlers[r.method][0], handlers[r.method][1], (tail[1], tail[2])
        if tail[0] == "blobs":  # served by self.blobs before routing (streamed); listed here for the contract
            return blob_api.route(r), self.blobs.serve, ()
        if tail[0] == "kv" and len(tail) in (2, 3):
            return self._kv_route(r, None, tail[1:])
        if tail[0] == "tenants" and len(tail) in (4, 5) and tail[2] == "kv":
            return self._kv_route(r, tail[1], tail[3:])
        raise HttpError(404, "not_found", f"no such path: {r.scope['path']}")

    def _kv_route(self, r: Request, tenant: str | None, rest: list[str]) -> tuple[str, Any, tuple]:
        key = rest[0]
        if len(rest) == 2:
            if rest[1] != "cas":
                raise HttpError(404, "not_found", f"no such path: {r.scope['path']}")
            return "kv_cas", self._only(r.method, "POST", self.kv_cas), (tenant, key)
        handlers = {"GET": self.kv_get, "PUT": self.kv_put, "DELETE": self.kv_delete}
        if r.method not in handlers:
            raise HttpError(405, "method_not_allowed", f"{r.method} not allowed here; use GET, PUT or DELETE")
        return f"kv_{r.method.lower()}", handlers[r.method], (tenant, key)

    @staticmethod
    def _only(method: str, allowed: str, handler: Any) -> Any:
        if method != allowed:
            raise HttpError(405, "method_not_allowed", f"{method} not allowed here; use {allowed}")
        return handler

    # -- plain endpoints --

    def _who(self) -> dict[str, Any]:
        return {"node": self.me.name, "group": self.me.group, "region": self.me.region}

    async def metrics_text(self, r: Request) -> tuple[int, bytes]:
        return 200, self.metrics.render()

    async def openapi(self, r: Request) -> tuple[int, dict]:
        """The contract as data (docs/openapi.yaml, read once, served as JSON)."""
        try:
            return 200, dict(contract_document())
        except (OSError, ValueError) as exc:
            raise HttpError(404, "not_found", f"the contract document is not available: {exc}") from None

    async def health(self, r: Request) -> tuple[int, dict]:
        status = self.raft.status()
        healthy = status["leader"] is not None and status["has_quorum"]
        return 200, {**self._who(), "status": "ok" if healthy else "degraded", "leader": status["leader"],
                     "has_quorum": status["has_quorum"], "uptime_s": round(time.time() - self.started, 3)}

    async def config(self, r: Request) -> tuple[int, dict]:
        preset = self.cluster.preset
        features = {
            name: {"requested": requested, "available": name in BUILT_FEATURES,
                   "enabled": requested and name in BUILT_FEATURES,
                   **({} if name in BUILT_FEATURES else {"note": "not built in this testbed yet"})}
            for name, requested in preset["features"].items()
        }
        for name in sorted(BUILT_FEATURES - set(features)):  # built in, not a preset switch (auto_scaling)
            features[name] = {"requested": False, "available": True, "enabled": True,
                              "note": "built into this testbed; not a preset switch"}
        return 200, {**self._who(), "preset": preset["name"], "features": features,
                     "regions": preset["cluster"]["regions"], "groups": self.ring.groups,
                     "limits": self.limits, "raft": preset["raft"]}

    async def node_status(self, r: Request) -> tuple[int, dict]:
        return 200, {**self._who(), **self.raft.status(), "keys": self.raft.state.key_count()}

    async def cluster_view(self, r: Request) -> tuple[int, dict]:
        async def probe(spec: NodeSpec) -> dict[str, Any]:
            entry = {"node": spec.name, "region": spec.region, "http": spec.http_base}
            if spec.name == self.me.name:
                return {**entry, "reachable": True, **self.raft.status()}
            try:
                response = await self.forwarder.client.get(f"{self.forwarder.bases[spec.name]}/v1/node",
                                                            timeout=0.5)
                data = response.json()
                return {**entry, "reachable": True, **{k: data.get(k) for k in
                        ("role", "term", "commit_index", "last_applied", "leader", "has_quorum")}}
            except (httpx.HTTPError, ValueError):
                return {**entry, "reachable": False}

        views = await asyncio.gather(*(probe(n) for n in self.cluster.nodes))
        groups = []
        for group in self.ring.groups:
            members = [v for v, n in zip(views, self.cluster.nodes, strict=True) if n.group == group]
            leaders = [m["node"] for m in members if m.get("role") == "leader"]
            terms = [m["term"] for m in members if m.get("term") is not None]
            groups.append({"id": group, "leader": leaders[0] if len(leaders) == 1 else None,
                           "term": max(terms) if terms else None, "members": members})
        return 200, {**self._who(), "observed_by": self.me.name, "groups": groups}

    async def ring_params(self, r: Request) -> tuple[int, dict]:
        previous = self.rebalancer.ring_previous()  # the ring keys move FROM while a rebalance runs
        return 200, {**self._who(), **self.ring.describe(), "previous": previous}

    async def placement(self, r: Request) -> tuple[int, dict]:
        key = r.query.get("key")
        tenant = r.query.get("tenant")
        if key is None or tenant is None:
            raise HttpError(400, "missing_field", "query parameters 'tenant' and 'key' are required")
        self._check_key(key)
        return 200, {**self._who(), "tenant": tenant, "key": key, "point": point(f"{tenant}/{key}"),
                     "owner_group": self._owner(tenant, key), "epoch": self.ring.epoch}

    # -- tenants and auth --

    def _require_admin(self, r: Request) -> None:
        token = auth.bearer(r.headers)
        if token is None:
            raise HttpError(401, "unauthorized", "missing bearer token")
        if not auth.same(token, self.cluster.admin_token):
            raise HttpError(403, "forbidden", "admin token required")

    def _tenant_for(self, r: Request, named: str | None) -> str:
        token = auth.bearer(r.headers)
        if token is None:
            raise HttpError(401, "unauthorized", "missing bearer token")
        tenant = auth.tenant_of(self.cluster.secret, token)
        if tenant is None:
            raise HttpError(401, "unauthorized", "invalid token")
        if named is not None and named != tenant:
            if self.faults.get("tenant_leak"):  # TEST ONLY: isolation deliberately broken
                return named
            raise HttpError(403, "forbidden", "token does not belong to this tenant")
        return tenant

    async def create_tenant(self, r: Request) -> tuple[int, dict]:
        self._require_admin(r)
        name = field(await r.json_object(), "name", str)
        if len(name.encode()) > self.limits["max_tenant_name_bytes"] or not auth.TENANT_NAME.match(name):
            raise HttpError(400, "invalid_tenant", "tenant names are 1-64 of A-Z a-z 0-9 _ - and start alphanumeric")
        status, result = await self._dispatch({"op": "create_tenant", "tenant": SYSTEM_TENANT,
                                               "key": f"tenant/{name}", "value": "1"})
        if status != 200:
            return status, result
        created = result.get("created", False)
        return (201 if created else 200), {**self._who(), "tenant": name, "created": created,
                                           "token": auth.tenant_token(self.cluster.secret, name)}

    # -- KV --

    def _check_key(self, key: str) -> None:
        if not key:
            raise HttpError(400, "invalid_key", "key must not be empty")
        if len(key.encode()) > self.limits["max_key_bytes"]:
            raise HttpError(400, "key_too_long", f"key over {self.limits['max_key_bytes']} bytes")

    def _check_value(self, value: str) -> None:
        if len(value.encode()) > self.limits["max_value_bytes"]:
            raise HttpError(413, "value_too_large", f"value over {self.limits['max_value_bytes']} bytes")

    async def kv_put(self, r: Request, named: str | None, key: str) -> tuple[int, dict]:
        tenant = self._tenant_for(r, named)
        self._check_key(key)
        value = field(await r.json_object(), "value", str)
        self._check_value(value)
        prefix = self.faults.get("crash_on_value_prefix")
        if prefix and value.startswith(prefix):  # TEST ONLY: a handler bug on some valid input (answers 500)
            raise RuntimeError("value normaliser failed (test fault crash_on_value_prefix)")
        return await self._dispatch({"op": "put", "tenant": tenant, "key": key, "value": value})

    async def kv_cas(self, r: Request, named: str | None, key: str) -> tuple[int, dict]:
        tenant = self._tenant_for(r, named)
        self._check_key(key)
        body = await r.json_object()
        expected = field(body, "expected", str, nullable=True)
        value = field(body, "value", str)
        self._check_value(value)
        return await self._dispatch({"op": "cas", "tenant": tenant, "key": key, "expected": expected, "value": value})

    async def kv_delete(self, r: Request, named: str | None, key: str) -> tuple[int, dict]:
        tenant = self._tenant_for(r, named)
        self._check_key(key)
        return await self._dispatch({"op": "delete", "tenant": tenant, "key": key})

    async def kv_get(self, r: Request, named: str | None, key: str) -> tuple[int, dict]:
        tenant = self._tenant_for(r, named)
        self._check_key(key)
        consistency = r.query.get("consistency", "linearizable")
        if consistency == "local":  # read-local routing (testbed/sql_routing.py)
            return await local_read(self, r, tenant, key)
        if consistency != "linearizable":
            raise HttpError(400, "bad_consistency", "consistency must be 'linearizable' or 'local'")
        return await self._dispatch({"op": "get", "tenant": tenant, "key": key})

    def _owner(self, tenant: str, key: str) -> str:
        owner = self.ring.owner(tenant, key)
        # TEST ONLY (test_faults.misroute_fraction): send some keys to the next group on the ring.
        if selected(f"{tenant}/{key}", float(self.faults.get("misroute_fraction", 0.0))):
            groups = self.ring.groups
            owner = groups[(groups.index(owner) + 1) % len(groups)]
        return owner

    async def _dispatch(self, op: dict[str, Any]) -> tuple[int, dict]:
        """Serve or forward a KV operation. While a rebalance moves its key, the operation is refused as
        certainly not applied (503, ``moving``); that is retried here until the forwarding deadline."""
        self.rebalancer.sync_view()
        deadline = time.monotonic() + self.retry_deadline
        while True:
            try:
                return await self._route_op(op, self._owner(op["tenant"], op["key"]), 0)
            except HttpError as exc:
                if not exc.extra.get("moving") or time.monotonic() + self.backoff > deadline:
                    raise
            await asyncio.sleep(self.backoff)

    async def _route_op(self, op: dict[str, Any], owner: str, hops: int) -> tuple[int, dict]:
        if owner == self.me.group:
            return await self._apply(op, hops)
        if op["op"] in WRITE_OPS and "op_id" not in op:
            # one id for every attempt of this write: the forwarder may retry it after an unknown outcome
            # and the owning group's state machine applies it once (KVState.once)
            op = {**op, "op_id": secrets.token_hex(16)}
        status, payload = await self.forwarder.send(owner, {**op, "epoch": self.ring.epoch, "hops": hops})
        self.metrics.forwarded.labels(to_group=owner, outcome=str(status)).inc()
        payload["forwarded_by"] = self.me.name
        return status, payload

    async def _follow(self, op: dict[str, Any], where: dict[str, Any], hops: int) -> tuple[int, dict]:
        """The group's state machine said another group serves this key now (a rebalance): go there."""
        if where["route"] == "moving":
            raise HttpError(503, "unavailable", f"key is moving to group {where['group']} (rebalance); not applied",
                            group=self.me.group, moving=True)
        if hops >= MAX_HOPS:
            raise HttpError(503, "unavailable", "routing did not settle during a rebalance; not applied",
                            group=self.me.group, moving=True)
        return await self._route_op(op, where["group"], hops + 1)

    async def internal_apply(self, r: Request) -> tuple[int, dict]:
        if not auth.same(r.headers.get(INTERNAL_HEADER, ""), self.forwarder.auth):
            raise HttpError(403, "forbidden", "internal endpoint")
        op = await r.json_object()
        if op.get("op") not in KV_OPS or not isinstance(op.get("tenant"), str) or not isinstance(op.get("key"), str):
            raise HttpError(400, "bad_request", "malformed internal operation")
        op_id = op.get("op_id")
        if op_id is not None and not (isinstance(op_id, str) and 0 < len(op_id) <= MAX_OP_ID_CHARS):
            raise HttpError(400, "bad_request", "malformed internal operation id")
        hops = op.get("hops", 0)
        hops = hops if isinstance(hops, int) and not isinstance(hops, bool) and 0 <= hops <= MAX_HOPS else MAX_HOPS
        owner = self._owner(op["tenant"], op["key"])
        if owner != self.me.group and self.raft.state.ring_view is None:
            if hops >= MAX_HOPS or "hops" not in op:  # a router on the same ring as ours: a real misroute
                raise HttpError(421, "wrong_group", f"key belongs to {owner}, not {self.me.group}")
            return await self._route_op(op, owner, hops + 1)  # our view is older than the sender's
        return await self._apply(op, hops)

    def _stale_read(self, op: dict[str, Any]) -> bool:
        """TEST ONLY (``stale_read_fraction``): should this linearizable GET skip the Raft log? Only on a
        follower, whose replica may lag the leader's commits: the answer can be stale."""
        fraction = float(self.faults.get("stale_read_fraction", 0.0))
        if fraction <= 0 or self.raft.syncobj._isLeader():
            return False
        self._reads += 1
        return selected(f"{op['tenant']}/{op['key']}/{self._reads}", fraction)

    def _local_answer(self, op: dict[str, Any]) -> tuple[int, dict]:
        """A GET answered from this node's replica but labelled linearizable (the stale-read bug)."""
        entry = self.raft.state.local_get(op["tenant"], op["key"])
        base = {**self._who(), "leader": self.raft.leader_name(), "key": op["key"]}
        if entry is None:
            raise HttpError(404, "not_found", "key not found", **base)
        return 200, {**base, **entry, "consistency": "linearizable"}

    async def _apply(self, op: dict[str, Any], hops: int = 0) -> tuple[int, dict]:
        """Commit the operation in this node's group; retries only attempts that certainly did not apply."""
        state = self.raft.state
        commands = {
            "put": (state.put, (op["tenant"], op["key"], op.get("value"))),
            "cas": (state.cas, (op["tenant"], op["key"], op.get("expected"), op.get("value"))),
            "delete": (state.delete, (op["tenant"], op["key"])),
            "get": (state.read, (op["tenant"], op["key"])),
            "create_tenant": (state.create_if_absent, (op["tenant"], op["key"], op.get("value"))),
        }
        command, args = commands[op["op"]]
        if isinstance(op.get("op_id"), str) and op["op"] in WRITE_OPS:  # a forwarded write: at most once
            command, args = state.once, (op["op_id"], command.__name__, args)
        if op["op"] == "get" and self._stale_read(op):
            return self._local_answer(op)
        deadline = time.monotonic() + self.retry_deadline
        while True:
            try:
                result = await self.raft.commit(command, *args)
                break
            except CommitFailed as exc:
                base = {**self._who(), "leader": self.raft.leader_name()}
                if exc.applied is None:
                    raise HttpError(504, "outcome_unknown", f"commit outcome unknown: {exc.reason}", **base) from None
                if time.monotonic() + self.backoff > deadline:
                    raise HttpError(503, "unavailable", f"group {self.me.group} cannot commit: {exc.reason}",
                                    **base) from None
                await asyncio.sleep(self.backoff)
        if isinstance(result, dict) and "route" in result:  # rebalancing: not applied here
            return await self._follow(op, result, hops)
        base = {**self._who(), "leader": self.raft.leader_name(), "key": op["key"]}
        if op["op"] == "get":
            if result is None:
                raise HttpError(404, "not_found", "key not found", **base)
            return 200, {**base, **result, "consistency": "linearizable"}
        if op["op"] == "cas" and not result["swapped"]:
            raise HttpError(409, "cas_mismatch", "current value differs from expected", **base,
                            current=result["current"], version=result["version"])
        return 200, {**base, **result, "quorum": quorum(self)}  # write-quorum (testbed/sql_routing.py)

    async def _internal_read(self, r: Request) -> tuple[int, dict]:
        return await internal_read(self, r)
