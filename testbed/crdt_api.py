"""The CRDT endpoints of contract v2 (docs/contract.md, "CRDTs (v2)"): writes applied at the serving node and
acknowledged at once (AP, no consensus), reads of this node's replica, and the internal anti-entropy endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING, Any

from . import auth
from .crdt import MAX_DELTA, TYPES, Replica, counter_value, live_tags, set_value
from .crdt_sync import AntiEntropy
from .forward import INTERNAL_HEADER
from .hlc import HybridClock
from .web import HttpError, Request, field

if TYPE_CHECKING:
    from .api import NodeApp

OPS = {"counter": ("inc",), "set": ("add", "remove"), "register": ("set",)}
SEEN_MAX = 100_000   # op ids remembered per node for idempotent re-sends (oldest forgotten first)
SKEW_STEP_MS = 500   # TEST ONLY (crdt_clock_ignores_causality): clock skew per region index, ms


class CrdtService:
    def __init__(self, app: NodeApp) -> None:
        self.app = app
        faults = app.faults
        broken_clock = bool(faults.get("crdt_clock_ignores_causality"))
        regions = app.cluster.preset["cluster"]["regions"]
        skew = SKEW_STEP_MS * regions.index(app.me.region) if broken_clock else 0
        self.clock = HybridClock(app.me.name, skew_ms=skew, ignore_received=broken_clock)
        self.replica = Replica(app.me.name, drops_concurrent=bool(faults.get("crdt_merge_drops_concurrent")))
        self.sync = AntiEntropy(app.cluster, app.me, self.replica, self.clock, app.metrics,
                                stops_after_partition=bool(faults.get("crdt_anti_entropy_stops_after_partition")))
        # (tenant, op_id) -> (digest of the write, answer): a digest, because a value may be 64 KiB
        self.seen: dict[tuple[str, str], tuple[bytes, dict[str, Any]]] = {}

    def _who(self) -> dict[str, Any]:
        return {"node": self.app.me.name, "group": self.app.me.group, "region": self.app.me.region}

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in TYPES:
            raise HttpError(400, "invalid_crdt_type", f"CRDT type must be one of {', '.join(TYPES)}, not {kind!r}")
        return kind

    # -- writes --

    async def write(self, r: Request, kind: str, key: str) -> tuple[int, dict]:
        tenant = self.app._tenant_for(r, None)
        kind = self._kind(kind)
        self.app._check_key(key)
        body = await r.json_object()
        op_id = field(body, "op_id", str)
        if not op_id or len(op_id.encode()) > self.app.limits["max_key_bytes"]:
            raise HttpError(400, "invalid_op_id", f"op_id must be 1-{self.app.limits['max_key_bytes']} bytes")
        op = field(body, "op", str)
        if op not in OPS[kind]:
            raise HttpError(400, "invalid_op", f"op of a {kind} must be one of {', '.join(OPS[kind])}, not {op!r}")
        request = self._validated(kind, op, body)
        canonical = hashlib.blake2b(json.dumps({"kind": kind, "key": key, **request}, sort_keys=True).encode(),
                                    digest_size=16).digest()
        cached = self.seen.get((tenant, op_id))
        if cached is not None:
            if cached[0] != canonical:
                raise HttpError(409, "op_id_reused", f"op_id {op_id!r} was already used for another write",
                                **self._who())
            answer = cached[1]
        else:
            answer = self._apply(tenant, kind, key, op, op_id, request)
            if len(self.seen) >= SEEN_MAX:
                del self.seen[next(iter(self.seen))]
            self.seen[(tenant, op_id)] = (canonical, answer)
        if kind == "register":
            await self._commit_wait(answer["timestamp"])
        return 200, dict(answer)

    def _validated(self, kind: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "counter":
            delta = field(body, "delta", int)
            if abs(delta) > MAX_DELTA:
                raise HttpError(400, "delta_out_of_range", f"delta must be within +-{MAX_DELTA}")
            return {"op": op, "delta": delta}
        name = "element" if kind == "set" else "value"
        value = field(body, name, str)
        self.app._check_value(value)
        return {"op": op, name: value}

    def _apply(self, tenant: str, kind: str, key: str, op: str, op_id: str,
               request: dict[str, Any]) -> dict[str, Any]:
        answer = {**self._who(), "op_id": op_id, "type": kind, "key": key}
        if kind == "set" and op == "add":
            request = {**request, "tag": op_id}
            answer["tag"] = op_id
        elif kind == "set":
            tags = live_tags(self.replica.peek(tenant, kind, key), request["element"])
            request = {**request, "tags": tags}
            answer["removed_tags"] = tags
        elif kind == "register":
            ts = self.clock.tick()
            request = {**request, "ts": ts, "op_id": op_id}
            answer["timestamp"] = list(ts)
        delta = self.replica.local(tenant, kind, key, request)
        self.sync.record((tenant, kind, key), delta)
        return answer

    async def _commit_wait(self, ts: list) -> None:
        """Answer only once this node's clock is past the write's millisecond: any write invoked after the
        acknowledgement, at any node (all read the same clock), then gets a greater timestamp."""
        while (wait_ms := self.clock.ms_until_past(tuple(ts))) > 0:
            await asyncio.sleep(wait_ms / 1000)

    # -- reads --

    async def read(self, r: Request, kind: str, key: str) -> tuple[int, dict]:
        tenant = self.app._tenant_for(r, None)
        kind = self._kind(kind)
        self.app._check_key(key)
        state = self.replica.peek(tenant, kind, key)
        answer = {**self._who(), "type": kind, "key": key, "version_vector": dict(state["vv"])}
        if kind == "counter":
            answer["value"] = counter_value(state)
        elif kind == "set":
            answer["value"] = set_value(state)
        else:
            answer.update(value=state["v"], timestamp=list(state["ts"]) if state["ts"] else None,
                          winner_op_id=state["id"])
        return 200, answer

    async def list_keys(self, r: Request) -> tuple[int, dict]:
        tenant = self.app._tenant_for(r, None)
        return 200, {**self._who(), "keys": self.replica.keys(tenant)}

    # -- anti-entropy --

    async def internal(self, r: Request) -> tuple[int, dict]:
        if not auth.same(r.headers.get(INTERNAL_HEADER, ""), self.app.forwarder.auth):
            raise HttpError(403, "forbidden", "internal endpoint")
        try:
            # json.loads, not r.json_object(): a peer's message is authenticated and was written by json.dumps,
            # so the client-input checks (a second encoding pass over up to 256 KiB) would be pure cost
            body = json.loads(await r.body())
            if not isinstance(body, dict):
                raise TypeError("not an object")
            return 200, self.sync.receive(body)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise HttpError(400, "bad_request", f"malformed anti-entropy message: {exc.__class__.__name__}") from None
