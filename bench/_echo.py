"""Bench helpers for the fault proxy: an echo / sink server in its own thread and event loop, and a fault
proxy process (own process group, stopped by PID)."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tier7.targets import processes  # noqa: E402
from tier7.toxiproxy import ToxiproxyClient  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402


class Servers:
    """``echo_port``: echoes every byte; ``sink_port``: reads N bytes (8-byte header), answers b"k"."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.echo = self.loop.run_until_complete(asyncio.start_server(self._echo, "127.0.0.1", 0))
        self.sink = self.loop.run_until_complete(asyncio.start_server(self._sink, "127.0.0.1", 0))
        self.echo_port = self.echo.sockets[0].getsockname()[1]
        self.sink_port = self.sink.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(262144):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def _sink(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            size = int.from_bytes(await reader.readexactly(8), "big")
            while size > 0:
                chunk = await reader.read(min(size, 1 << 20))
                if not chunk:
                    break
                size -= len(chunk)
            writer.write(b"k")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.echo.close)
        self.loop.call_soon_threadsafe(self.sink.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fault_proxy(log: Path) -> Iterator[ToxiproxyClient]:
    port = free_port()
    label = f"tier7-bench-{port}"
    pid = processes.spawn([sys.executable, "-m", "chaos.proxy", "--port", str(port), "--label", label], log, cwd=ROOT)
    client = ToxiproxyClient(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: client.version(), 10, 0.05, "the fault proxy to answer")
        yield client
    finally:
        client.close()
        processes.stop(pid, ["chaos.proxy", label])


def listen_port(proxy: dict) -> int:
    return int(proxy["listen"].rsplit(":", 1)[1])
