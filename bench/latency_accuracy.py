"""Latency accuracy of the fault proxy: a latency toxic of L ms (downstream) must raise the measured
round trip by L ms. Side by side in one run: the same echo server without and with each toxic.

    .venv/bin/python bench/latency_accuracy.py [--samples 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _echo import Servers, fault_proxy, listen_port
from proxy_overhead import ping_pong_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    servers = Servers()
    cases = [(1, 0), (10, 0), (50, 0), (100, 0), (200, 0), (100, 20)]
    print(f"{'toxic':<14} {'added p50 ms':>12} {'error':>8} {'p5 ms':>7} {'p95 ms':>7}")
    with tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp, fault_proxy(Path(tmp)) as (proxy, _, _):
        port = listen_port(proxy.create_proxy("acc", f"127.0.0.1:{servers.echo_port}"))
        for latency, jitter in cases:
            base = statistics.median(ping_pong_us(port, args.samples)) / 1000
            proxy.add_toxic("acc", "latency", {"latency": latency, "jitter": jitter}, name="t")
            times = [t / 1000 - base for t in ping_pong_us(port, args.samples)]
            proxy.remove_toxic("acc", "t")
            added = statistics.median(times)
            label = f"{latency} ms" + (f" +-{jitter}" if jitter else "")
            print(f"{label:<14} {added:>12.2f} {100 * (added - latency) / latency:>7.1f}% "
                  f"{times[int(len(times) * 0.05)]:>7.1f} {times[int(len(times) * 0.95)]:>7.1f}")
    servers.close()


if __name__ == "__main__":
    main()
