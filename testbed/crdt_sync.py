"""Delta-state anti-entropy between every pair of nodes (Almeida et al.'s delta-interval algorithm).

Each local write appends its delta to this node's outgoing log under a local sequence number. One task per
peer sends, at most once per ``interval_s`` (paced: at once when the previous request is older than that) and
only when there is something new, the deltas after the peer's
last acknowledged sequence number in one ``POST /v1/internal/crdt``; the answer acknowledges them. Deltas
acknowledged by every peer are dropped from the log. An idle node sends nothing and its tasks sleep on an
event, so anti-entropy costs nothing when no CRDT is written.

Nodes of another region are reached through the inter-region HTTP links of testbed/geo.py (the fault proxy),
so injected latency and partitions hold replication back; same-region peers directly.

Each node process has a random *incarnation*. When a peer's incarnation is new (first contact, or the peer
restarted with an empty memory), the sender first sends its whole replica state (full sync, in chunks):
the state is in memory only, and that is how a restarted node catches up.

TEST ONLY (``crdt_anti_entropy_stops_after_partition``): once sends to a peer that had answered before
have failed for ``give_up_s`` seconds in a row, the task for that peer ends for good.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import Any

from .config import Cluster, NodeSpec
from .crdt import Replica, wire_state
from .crdt_link import LinkError, PeerLink
from .forward import INTERNAL_HEADER, internal_token
from .geo import routes
from .hlc import HybridClock
from .logs import event
from .metrics import NodeMetrics

log = logging.getLogger("testbed.crdt")
SYNC_PATH = "/v1/internal/crdt"
DEFAULTS = {"interval_s": 0.1, "retry_s": 0.25, "request_timeout_s": 3.0, "batch_bytes": 262144,
            "give_up_s": 3.0}


def settings(preset: dict[str, Any]) -> dict[str, float]:
    """The preset's ``[crdt]`` table over the defaults (seconds; bytes for ``batch_bytes``)."""
    return {**DEFAULTS, **{k: float(v) for k, v in (preset.get("crdt") or {}).items() if k in DEFAULTS}}


