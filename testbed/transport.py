"""The adaptive inter-region transport of a node (issue 13): HTTP/2 over TLS or HTTP/3 over QUIC per region
pair, chosen by ``transport_policy.PairPolicy`` from probes.

- Every node serves its internal API on a second listener (``transport_server.py``: hypercorn, h2 on TCP and
  h3 on UDP, same port number ``xport_port``) and echoes probe datagrams on ``probe_port`` (UDP).
- Requests to a node of another region go through the fault proxy's links for that node (``h2`` TCP link,
  ``h3`` UDP relay), so both protocols cross the same simulated WAN and its faults.
- A prober sends one small datagram every ``probe_interval_s`` seconds to the peer of each other region (the
  node of our own group there, else the region's first node) through the ``probe`` UDP link; the round
  trip feeds the pair's policy; a probe counts as lost once three later probes to that region came back
  (QUIC's packet threshold), or after ``probe_timeout_s`` if a later probe came back meanwhile. A peer that
  answers nothing (killed, stopped, restarting, or a link cut off) is an outage, not a loss rate: probes
  unanswered in a run of ``OUTAGE_PROBES`` or more are never counted, so killing a node does not move the
  pairs of its group-mates to h3 (it did: two timed-out probes passed ``loss_up``), and a blackhole leaves
  the protocol as it was (no protocol carries traffic over a cut link).
- A switch only changes which client *new* requests use: requests in flight finish on the protocol they
  started on (no client is closed by a switch). It is logged (``transport_switch``) and counted in
  /metrics; every forwarded answer names its protocol (``transport`` field, set by the forwarder).

Idle cost: one timer per ``probe_interval_s`` (no busy polling), the idle QUIC connections' timers, and a
probe thread blocked in ``select`` (``ProbeThread``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import select
import socket
import ssl
import struct
import threading
import time
from typing import Any

import anyio
import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from . import h2_pool
from .config import Cluster, NodeSpec
from .geo import routes
from .logs import event
from .transport_h3 import H3Peer
from .transport_policy import PairPolicy, PolicyConfig, Switch

log = logging.getLogger("testbed.transport")
PROBE = struct.Struct("!4sQd")  # magic, sequence number, send time (monotonic s)
MAGIC = b"tp01"
REORDER_PROBES = 3  # later probes to the same region that must come back before one counts lost (QUIC's)
OUTAGE_PROBES = 3  # this many consecutive unanswered probes of a region are an outage (p=0.1 loss: 1 in 1000)


class LinkResponse:
    """The answer of a transport request, shaped like the part of ``httpx.Response`` the forwarder uses."""

    def __init__(self, status_code: int, content: bytes, transport: str) -> None:
        self.status_code, self.content, self.transport = status_code, content, transport

    def json(self) -> Any:
        return json.loads(self.content)


class ProbeThread:
    """The probe datagrams' sockets, served by a thread of their own: the echo (answers each probe at once)
    and the prober's socket (stamps each answer when it arrives, then hands it to the event loop).

    Not the event loop's, because under load a node's loop lags by tens of milliseconds between a datagram's
    arrival and its callback, on both sides, and every probe then looked like a WAN 60-100 ms slower:
    a healthy 9-node testbed under 120 users switched its region pairs h2 <-> h3 about once a second.
    A thread waiting in ``select`` gets the interpreter back within the switch interval (~5 ms), so the
    round trip measures the link (and the fault proxy that simulates it), not this process's backlog."""

    def __init__(self, loop: asyncio.AbstractEventLoop, answered: Any, host: str, echo_port: int) -> None:
        self.loop, self.answered = loop, answered
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client.bind((host, 0))
        self.client.setblocking(False)
        self.echo: socket.socket | None = None
        if echo_port:
            echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                echo.bind((host, echo_port))
            except OSError:
                echo.close()
                raise
            echo.setblocking(False)
            self.echo = echo
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="transport-probes", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        try:
            self.client.sendto(data, address)
        except OSError:
            pass  # unreachable peer: the probe counts as lost (or as an outage) when it times out

    def _serve(self) -> None:
        sockets = [self._wake_r, self.client] + ([self.echo] if self.echo is not None else [])
        while True:
            try:
                ready, _, _ = select.select(sockets, [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                return
            if self.echo is not None and self.echo in ready:
                self._drain(self.echo, echo=True)
            if self.client in ready:
                self._drain(self.client, echo=False)

    def _drain(self, sock: socket.socket, echo: bool) -> None:
        for _ in range(64):  # bounded: a flood cannot hold the thread
            try:
                data, address = sock.recvfrom(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. ICMP port unreachable of an earlier probe: nothing to read
            if len(data) != PROBE.size or data[:4] != MAGIC:
                continue
            if echo:
                try:
                    sock.sendto(data, address)
                except OSError:
                    pass
            else:
                arrived = time.monotonic()
                _, seq, _sent = PROBE.unpack(data)
                try:
                    self.loop.call_soon_threadsafe(self.answered, seq, arrived)
                except RuntimeError:
                    return  # the loop is closed: the node is stopping

    def close(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for sock in (self.client, self.echo, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()


class TransportManager:
    def __init__(self, cluster: Cluster, me: NodeSpec, registry: CollectorRegistry | None = None) -> None:
        self.cluster, self.me = cluster, me
        section = cluster.preset.get("transport") or {}
        tls = cluster.data.get("transport") or {}
        self.enabled = bool(section.get("enabled")) and bool(tls) and me.xport_port > 0
        self.config = PolicyConfig.from_preset(section)
        self.probe_interval_s = float(section.get("probe_interval_s", 0.5))
        self.probe_timeout_s = float(section.get("probe_timeout_s", 1.0))
        self.connect_timeout_s = float(section.get("connect_timeout_s", 2.0))
        self.request_timeout_s = float(cluster.preset["forwarding"]["request_timeout"])
        faults = cluster.test_faults
        self.drop_on_switch = bool(faults.get("transport_switch_drops_inflight"))  # TEST ONLY
        never = bool(faults.get("transport_never_switches"))  # TEST ONLY
        self.h2_routes = routes(cluster.data, me.region, "h2")
        self.h3_routes = routes(cluster.data, me.region, "h3")
        self.probe_routes = routes(cluster.data, me.region, "probe")
        regions = [r for r in cluster.preset["cluster"]["regions"] if r != me.region]
        now = time.monotonic()
        self.policies = {r: PairPolicy(f"{me.region}/{r}", self.config, now, frozen=never) for r in regions}
        self.tls = tls
        self.h2: httpx.AsyncClient | None = None
        self.h3: dict[str, H3Peer] = {}
        self._outstanding: dict[int, tuple[str, float, int]] = {}  # probe seq -> (region, sent at, index)
        self._seq = 0
        self._sent = {r: 0 for r in regions}  # probes sent per region (a probe's index in its region)
        self._last_answer: dict[str, int] = {}  # region -> index of its latest answered probe
        self._probes: ProbeThread | None = None
        self._task: asyncio.Task | None = None
        registry = registry or CollectorRegistry()
        self.switches = Counter("testbed_transport_switches", "Transport switches of a region pair",
                                ["pair", "from_protocol", "to_protocol"], registry=registry)
        self.requests = Counter("testbed_transport_requests", "Inter-region requests by pair, protocol and outcome",
                                ["pair", "protocol", "outcome"], registry=registry)
        self.in_use = Gauge("testbed_transport_h3", "1 while the pair's new requests go over HTTP/3, else 0",
                            ["pair"], registry=registry)
        self.rtt = Gauge("testbed_transport_rtt_ms", "EWMA of the pair's probe round trip, ms", ["pair"],
                         registry=registry)
        self.loss = Gauge("testbed_transport_loss", "EWMA of the pair's probe loss (fraction)", ["pair"],
                          registry=registry)

    # -- lifecycle --

    async def start(self) -> None:
        """Open the probe responder and client and start probing (no-op when the transport is off)."""
        if not self.enabled:
            return
        logging.getLogger("quic").setLevel(logging.WARNING)  # aioquic logs every handshake at INFO
        loop = asyncio.get_running_loop()
        try:
            self._probes = ProbeThread(loop, self.probe_answered, self.me.host, self.me.probe_port)
        except OSError as exc:  # the port was taken since init: peers see no answer (no loss): they stay on h2
            event(log, "transport_probe_unavailable", logging.WARNING, port=self.me.probe_port, error=str(exc))
            self._probes = ProbeThread(loop, self.probe_answered, self.me.host, 0)
        self._probes.start()
        self.h2 = self._new_h2()
        self._task = loop.create_task(self._probe_loop())

    def _new_h2(self) -> httpx.AsyncClient:
        """An HTTP/2 client trusting exactly the cluster's certificate (its pool drops connections the peer
        closed: testbed/h2_pool.py)."""
        h2_pool.install()
        context = ssl.create_default_context(cafile=self.tls["cert"])
        return httpx.AsyncClient(http2=True, verify=context,
                                 timeout=httpx.Timeout(self.request_timeout_s, connect=self.connect_timeout_s),
                                 limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._probes is not None:
            self._probes.close()
        for peer in self.h3.values():
            peer.close()
        if self.h2 is not None:
            await self.h2.aclose()

    # -- requests --

    def covers(self, member: NodeSpec) -> bool:
        """True when requests to ``member`` take the adaptive transport (another region, links known)."""
        return (self.enabled and self.h2 is not None and member.region != self.me.region
                and member.name in self.h2_routes and member.name in self.h3_routes)

    def protocol_for(self, region: str) -> str:
        return self.policies[region].protocol

    async def post(self, member: NodeSpec, path: str, payload: dict[str, Any],
                   headers: dict[str, str]) -> LinkResponse:
        """POST ``payload`` to ``member`` over the pair's current protocol; raises httpx errors."""
        policy = self.policies[member.region]
        protocol = policy.protocol  # chosen once: a switch during the request does not move it
        body = json.dumps(payload).encode()
        try:
            if protocol == "h3":
                peer = self.h3.get(member.name)
                if peer is None:
                    peer = self.h3[member.name] = H3Peer(self.h3_routes[member.name], self.tls["cert"],
                                                         self.tls["server_name"], self.connect_timeout_s)
                status, content = await peer.post(path, body, headers, self.request_timeout_s)
            else:
                response = await self.h2.post(f"https://{self.h2_routes[member.name]}{path}", content=body,
                                               headers={"content-type": "application/json", **headers})
                status, content = response.status_code, response.content
        except httpx.HTTPError:
            self.requests.labels(pair=policy.pair, protocol=protocol, outcome="error").inc()
            if protocol == "h3" and (dead := self.h3.pop(member.name, None)) is not None:
                dead.close()  # a QUIC connection to a killed peer never errors by itself: reconnect next time
            raise
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            # httpcore's HTTP/2 connection lets these through when the peer closes mid-request (seen creating
            # 1000 tenants: 500 "unhandled error"): the request may or may not have arrived, so it is an
            # unknown-outcome transport error like any other read failure
            self.requests.labels(pair=policy.pair, protocol=protocol, outcome="error").inc()
            raise httpx.ReadError(f"{protocol} stream closed by the peer ({exc.__class__.__name__})") from exc
        self.requests.labels(pair=policy.pair, protocol=protocol, outcome="ok").inc()
        return LinkResponse(status, content, protocol)

    # -- probing --

    def _peer(self, region: str) -> str | None:
        nodes = [n for n in self.cluster.nodes if n.region == region and n.name in self.probe_routes]
        same = [n for n in nodes if n.group == self.me.group]
        chosen = (same or nodes or [None])[0]
        return self.probe_routes[chosen.name] if chosen is not None else None

    async def _probe_loop(self) -> None:
        while True:
            now = time.monotonic()
            self.expire_probes(now)
            for region in self.policies:
                address = self._peer(region)
                if address is None or self._probes is None:
                    continue
                host, port = address.rsplit(":", 1)
                sent = time.monotonic()  # stamped right before sending: the loop may have woken up late
                seq = self.probe_sent(region, sent)
                self._probes.send(PROBE.pack(MAGIC, seq, sent), (host, int(port)))
            await asyncio.sleep(self.probe_interval_s)

    def probe_sent(self, region: str, now: float) -> int:
        """Record a probe to ``region`` sent at ``now``; returns its sequence number."""
        self._seq += 1
        self._sent[region] += 1
        self._outstanding[self._seq] = (region, now, self._sent[region])
        return self._seq

    def expire_probes(self, now: float) -> None:
        """Settle the probes unanswered for ``probe_timeout_s``: lost if a later one to their region came back."""
        for seq, (region, sent, index) in list(self._outstanding.items()):
            if now - sent > self.probe_timeout_s:
                del self._outstanding[seq]
                if self._last_answer.get(region, -1) > index:  # the peer is up: the link lost it
                    self._observe(region, None, now)
                # else: nothing came back since (peer down or not up yet, link cut): an outage, forgotten

    def probe_answered(self, seq: int, now: float | None = None) -> None:
        entry = self._outstanding.pop(seq, None)
        if entry is None:
            return
        region, sent, index = entry
        now = time.monotonic() if now is None else now
        previous = self._last_answer.get(region)
        self._last_answer[region] = max(index, previous or 0)
        if previous is None or index - previous - 1 >= OUTAGE_PROBES:
            # the first answer, or the first after an outage (the peer was down, stopped or cut off): the
            # probes sent meanwhile were never lost on a working link
            for older in [k for k, (r, _, i) in self._outstanding.items() if r == region and i < index]:
                del self._outstanding[older]
        self._observe(region, (now - sent) * 1000, now)
        # QUIC's packet threshold: a probe is lost once REORDER_PROBES later probes to its region came back.
        # A stalled peer answers late but in order, so a busy machine is not mistaken for a lossy link.
        for older in [k for k, (r, _, i) in self._outstanding.items() if r == region and i <= index - REORDER_PROBES]:
            del self._outstanding[older]
            self._observe(region, None, now)

    def _observe(self, region: str, rtt_ms: float | None, now: float) -> None:
        policy = self.policies[region]
        switch = policy.observe(rtt_ms, now)
        self.rtt.labels(pair=policy.pair).set(policy.rtt_ms or 0.0)
        self.loss.labels(pair=policy.pair).set(policy.loss)
        if switch is not None:
            self._switched(region, switch)

    def _switched(self, region: str, switch: Switch) -> None:
        self.switches.labels(pair=switch.pair, from_protocol=switch.from_protocol,
                             to_protocol=switch.to_protocol).inc()
        self.in_use.labels(pair=switch.pair).set(1 if switch.to_protocol == "h3" else 0)
        event(log, "transport_switch", pair=switch.pair, **{"from": switch.from_protocol, "to": switch.to_protocol},
              rtt=switch.rtt_ms, loss=switch.loss, reason=switch.reason)
        if self.drop_on_switch:  # TEST ONLY: the bug a switch must not have: in-flight requests are cut
            self._drop_old(region, switch.from_protocol)

    def _drop_old(self, region: str, protocol: str) -> None:
        if protocol == "h3":
            for name in [n.name for n in self.cluster.nodes if n.region == region]:
                peer = self.h3.pop(name, None)
                if peer is not None:
                    peer.close()
        elif self.h2 is not None:
            old, self.h2 = self.h2, self._new_h2()
            asyncio.get_running_loop().create_task(old.aclose())
