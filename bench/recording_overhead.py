"""Recording overhead: requests/s of one Locust user going through tier7's recording client (history file +
Locust statistics, as in locustfiles/tier7.py) vs Locust's bare FastHttpUser, against the same no-op HTTP
server, measured side by side in one run (alternating rounds). Target: ratio >= 0.8.

    .venv/bin/python bench/recording_overhead.py [--seconds 5] [--rounds 3]

The no-op server is a gevent StreamServer in its own process (own session, stopped by PID) answering every
request with a fixed JSON body, so it costs far less than either client.
"""

import locust  # noqa: I001 - first: gevent monkey-patching

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
from locust import FastHttpUser, User, constant, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from tier7.client import RecordingClient  # noqa: E402
from tier7.history import HistoryWriter  # noqa: E402
from tier7.targets import processes  # noqa: E402
from tier7.waiting import wait_until  # noqa: E402

assert locust
BODY = b'{"key":"k","value":"v","version":1,"node":"n0","group":"g0","region":"r0"}'
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)


def serve(port: int) -> None:
    """The no-op server: keep-alive HTTP/1.1, answers every request (body skipped by Content-Length)."""
    import socket

    from gevent.server import StreamServer

    def handle(conn: socket.socket, _address: object) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                continue
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            while len(buffer) < end + 4 + length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            buffer = buffer[end + 4 + length:]
            conn.sendall(ANSWER)

    StreamServer(("127.0.0.1", port), handle).serve_forever()


class BareUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get("/v1/kv/k", name="kv get")


class RecordedUser(User):
    wait_time = constant(0)
    history: HistoryWriter

    def on_start(self) -> None:
        fire = self.environment.events.request.fire

        def report(result, method):  # as tier7.load.session.LoadSession.reporter does
            fire(request_type=method, name=f"kv {result.f}", response_time=result.latency_ms,
                 response_length=result.length, exception=None if result.ok else Exception(result.error), context={})

        self.client = RecordingClient(self.host, "bench-token", self.history, "w0-u0", region="r0", reporter=report)

    @task
    def get(self) -> None:
        self.client.get("k")


def measure(user_class: type, host: str, seconds: float) -> float:
    """Requests/s of one user of ``user_class`` over ``seconds`` (after a short warm-up)."""
    user_class.host = host
    environment = Environment(user_classes=[user_class], events=events)
    runner = environment.create_local_runner()
    runner.start(1, 1)
    gevent.sleep(0.5)
    before, started = runner.stats.total.num_requests, time.monotonic()
    gevent.sleep(seconds)
    count, elapsed = runner.stats.total.num_requests - before, time.monotonic() - started
    failures = runner.stats.total.num_failures
    runner.quit()
    if failures:
        raise SystemExit(f"{user_class.__name__}: {failures} failures against the no-op server")
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (bare, recorded)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    from tier7.load.workers import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp:
        marker = ["--serve", str(port)]
        pid = processes.spawn([sys.executable, __file__, *marker], Path(tmp) / "server.log")
        try:
            import socket

            wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 20, 0.1,
                       "the no-op server")
            RecordedUser.history = HistoryWriter(Path(tmp) / "history" / "bench.jsonl")
            host = f"http://127.0.0.1:{port}"
            bare, recorded = [], []
            for _ in range(args.rounds):
                bare.append(measure(BareUser, host, args.seconds))
                recorded.append(measure(RecordedUser, host, args.seconds))
                print(f"round: bare FastHttpUser {bare[-1]:8.0f} req/s   recording client {recorded[-1]:8.0f} req/s",
                      flush=True)
            lines = sum(1 for _ in open(RecordedUser.history.path))
        finally:
            processes.stop(pid, marker)
    b, r = sorted(bare)[len(bare) // 2], sorted(recorded)[len(recorded) // 2]
    print(f"median: bare {b:.0f} req/s, recorded {r:.0f} req/s ({lines} history lines written)")
    print(f"ratio recorded/bare = {r / b:.2f} (target >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