class AntiEntropy:
    def __init__(self, cluster: Cluster, me: NodeSpec, replica: Replica, clock: HybridClock,
                 metrics: NodeMetrics, stops_after_partition: bool = False) -> None:
        self.me, self.replica, self.clock, self.metrics = me, replica, clock, metrics
        self.conf = settings(cluster.preset)
        self.stops_after_partition = stops_after_partition
        self.cluster_data, self.secret = cluster.data, cluster.secret  # add_peer reads the links learnt later
        self.incarnation = secrets.token_hex(8)
        self.region_of = {n.name: n.region for n in cluster.nodes}
        self.peers = [n.name for n in cluster.nodes if n.name != me.name]
        via = routes(cluster.data, me.region, "http")  # other regions' nodes: through the fault proxy
        headers = {INTERNAL_HEADER: internal_token(cluster.secret)}
        self.links = {n.name: PeerLink(via.get(n.name, f"{n.host}:{n.http_port}"), SYNC_PATH, headers,
                                       self.conf["request_timeout_s"]) for n in cluster.nodes if n.name != me.name}
        self.seq = 0                       # sequence number of the newest delta in the log
        self.first = 1                     # sequence number of self.log[0]
        self.log: list[str] = []           # the deltas, serialized once (each goes to every peer)
        self.acked = dict.fromkeys(self.peers, 0)
        self.known: dict[str, str | None] = dict.fromkeys(self.peers, None)  # peer -> incarnation
        self.full = dict.fromkeys(self.peers, True)  # a full sync is due (first contact / peer restarted)
        self.wake = {p: asyncio.Event() for p in self.peers}
        self.tasks: list[asyncio.Task] = []

    # -- local side --

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._peer_loop(p)) for p in self.peers]

    def add_peer(self, node: NodeSpec) -> None:
        """A node that joined (a group added by scale-out): it gets a full sync first, then every delta."""
        if node.name == self.me.name or node.name in self.links:
            return
        via = routes(self.cluster_data, self.me.region, "http")  # through the fault proxy, like the others
        headers = {INTERNAL_HEADER: internal_token(self.secret)}
        self.region_of[node.name] = node.region
        self.links[node.name] = PeerLink(via.get(node.name, f"{node.host}:{node.http_port}"), SYNC_PATH, headers,
                                         self.conf["request_timeout_s"])
        self.peers.append(node.name)
        self.acked[node.name], self.known[node.name], self.full[node.name] = 0, None, True
        self.wake[node.name] = asyncio.Event()
        self.wake[node.name].set()
        self.tasks.append(asyncio.create_task(self._peer_loop(node.name)))

    def remove_peer(self, name: str) -> None:
        """A node that left (its group was drained): stop sending to it, so the log is trimmed again."""
        if name not in self.links:
            return
        index = self.peers.index(name)
        self.peers.pop(index)
        if index < len(self.tasks):
            self.tasks.pop(index).cancel()
        for table in (self.acked, self.known, self.full, self.wake):
            table.pop(name, None)
        self.links.pop(name).close()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for link in self.links.values():
            link.close()

    def record(self, ident: tuple[str, str, str], delta: dict[str, Any]) -> None:
        """Queue a local write's delta for every peer."""
        self.seq += 1
        item = {"k": list(ident), "o": self.me.name, "t": time.time(), "d": delta}
        self.log.append(json.dumps(item, separators=(",", ":")))
        for peer in self.peers:
            self.wake[peer].set()

    def _pending(self, peer: str) -> bool:
        return self.full[peer] or self.seq > self.acked[peer]

    async def _peer_loop(self, peer: str) -> None:
        failing_since: float | None = None
        answered_once = False
        attempt = time.monotonic()  # the first contact waits one interval, as every node is still starting
        while True:
            if not self._pending(peer):
                self.wake[peer].clear()
                await self.wake[peer].wait()
            # Pace, do not delay: at most one request per interval (the writes of an interval go in one
            # request), but a delta that arrives after a quiet interval (or after the retry wait of a failed
            # send) goes at once instead of waiting a whole interval more.
            pause = self.conf["interval_s"] - (time.monotonic() - attempt)
            if pause > 0:
                await asyncio.sleep(pause)
            attempt = time.monotonic()
            try:
                await self._send(peer)
                outcome, answered_once, failing_since = "ok", True, None
            except LinkError as exc:
                outcome = "failed"
                if failing_since is None:
                    failing_since = attempt
                    event(log, "crdt_peer_unreachable", peer=peer, error=str(exc))
            self.metrics.crdt_rounds.labels(dest_region=self.region_of[peer], outcome=outcome).inc()
            if failing_since is not None:
                if (self.stops_after_partition and answered_once
                        and time.monotonic() - failing_since > self.conf["give_up_s"]):
                    # TEST ONLY: the bug. Nothing will ever be sent to this peer again.
                    event(log, "crdt_peer_given_up", logging.WARNING, peer=peer, test_fault=True)
                    return
                await asyncio.sleep(self.conf["retry_s"])

    async def _send(self, peer: str) -> None:
        if self.full[peer]:
            await self._full_sync(peer)
            return
        upto = self.seq
        start = self.acked[peer] + 1 - self.first
        items, size = [], 0
        for item in self.log[start:upto + 1 - self.first]:
            items.append(item)
            size += len(item)
            if size >= self.conf["batch_bytes"]:
                break
        upto = self.acked[peer] + len(items)
        await self._post(peer, items)
        if not self.full[peer]:  # a restarted peer (new incarnation) gets a full sync instead
            self.acked[peer] = max(self.acked[peer], upto)
            self._collect()

    async def _full_sync(self, peer: str) -> None:
        """Send every key's whole state, in chunks; the deltas written meanwhile follow as usual."""
        upto, incarnation = self.seq, self.known[peer]
        idents = list(self.replica.states)
        chunk: list[str] = []
        size = 0
        for i, ident in enumerate(idents):
            item = json.dumps({"k": list(ident), "s": wire_state(ident[1], self.replica.states[ident])},
                              separators=(",", ":"))
            chunk.append(item)
            size += len(item)
            if size >= self.conf["batch_bytes"] or i == len(idents) - 1:
                await self._post(peer, chunk)
                chunk, size = [], 0
        if not idents:
            await self._post(peer, [])  # first contact: introduce ourselves (our incarnation)
        if incarnation is not None and self.known[peer] != incarnation:
            return  # it restarted while we were sending: the first chunks went to the old process
        self.full[peer] = False
        self.acked[peer] = upto
        self._collect()

    async def _post(self, peer: str, items: list[str]) -> dict[str, Any]:
        head = json.dumps({"from": self.me.name, "incarnation": self.incarnation})[:-1]
        body = f'{head},"items":[{",".join(items)}]}}'.encode()
        answer = await self.links[peer].post(body)
        incarnation = answer.get("incarnation")
        if self.known[peer] is not None and incarnation != self.known[peer]:
            self.full[peer] = True  # it restarted: everything it had is gone
        self.known[peer] = incarnation
        return answer

    def _collect(self) -> None:
        """Drop the deltas every peer has acknowledged (amortized: only when half the log can go)."""
        low = min(self.acked.values()) if self.acked else self.seq
        drop = low + 1 - self.first
        if drop > 0 and drop * 2 >= len(self.log):
            del self.log[:drop]
            self.first += drop

    # -- remote side --

    def receive(self, body: dict[str, Any]) -> dict[str, Any]:
        """Join the items a peer sent; returns the answer (our incarnation)."""
        sender, incarnation = body.get("from"), body.get("incarnation")
        if sender in self.known and incarnation != self.known[sender]:
            if self.known[sender] is not None:
                self.full[sender] = True  # a new process there: send it everything we have
                self.wake[sender].set()
            self.known[sender] = incarnation
        now = time.time()
        lags: dict[str, Any] = {}  # origin node -> its histogram child (labels() is slow; cache per request)
        for item in body.get("items", []):
            tenant, kind, key = item["k"]
            if "s" in item:
                self.replica.merge_state(tenant, kind, key, item["s"])
                continue
            delta = item["d"]
            if kind == "register":
                self.clock.observe(delta["ts"])
            self.replica.remote(tenant, kind, key, item["o"], delta)
            lag = lags.get(item["o"])
            if lag is None:
                lag = lags[item["o"]] = self.metrics.crdt_lag.labels(
                    source_region=self.region_of.get(item["o"], "?"), dest_region=self.me.region)
            lag.observe(max(0.0, now - float(item["t"])))
        return {"incarnation": self.incarnation, "node": self.me.name}
