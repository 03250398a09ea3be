"""The TCP transport of the fault proxy: a listener per proxy and a link per accepted client.

A link joins the client's socket to a fresh connection to the upstream through two pipes
(``upstream`` = client -> server, ``downstream`` = server -> client). Reading from the client starts
only once the upstream answered; a refused upstream closes the client (as Toxiproxy does). End of
stream is passed on after the data queued before it (half-close kept); a side that goes away closes
the link once what it sent has been delivered. Back-pressure: a side whose peer's send buffer or
pipe queue is full stops being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import TYPE_CHECKING

from .pipe import Pipe

if TYPE_CHECKING:
    from .registry import Proxy

CONNECT_TIMEOUT_S = 5.0


class _Side(asyncio.Protocol):
    """One socket of a link: the client's or the upstream's."""

    def __init__(self, link: TcpLink, role: str) -> None:
        self.link, self.role = link, role
        self.transport: asyncio.Transport | None = None
        self._holds: set[str] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.link.side_made(self)

    def data_received(self, data: bytes) -> None:
        self.link.pipe_from(self).feed(data)

    def eof_received(self) -> bool:
        self.link.pipe_from(self).feed_eof()
        return True  # keep our writing half open (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.side_lost(self)

    def pause_writing(self) -> None:
        self.link.other(self).hold("peer-buffer")

    def resume_writing(self) -> None:
        self.link.other(self).release("peer-buffer")

    def hold(self, reason: str) -> None:
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._holds.add(reason)

    def release(self, reason: str) -> None:
        if reason not in self._holds:
            return
        self._holds.discard(reason)
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_eof(self) -> None:
        if self.transport is not None and not self.transport.is_closing() and self.transport.can_write_eof():
            self.transport.write_eof()

    def shut(self, abort: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if abort:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()


class TcpLink:
    """A client connection and its upstream connection, joined through two toxic pipes."""

    def __init__(self, listener: TcpListener) -> None:
        self.listener = listener
        loop = listener.loop
        self.client = _Side(self, "client")
        self.server = _Side(self, "upstream")
        self.up = Pipe(loop, self.server.write, lambda: self._end(self.server), self.close,
                       lambda on: self._throttle(self.client, on))
        self.down = Pipe(loop, self.client.write, lambda: self._end(self.client), self.close,
                         lambda on: self._throttle(self.server, on))
        self.closed = False
        self._ended: set[str] = set()
        self._lost = False
        self._connect_task: asyncio.Task | None = None

    def pipe_from(self, side: _Side) -> Pipe:
        return self.up if side is self.client else self.down

    def other(self, side: _Side) -> _Side:
        return self.server if side is self.client else self.client

    def side_made(self, side: _Side) -> None:
        if side is self.client:
            self.client.hold("connecting")
            self.listener.links.add(self)
            self.refresh_toxics()
            self._connect_task = self.listener.loop.create_task(self._connect())

    async def _connect(self) -> None:
        host, port = self.listener.proxy.upstream_address()
        try:
            await asyncio.wait_for(
                self.listener.loop.create_connection(lambda: self.server, host, port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError):
            self.close()
            return
        if self.closed:
            self.server.shut(False)
            return
        self.client.release("connecting")

    def refresh_toxics(self) -> None:
        proxy = self.listener.proxy
        self.up.set_toxics(proxy.toxics_for("upstream"))
        self.down.set_toxics(proxy.toxics_for("downstream"))

    def _throttle(self, source: _Side, on: bool) -> None:
        if on:
            source.hold("pipe-queue")
        else:
            source.release("pipe-queue")

    def _end(self, target: _Side) -> None:
        """The end of one direction's stream reached ``target``."""
        self._ended.add(target.role)
        if self._lost or len(self._ended) == 2:
            self.close()
        else:
            target.write_eof()

    def side_lost(self, side: _Side) -> None:
        if self.closed:
            return
        self._lost = True
        self.pipe_to(side).close()
        source = self.pipe_from(side)
        if source.closed:
            self.close()
        else:
            source.feed_eof()  # deliver what it sent, then close the link

    def pipe_to(self, side: _Side) -> Pipe:
        return self.down if side is self.client else self.up

    def close(self, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.up.close()
        self.down.close()
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
        self.client.shut(abort)
        self.server.shut(abort)
        self.listener.links.discard(self)


class TcpListener:
    """Accepts clients on the proxy's listen address; one ``TcpLink`` per client."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.links: set[TcpLink] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port actually bound (``port`` 0 picks a free one)."""
        self._server = await self.loop.create_server(lambda: TcpLink(self).client, host, port,
                                                     reuse_address=True, backlog=1024)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every link (Toxiproxy's "disable")."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self.links):
            link.close()

    def refresh_toxics(self) -> None:
        for link in list(self.links):
            link.refresh_toxics()

    def stats(self) -> dict[str, int]:
        return {"links": len(self.links)}
