"""testbed/h2_pool.py on real sockets: an HTTP/2 connection the peer closed while it sat idle in the pool
(a killed node: the fault proxy closes our side) is not reused; the next request opens a new one instead of
failing after sending (which the forwarder must answer 504 outcome_unknown on a healthy cluster)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from testbed import h2_pool
from tier7.load.workers import free_port


async def app(scope, receive, send):  # the smallest ASGI app: 200 "ok"
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def one_round(patched: bool) -> str:
    """Request, cut the idle connection abruptly in the middle (like the fault proxy when a node dies),
    request again; returns "ok" or the second request's error class name."""
    backend, front = free_port(), free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{backend}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    links: list[asyncio.StreamWriter] = []

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        links.extend([writer, up_writer])
        await asyncio.gather(relay(reader, up_writer), relay(up_reader, writer))

    proxy = await asyncio.start_server(accept, "127.0.0.1", front)
    if patched:
        h2_pool.install()
    try:
        for _ in range(100):  # hypercorn listening (bounded: 5 s)
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", backend)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(http1=False, http2=True, timeout=5.0) as client:
            first = await client.get(f"http://127.0.0.1:{front}/")
            assert first.status_code == 200 and first.http_version == "HTTP/2"
            for writer in links:  # the node "dies": both sides of the link closed, no GOAWAY
                writer.transport.abort()
            await asyncio.sleep(0.2)  # the EOF reaches our idle socket
            try:
                second = await client.get(f"http://127.0.0.1:{front}/")
            except httpx.HTTPError as exc:
                return exc.__class__.__name__
            return "ok" if second.status_code == 200 else f"http {second.status_code}"
    finally:
        if patched:
            h2_pool.AsyncHTTP2Connection.has_expired = h2_pool._plain_has_expired  # leave httpcore as found
        proxy.close()
        stop.set()
        await asyncio.wait_for(server, 10)


def test_a_connection_the_peer_closed_is_replaced_not_reused():
    assert asyncio.run(one_round(patched=True)) == "ok"


def test_without_the_check_the_dead_connection_is_reused_and_the_request_fails_after_sending():
    outcome = asyncio.run(one_round(patched=False))
    if outcome == "ok":
        pytest.skip("httpcore now checks idle HTTP/2 sockets itself: testbed/h2_pool.py can go")
    assert outcome in ("RemoteProtocolError", "ReadError", "WriteError"), outcome
