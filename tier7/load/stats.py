"""Locust statistics into the run folder: a 1 s time series sampled by the harness (Locust's own
``stats_history`` stays empty when Locust runs as a library) and Locust's CSV tables at the end."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import gevent
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from ..history import now_ns

TIMESERIES_COLUMNS = ["time", "wall", "users", "requests", "failures", "rps", "fail_per_s", "avg_ms", "p50_ms",
                      "p95_ms", "p99_ms"]


def snapshot(environment: Any) -> dict[str, Any]:
    """Totals now: ``time`` monotonic ns (the history's clock), ``wall`` unix s, rates per second, times in ms."""
    runner = environment.runner
    total = runner.stats.total
    return {
        "time": now_ns(), "wall": round(time.time(), 3), "users": runner.user_count,
        "requests": total.num_requests, "failures": total.num_failures,
        "rps": round(total.current_rps, 2), "fail_per_s": round(total.current_fail_per_sec, 2),
        "avg_ms": round(total.avg_response_time, 2),
        "p50_ms": total.get_current_response_time_percentile(0.5) or 0,
        "p95_ms": total.get_current_response_time_percentile(0.95) or 0,
        "p99_ms": total.get_current_response_time_percentile(0.99) or 0,
    }


class TimeSeries:
    """Appends a :func:`snapshot` to ``<run>/locust/timeseries.csv`` every ``interval`` seconds (a greenlet)."""

    def __init__(self, environment: Any, path: Path, interval: float = 1.0, max_seconds: float = 7 * 86400) -> None:
        self.environment, self.path, self.interval, self.max_seconds = environment, path, interval, max_seconds
        self.rows = 0
        self.last: dict[str, Any] | None = None
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> TimeSeries:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._greenlet = gevent.spawn(self._run)
        return self

    def _run(self) -> None:
        new = not self.path.exists()
        deadline = time.monotonic() + self.max_seconds
        with open(self.path, "a", newline="", encoding="utf-8", buffering=1) as out:
            writer = csv.DictWriter(out, TIMESERIES_COLUMNS)
            if new:
                writer.writeheader()
            next_at = time.monotonic()
            while time.monotonic() < deadline:
                next_at += self.interval
                gevent.sleep(max(0.0, next_at - time.monotonic()))
                if self.environment.runner is None:
                    continue
                self.last = snapshot(self.environment)
                writer.writerow(self.last)
                self.rows += 1

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=2)
            self._greenlet = None


def write_csv_tables(environment: Any, folder: Path) -> list[Path]:
    """Locust's request, failure and exception tables as ``stats.csv``, ``failures.csv``, ``exceptions.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = StatsCSV(environment, PERCENTILES_TO_REPORT)
    written = []
    for name, method in (("stats", tables.requests_csv), ("failures", tables.failures_csv),
                         ("exceptions", tables.exceptions_csv)):
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            method(csv.writer(out))
        written.append(path)
    return written
