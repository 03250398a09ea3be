"""Locustfile of bench/crdt_throughput.py's ceiling: ``GET /v1/health`` with no wait, users spread round-robin
over the node URLs in $BENCH_HEALTH_URLS (comma-separated). The cheapest request the testbed answers, so the
req/s it reaches is what one Locust process on this machine can drive at most."""

from __future__ import annotations

import itertools
import os

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

URLS = [u for u in os.environ.get("BENCH_HEALTH_URLS", "").split(",") if u]
_NEXT = itertools.count()


class HealthUser(FastHttpUser):
    wait_time = constant(0)
    host = URLS[0] if URLS else "http://127.0.0.1:1"

    def on_start(self) -> None:
        self.url = URLS[next(_NEXT) % len(URLS)] + "/v1/health"

    @task
    def health(self) -> None:
        self.client.get(self.url, name="/v1/health")
