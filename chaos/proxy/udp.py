"""The UDP transport of the fault proxy (a relay for QUIC): a listening socket per proxy and a *flow* per
client address.

A flow owns a fresh socket connected to the upstream, so the upstream sees one peer per client (as a NAT
would) and its answers come back to that flow, which sends them to the client from the listening socket.
Datagrams go through the same toxic pipes as TCP chunks (``Pipe(coalesce=False)``: never merged, and a
``loss`` toxic drops them). ``timeout`` (blackhole) drops every datagram; disabling the proxy closes the
listening socket and every flow. A flow idle for ``FLOW_IDLE_S`` seconds is forgotten (one sweep timer,
armed only while flows exist, so an idle relay costs nothing). Datagrams that arrive while a flow's
upstream socket is being opened wait (at most ``PENDING_MAX`` of them; more are dropped, as a full
network queue would).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .pipe import Pipe

if TYPE_CHECKING:
    from .registry import Proxy

FLOW_IDLE_S = 120.0    # seconds without a datagram either way before a flow is closed (QUIC idles 60 s)
SWEEP_S = 15.0         # seconds between idle sweeps while flows exist
PENDING_MAX = 256      # datagrams held while the upstream socket opens


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, flow: UdpFlow) -> None:
        self.flow = flow

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.flow.from_upstream(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable from a stopped upstream: datagrams are lost, as on a real network


class UdpFlow:
    """One client address: its upstream socket and the two toxic pipes between them."""

    def __init__(self, listener: UdpListener, client: tuple) -> None:
        self.listener, self.client = listener, client
        loop = listener.loop
        self.upstream: asyncio.DatagramTransport | None = None
        self.pending: list[bytes] = []
        self.closed = False
        self.last_seen = loop.time()
        self.up = Pipe(loop, self._send_up, lambda: None, lambda _abort=False: self.close(), lambda _on: None,
                       coalesce=False)
        self.down = Pipe(loop, self._send_down, lambda: None, lambda _abort=False: self.close(),
                         lambda _on: None, coalesce=False)
        self.refresh_toxics()
        self._open = loop.create_task(self._connect())

    async def _connect(self) -> None:
        host, port = self.listener.proxy.upstream_address()
        try:
            transport, _ = await self.listener.loop.create_datagram_endpoint(
                lambda: _Upstream(self), remote_addr=(host, port))
        except OSError:
            self.close()
            return
        if self.closed:
            transport.close()
            return
        self.upstream = transport  # type: ignore[assignment]
        pending, self.pending = self.pending, []
        for data in pending:
            transport.sendto(data)

    def refresh_toxics(self) -> None:
        proxy = self.listener.proxy
        self.up.set_toxics(proxy.toxics_for("upstream"))
        self.down.set_toxics(proxy.toxics_for("downstream"))

    def from_client(self, data: bytes) -> None:
        self.last_seen = self.listener.loop.time()
        self.up.feed(data)

    def from_upstream(self, data: bytes) -> None:
        self.last_seen = self.listener.loop.time()
        self.down.feed(data)

    def _send_up(self, data: bytes) -> None:
        if self.upstream is not None:
            self.upstream.sendto(data)
        elif len(self.pending) < PENDING_MAX:
            self.pending.append(data)

    def _send_down(self, data: bytes) -> None:
        self.listener.send_to_client(data, self.client)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.up.close()
        self.down.close()
        if not self._open.done():
            self._open.cancel()
        if self.upstream is not None:
            self.upstream.close()
        self.listener.forget(self)


class _Listen(asyncio.DatagramProtocol):
    def __init__(self, listener: UdpListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.listener.from_client(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


class UdpListener:
    """Receives the clients' datagrams on the proxy's listen address; one ``UdpFlow`` per client address."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.links: set[UdpFlow] = set()
        self.flows: dict[tuple, UdpFlow] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._sweep: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind; returns the port actually bound (``port`` 0 picks a free one)."""
        transport, _ = await self.loop.create_datagram_endpoint(lambda: _Listen(self), local_addr=(host, port))
        self._transport = transport  # type: ignore[assignment]
        return transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Close the listening socket and every flow (Toxiproxy's "disable")."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for flow in list(self.links):
            flow.close()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def from_client(self, data: bytes, addr: tuple) -> None:
        flow = self.flows.get(addr)
        if flow is None:
            flow = UdpFlow(self, addr)
            self.flows[addr] = flow
            self.links.add(flow)
            if self._sweep is None:
                self._sweep = self.loop.call_later(SWEEP_S, self._expire)
        flow.from_client(data)

    def send_to_client(self, data: bytes, addr: tuple) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    def forget(self, flow: UdpFlow) -> None:
        self.links.discard(flow)
        if self.flows.get(flow.client) is flow:
            del self.flows[flow.client]

    def _expire(self) -> None:
        self._sweep = None
        horizon = self.loop.time() - FLOW_IDLE_S
        for flow in [f for f in self.links if f.last_seen < horizon]:
            flow.close()
        if self.links:
            self._sweep = self.loop.call_later(SWEEP_S, self._expire)

    def refresh_toxics(self) -> None:
        for flow in list(self.links):
            flow.refresh_toxics()

    def stats(self) -> dict[str, int]:
        return {"links": len(self.links)}
