"""A node's second listener for inter-node traffic (issue 13): hypercorn serving the same ASGI application
over HTTP/2 with TLS (TCP) and HTTP/3 over QUIC (UDP), both on port ``xport_port`` of the node's host.

The public client API stays on uvicorn (HTTP/1.1); this listener only carries what other nodes send. The
application's lifespan is run by uvicorn alone: hypercorn sees a wrapper that completes its own lifespan at
once, and the listener is started only after uvicorn reported the application started, so the internal
routes never see a half-built node. An idle hypercorn waits in epoll (no polling).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .config import Cluster, NodeSpec

KEEP_ALIVE_S = 120.0  # idle HTTP/2 connections kept this long (peers reuse them; a TLS handshake costs CPU)
MAX_REQUESTS_PER_CONNECTION = 2**62  # no limit in practice (hypercorn's default, 1000, cut in-flight requests)


class _NoLifespan:
    """Passes HTTP to the node's application; answers hypercorn's lifespan itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.app(scope, receive, send)


def enabled(cluster: Cluster, me: NodeSpec) -> bool:
    section = cluster.preset.get("transport") or {}
    return bool(section.get("enabled")) and bool(cluster.data.get("transport")) and me.xport_port > 0


async def serve_transport(cluster: Cluster, me: NodeSpec, app: Any, started: Any, stop: asyncio.Event) -> None:
    """Serve ``app`` on h2+h3 once ``started()`` is true, until ``stop`` is set."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    for _ in range(6000):  # at most ~5 minutes: uvicorn starts in well under a second
        if started() or stop.is_set():
            break
        await asyncio.sleep(0.05)
    if stop.is_set():
        return
    tls = cluster.data["transport"]
    config = Config()
    config.bind = [f"{me.host}:{me.xport_port}"]
    config.quic_bind = [f"{me.host}:{me.xport_port}"]
    config.certfile, config.keyfile = tls["cert"], tls["key"]
    config.alpn_protocols = ["h2"]
    config.accesslog = None
    config.errorlog = logging.getLogger("testbed.transport.server")
    config.keep_alive_timeout = KEEP_ALIVE_S
    config.graceful_timeout = 1.0
    config.h2_max_concurrent_streams = 200
    # hypercorn ends an h2 connection after 1000 requests (GOAWAY, then closes it): the requests in flight
    # at that moment were answered 504 outcome_unknown, 1 to 8 per minute on a healthy testbed under load
    # (bench/transport_flaps.py). Inter-node connections are meant to live as long as their peers.
    config.keep_alive_max_requests = MAX_REQUESTS_PER_CONNECTION
    try:
        await serve(_NoLifespan(app), config, shutdown_trigger=stop.wait, mode="asgi")
    except OSError as exc:  # a port taken since init: peers' h2/h3 requests are refused and go elsewhere
        logging.getLogger("testbed.transport").warning(
            "transport listener not started", extra={"event": "transport_listener_unavailable",
                                                     "fields": {"port": me.xport_port, "error": str(exc)}})
