"""Adaptive transport benchmarks (issue 13), side by side in one run:

1. per-request latency, HTTP/2 (TLS, httpx) vs HTTP/3 (QUIC, the testbed's aioquic client), against one
   hypercorn server serving both (the testbed's listener setup), through the fault proxy with 100 ms of
   round trip (50 ms each way, TCP and UDP proxies alike) and 0 %, 1 %, 5 % loss each way: sequential
   small POSTs (the forwarder's shape), p50 / p90 / p99 / max in ms;
2. the UDP relay's overhead at parity load: 64-byte datagram ping-pong to a UDP echo, direct vs through the
   relay with no toxic, added microseconds per round trip (median), like bench/proxy_overhead.py for TCP.

    .venv/bin/python bench/transport.py [--requests 150] [--pings 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _echo import fault_proxy, listen_port  # noqa: E402

from testbed.tls import SERVER_NAME, make_cluster_tls  # noqa: E402
from testbed.transport_h3 import H3Peer  # noqa: E402


async def app(scope, receive, send) -> None:  # a tiny internal-API stand-in: echoes a small JSON answer
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = json.dumps({"ok": True, "size": len(body)}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tls: dict, port: int) -> tuple[threading.Thread, asyncio.Event, asyncio.AbstractEventLoop]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.quic_bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = tls["cert"], tls["key"]
    config.alpn_protocols = ["h2"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=stop.wait, mode="asgi"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(1.0)  # hypercorn binds within milliseconds; the first request below would fail loudly anyway
    return thread, stop, loop


async def h3_latencies(address: str, tls: dict, count: int) -> list[float]:
    peer = H3Peer(address, tls["cert"], SERVER_NAME, 10.0)
    body = json.dumps({"op": "put", "key": "k", "value": "v" * 64}).encode()
    await peer.post("/warm", body, {}, 30.0)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = await peer.post("/v1/internal/apply", body, {}, 30.0)
        assert status == 200
        times.append((time.perf_counter() - started) * 1000)
    peer.close()
    return times


async def h2_latencies(address: str, tls: dict, count: int) -> list[float]:
    import ssl

    context = ssl.create_default_context(cafile=tls["cert"])
    body = json.dumps({"op": "put", "key": "k", "value": "v" * 64}).encode()
    async with httpx.AsyncClient(http2=True, verify=context, timeout=30.0) as client:
        await client.post(f"https://{address}/warm", content=body)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            response = await client.post(f"https://{address}/v1/internal/apply", content=body)
            assert response.status_code == 200 and response.http_version == "HTTP/2"
            times.append((time.perf_counter() - started) * 1000)
    return times


def stats(times: list[float]) -> str:
    ordered = sorted(times)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"{pick(0.5):7.1f} {pick(0.9):7.1f} {pick(0.99):7.1f} {ordered[-1]:7.1f}"


def udp_echo() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def run() -> None:
        for _ in range(10_000_000):
            try:
                data, addr = sock.recvfrom(2048)
            except OSError:
                return
            sock.sendto(data, addr)

    threading.Thread(target=run, daemon=True).start()
    return sock, sock.getsockname()[1]


def udp_ping_us(port: int, count: int) -> list[float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        sock.sendto(b"p" * 64, ("127.0.0.1", port))
        sock.recvfrom(2048)
        times.append((time.perf_counter() - started) * 1e6)
    sock.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150, help="sequential requests per protocol and loss")
    parser.add_argument("--pings", type=int, default=3000, help="UDP ping-pongs per path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tier7-transport-bench-") as tmp:
        tls = make_cluster_tls(Path(tmp), "127.0.0.1")
        port = free_port()
        _thread, stop, loop = start_server(tls, port)
        with fault_proxy(Path(tmp)) as (proxy, _api_port, _pid):
            tcp = listen_port(proxy.create_proxy("h2", f"127.0.0.1:{port}"))
            udp = int(proxy._call("POST", "/proxies", {"name": "h3", "listen": "127.0.0.1:0", "protocol": "udp",
                                                       "upstream": f"127.0.0.1:{port}"})["listen"].rsplit(":", 1)[1])
            for name in ("h2", "h3"):
                for stream in ("upstream", "downstream"):
                    proxy.add_toxic(name, "latency", {"latency": 50}, f"lat-{stream}", stream)
            print("per-request latency, ms, 100 ms RTT: protocol loss  p50     p90     p99     max")
            for loss in (0, 1, 5):
                for name in ("h2", "h3"):
                    for stream in ("upstream", "downstream"):
                        proxy.set_toxic(name, "loss", {"percent": loss, "retransmit": 200}, f"loss-{stream}", stream)
                h2 = asyncio.run(h2_latencies(f"127.0.0.1:{tcp}", tls, args.requests))
                h3 = asyncio.run(h3_latencies(f"127.0.0.1:{udp}", tls, args.requests))
                print(f"  h2 {loss:>2} %  {stats(h2)}")
                print(f"  h3 {loss:>2} %  {stats(h3)}")
            echo, echo_port = udp_echo()
            relay = int(proxy._call("POST", "/proxies", {"name": "echo", "listen": "127.0.0.1:0", "protocol": "udp",
                                                         "upstream": f"127.0.0.1:{echo_port}"})["listen"].rsplit(":", 1)[1])
            rounds = []
            for _ in range(3):  # alternate so machine noise hits both paths alike
                direct = statistics.median(udp_ping_us(echo_port, args.pings))
                relayed = statistics.median(udp_ping_us(relay, args.pings))
                rounds.append((direct, relayed))
            echo.close()
            print("UDP relay, 64-byte ping-pong, median us: direct / relayed / added")
            for direct, relayed in rounds:
                print(f"  {direct:7.1f} {relayed:7.1f} {relayed - direct:+7.1f}")
        loop.call_soon_threadsafe(stop.set)
    return 0


if __name__ == "__main__":
    sys.exit(main())
