"""Forwarding a request to the Raft group that owns its key (federation)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from .config import Cluster, NodeSpec
from .geo import routes
from .logs import event
from .store import selected
from .transport import TransportManager
from .web import HttpError

log = logging.getLogger("testbed.forward")

INTERNAL_HEADER = "x-cluster-auth"
FAILED_LAST_S = 5.0  # a member whose request failed is tried after the others this long (a dead leader's
                     # group elects a new one in ~1 s; its followers relay commands to it meanwhile)


def internal_token(secret: bytes) -> str:
    return hmac.new(secret, b"testbed-internal", hashlib.sha256).hexdigest()


class Forwarder:
    """Sends an operation to a member of another group, following its leader, with bounded retries.

    An attempt that certainly did not apply (connection refused, 503) moves on to the next member until
    ``retry_deadline`` seconds have passed. An attempt whose outcome is unknown (timeout, connection lost
    after sending) is retried the same way when that is safe: a read, or a write carrying an op id (the
    owning group applies an op id once, ``KVState.once``); it is logged ``forward_retry``. Anything else, or
    a deadline passed after an unknown outcome, is answered 504 ``outcome_unknown``.
    """

    def __init__(self, cluster: Cluster, me: NodeSpec, registry: CollectorRegistry | None = None) -> None:
        self.cluster = cluster
        self.me = me
        self.transport = TransportManager(cluster, me, registry)  # issue 13; started by start()
        fwd = cluster.preset["forwarding"]
        self.retry_deadline = float(fwd["retry_deadline"])
        self.backoff = float(fwd["retry_backoff"])
        self.timeout = float(fwd["request_timeout"])
        self.leader_hint: dict[str, str] = {}
        self.failed_at: dict[str, float] = {}  # member -> when a request to it last failed (monotonic s)
        self.bases: dict[str, str] = {}
        self.refresh()
        self.auth = internal_token(cluster.secret)
        # TEST ONLY (test_faults.forward_answer_lost_fraction): the answers of some forwarded writes are
        # dropped once after the owner applied them (the op ids already treated so)
        self.lose_answer_fraction = float(cluster.test_faults.get("forward_answer_lost_fraction", 0.0))
        self._answers_lost: set[str] = set()
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=0.5),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def refresh(self) -> None:
        """(Re)build the address of every node, e.g. after a rebalance taught us a new group's members."""
        via = routes(self.cluster.data, self.me.region, "http")  # other regions' nodes: through the fault proxy
        self.bases = {n.name: f"http://{via[n.name]}" if n.name in via else n.http_base for n in self.cluster.nodes}

    def candidates(self, group: str) -> list[NodeSpec]:
        members = self.cluster.members(group)
        hint = self.leader_hint.get(group)
        recent = time.monotonic() - FAILED_LAST_S
        # a member that just failed goes last, or every request would pay for it again until the group's
        # new leader is known (on h3 a dead peer costs a handshake timeout, connect_timeout_s, per try)
        return sorted(members, key=lambda m: (self.failed_at.get(m.name, recent) > recent, m.name != hint,
                                              m.region != self.me.region))

    def _lose_answer(self, operation: dict[str, Any]) -> bool:
        """TEST ONLY: drop this answer (once per op id)? Chosen by the op id, so the same share everywhere."""
        op_id = operation.get("op_id")
        if self.lose_answer_fraction <= 0 or not isinstance(op_id, str) or op_id in self._answers_lost:
            return False
        if not selected(op_id, self.lose_answer_fraction):
            return False
        if len(self._answers_lost) > 100_000:  # bounded: a long run forgets the oldest cases
            self._answers_lost.clear()
        self._answers_lost.add(op_id)
        return True

    async def send(self, group: str, operation: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, answer) of ``operation`` served by ``group``; raises HttpError 503 (certainly not applied)
        or 504 (outcome unknown) when no attempt got an answer within ``retry_deadline`` seconds."""
        deadline = time.monotonic() + self.retry_deadline
        last_error = "no member reachable"
        unknown: str | None = None  # the last attempt that may have applied, if any
        retry_safe = operation.get("op") == "get" or isinstance(operation.get("op_id"), str)
        while True:
            for member in self.candidates(group):
                try:
                    if self.transport.covers(member):  # another region: h2 or h3 by the pair's policy
                        response = await self.transport.post(member, "/v1/internal/apply", operation,
                                                             {INTERNAL_HEADER: self.auth})
                    else:
                        response = await self.client.post(
                            f"{self.bases[member.name]}/v1/internal/apply", json=operation,
                            headers={INTERNAL_HEADER: self.auth})
                    if self._lose_answer(operation):
                        raise httpx.ReadError("TEST ONLY: forwarded answer dropped")
                except httpx.ConnectError as exc:
                    last_error = f"{member.name}: {exc.__class__.__name__}"
                    self.failed_at[member.name] = time.monotonic()
                    if self.leader_hint.get(group) == member.name:  # a dead leader must not stay the first try
                        self.leader_hint.pop(group, None)
                    continue
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    self.failed_at[member.name] = time.monotonic()
                    if self.leader_hint.get(group) == member.name:  # the next request tries the others first
                        self.leader_hint.pop(group, None)
                    unknown = f"forwarding to {member.name} failed after sending: {exc.__class__.__name__}"
                    error = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                    pair = f"{self.me.region}/{member.region}"
                    if retry_safe and time.monotonic() + self.backoff < deadline:
                        # WARNING, not a failure: the transport judge reads these (a switch must not cut
                        # requests in flight, even when the retry hides it from the client)
                        event(log, "forward_retry", logging.WARNING, group=group, member=member.name, pair=pair,
                              op=operation.get("op"), error=error)
                        continue
                    # a 504 says only "outcome unknown": the node's log says why (WARNING: not a failure)
                    event(log, "forward_outcome_unknown", logging.WARNING, group=group, member=member.name,
                          pair=pair, error=error)
                    raise HttpError(504, "outcome_unknown", unknown, group=group) from None
                try:
                    payload = response.json()
                except ValueError:
                    payload = {"error": {"code": "bad_gateway", "message": "non-JSON answer from peer"}}
                if response.status_code == 503:
                    last_error = f"{member.name}: {payload.get('error', {}).get('message', 'unavailable')}"
                    continue
                self.failed_at.pop(member.name, None)  # it answers again
                leader = payload.get("leader")
                if isinstance(leader, str):
                    self.leader_hint[group] = leader
                payload["transport"] = getattr(response, "transport", "http/1.1")  # which protocol carried it
                return response.status_code, payload
            if time.monotonic() + self.backoff > deadline:
                if unknown is not None:  # an earlier attempt may have applied: not a clean "unavailable"
                    raise HttpError(504, "outcome_unknown", f"{unknown}; no answer since", group=group)
                raise HttpError(503, "unavailable", f"group {group} unavailable: {last_error}", group=group)
            await asyncio.sleep(self.backoff)

    async def start(self) -> None:
        await self.transport.start()

    async def close(self) -> None:
        await self.transport.close()
        await self.client.aclose()
