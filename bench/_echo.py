"""Bench helpers for the fault proxy: an echo / sink server in its own thread and event loop; the fault proxy
process (own process group, stopped by PID) is the tests' ``fault_proxy``."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.proxy_support import fault_proxy  # noqa: E402,F401 - the benchmarks' proxy process, as in the tests


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


def listen_port(proxy: dict) -> int:
    return int(proxy["listen"].rsplit(":", 1)[1])
