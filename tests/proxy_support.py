"""A fault proxy process (own process group, stopped by PID) and an echo server for the proxy tests."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tier7.load.workers import free_port
from tier7.targets import processes
from tier7.toxiproxy import ToxiproxyClient
from tier7.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def fault_proxy(log_dir: Path) -> Iterator[tuple[ToxiproxyClient, int, int]]:
    """Yields (client, API port, PID)."""
    port = free_port()
    label = f"tier7-test-{port}"
    argv = [sys.executable, "-m", "chaos.proxy", "--port", str(port), "--label", label]
    pid = processes.spawn(argv, log_dir / "proxy.log", cwd=ROOT)
    marker = ["chaos.proxy", label]
    client = ToxiproxyClient(f"http://127.0.0.1:{port}", timeout=5.0)
    try:
        wait_until(lambda: client.version(), 10, 0.05, "the fault proxy to answer")
        yield client, port, pid
    finally:
        client.close()
        processes.stop(pid, marker)
        assert not processes.is_running(pid, marker)


class EchoServer:
    """Echoes every byte back; runs its own event loop in a thread (seconds: bounded shutdown)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(asyncio.start_server(self._echo, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip_ms(port: int, count: int = 20, size: int = 64, pick: str = "median") -> float:
    """Median (or ``pick="min"``: fastest) time in ms to send ``size`` bytes and read them back, over one
    connection. The fastest is robust on a loaded machine: scheduling delays only ever add."""
    sock = connect(port)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(b"x" * size)
            got = 0
            while got < size:
                chunk = sock.recv(65536)
                assert chunk, "connection closed"
                got += len(chunk)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        sock.close()
    times.sort()
    return times[0] if pick == "min" else times[len(times) // 2]
