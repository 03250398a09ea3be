"""Fault proxy overhead at 0 ms: added latency per request and throughput through the proxy vs direct,
measured side by side in one run (same echo / sink servers, alternating runs).

- latency: one connection, 64-byte ping-pong, N round trips; median and p99 in microseconds;
- ops/s: C connections doing ping-pong at once (an asyncio client), total round trips per second;
- bulk: one connection pushing M MiB to a sink; MiB/s.

Each through the proxy with no toxic, and with a 0 ms latency toxic on both streams (the toxic path).

    .venv/bin/python bench/proxy_overhead.py [--pings 3000] [--connections 32] [--seconds 3] [--mib 256]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

from _echo import Servers, fault_proxy, listen_port


def ping_pong_us(port: int, count: int) -> list[float]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message, times = b"p" * 64, []
    for _ in range(count):
        started = time.perf_counter()
        sock.sendall(message)
        got = 0
        while got < len(message):
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("the echo connection closed")
            got += len(chunk)
        times.append((time.perf_counter() - started) * 1e6)
    sock.close()
    return sorted(times)


async def _ops(port: int, connections: int, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    done = 0

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            writer.write(b"q" * 64)
            await reader.readexactly(64)
            done += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return done / seconds


def bulk_mib_s(port: int, mib: int) -> float:
    size = mib << 20
    chunk = b"b" * (1 << 20)
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.perf_counter()
    sock.sendall(size.to_bytes(8, "big"))
    for _ in range(mib):
        sock.sendall(chunk)
    assert sock.recv(1) == b"k"
    elapsed = time.perf_counter() - started
    sock.close()
    return mib / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pings", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each is kept")
    args = parser.parse_args()
    servers = Servers()
    with tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp, fault_proxy(Path(tmp)) as (proxy, _, _):
        plain = {"echo": listen_port(proxy.create_proxy("echo", f"127.0.0.1:{servers.echo_port}")),
                 "sink": listen_port(proxy.create_proxy("sink", f"127.0.0.1:{servers.sink_port}"))}
        toxic = {"echo": listen_port(proxy.create_proxy("echo0", f"127.0.0.1:{servers.echo_port}")),
                 "sink": listen_port(proxy.create_proxy("sink0", f"127.0.0.1:{servers.sink_port}"))}
        for name in ("echo0", "sink0"):
            for stream in ("upstream", "downstream"):
                proxy.add_toxic(name, "latency", {"latency": 0}, stream=stream)
        paths = {"direct": {"echo": servers.echo_port, "sink": servers.sink_port}, "proxy": plain,
                 "proxy+0ms toxic": toxic}
        results: dict[str, dict[str, list[float]]] = {p: {"p50": [], "p99": [], "ops": [], "bulk": []} for p in paths}
        for _ in range(args.rounds):
            for name, ports in paths.items():
                times = ping_pong_us(ports["echo"], args.pings)
                results[name]["p50"].append(statistics.median(times))
                results[name]["p99"].append(times[int(len(times) * 0.99)])
                results[name]["ops"].append(asyncio.run(_ops(ports["echo"], args.connections, args.seconds)))
                results[name]["bulk"].append(bulk_mib_s(ports["sink"], args.mib))
    servers.close()
    best = {p: {"p50": min(r["p50"]), "p99": min(r["p99"]), "ops": max(r["ops"]), "bulk": max(r["bulk"])}
            for p, r in results.items()}
    direct = best["direct"]
    print(f"{'path':<18} {'rtt p50 us':>10} {'rtt p99 us':>10} {'added p50 us':>12} "
          f"{'ops/s (' + str(args.connections) + ' conns)':>20} {'ratio':>6} {'bulk MiB/s':>10} {'ratio':>6}")
    for name, r in best.items():
        print(f"{name:<18} {r['p50']:>10.0f} {r['p99']:>10.0f} {r['p50'] - direct['p50']:>12.0f} "
              f"{r['ops']:>20.0f} {r['ops'] / direct['ops']:>6.2f} {r['bulk']:>10.0f} {r['bulk'] / direct['bulk']:>6.2f}")


if __name__ == "__main__":
    main()
