"""The fault proxy's UDP relay (chaos/proxy/udp.py) on real sockets: datagrams relayed both ways per client,
latency, loss (dropped datagrams), blackhole, disable; and the TCP ``loss`` toxic (a retransmission delay)."""

import socket
import threading
import time

import pytest

from tests.proxy_support import EchoServer, fault_proxy, round_trip_ms
from tier7.toxiproxy import ToxiproxyClient


class UdpEcho:
    """A UDP echo server on loopback in a thread (stopped by closing its socket)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(1_000_000):  # bounded; ends when the socket is closed
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                return
            self.sock.sendto(data, addr)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def udp_echo():
    server = UdpEcho()
    yield server
    server.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    with fault_proxy(tmp_path_factory.mktemp("udp-proxy")) as (client, _port, _pid):
        yield client


def udp_proxy(client: ToxiproxyClient, name: str, port: int) -> int:
    created = client._call("POST", "/proxies", {"name": name, "listen": "127.0.0.1:0",
                                                "upstream": f"127.0.0.1:{port}", "protocol": "udp"})
    assert created["protocol"] == "udp"
    return int(created["listen"].rsplit(":", 1)[1])


def exchange(port: int, count: int, wait_s: float = 0.5, pause_s: float = 0.0) -> tuple[int, list[float]]:
    """Send ``count`` numbered datagrams through ``port``; (answers received, round trips in ms)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(wait_s)
    sent: dict[bytes, float] = {}
    rtts: list[float] = []
    try:
        for i in range(count):
            payload = f"probe-{i}".encode()
            sent[payload] = time.perf_counter()
            sock.sendto(payload, ("127.0.0.1", port))
            if pause_s:
                time.sleep(pause_s)
        deadline = time.monotonic() + wait_s + 2.0
        while len(rtts) < count and time.monotonic() < deadline:
            try:
                data, _ = sock.recvfrom(65536)
            except TimeoutError:
                break
            if data in sent:
                rtts.append((time.perf_counter() - sent.pop(data)) * 1000)
    finally:
        sock.close()
    return len(rtts), rtts


def test_udp_relay_latency_loss_blackhole_disable(proxy, udp_echo):
    port = udp_proxy(proxy, "quic", udp_echo.port)
    got, rtts = exchange(port, 20)
    assert got == 20 and min(rtts) < 20, rtts
    proxy.add_toxic("quic", "latency", {"latency": 60}, "lat")
    got, rtts = exchange(port, 10, wait_s=1.0)
    assert got == 10 and 55 <= min(rtts) <= 150, rtts
    proxy.remove_toxic("quic", "lat")
    proxy.add_toxic("quic", "loss", {"percent": 50}, "loss", stream="upstream")
    got, _ = exchange(port, 200, wait_s=0.5)
    assert 60 <= got <= 140, got  # ~100 of 200 expected; binomial bounds far out
    proxy.remove_toxic("quic", "loss")
    proxy.add_toxic("quic", "timeout", {"timeout": 0}, "hole")
    got, _ = exchange(port, 5, wait_s=0.3)
    assert got == 0
    proxy.remove_toxic("quic", "hole")
    assert exchange(port, 5)[0] == 5
    proxy.set_enabled("quic", False)
    assert exchange(port, 3, wait_s=0.3)[0] == 0
    proxy.set_enabled("quic", True)
    assert exchange(port, 3)[0] == 3
    proxy.delete_proxy("quic")


def test_tcp_loss_toxic_delays_instead_of_dropping(proxy):
    echo = EchoServer()
    try:
        port = int(proxy.create_proxy("tcploss", f"127.0.0.1:{echo.port}")["listen"].rsplit(":", 1)[1])
        proxy.add_toxic("tcploss", "loss", {"percent": 100, "retransmit": 80}, "loss")
        slow = round_trip_ms(port, count=5, pick="min")
        assert 70 <= slow <= 200, slow  # every segment "retransmitted" once: late, never lost
        proxy.delete_proxy("tcploss")
    finally:
        echo.close()
