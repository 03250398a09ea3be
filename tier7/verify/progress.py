"""The live progress view: phase, elapsed time, operations per second, errors and faults.

It counts events by tailing the run's history files (so load running in other processes counts too).
On a terminal one status line is redrawn every second; elsewhere a line is printed every 10 s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from ..history import HISTORY_DIR


class HistoryTail:
    """Incrementally counts completions and nemesis events in ``<run>/history/*.jsonl``.

    ``failed`` counts failures that are errors; the answers a healthy target must give (a cross-tenant
    attempt refused, a compare-and-set whose expected value did not match) count as ``expected``.

    Safe to poll from several threads: the progress thread redraws from it while a phase polls it to
    open its minimum-load gate. Without the lock two polls could read the same bytes from the same offset
    and count them twice, opening the gate before the load really reached it."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir / HISTORY_DIR
        self.offsets: dict[Path, int] = {}
        self.ok = self.failed = self.expected = self.unknown = self.faults = 0
        self._lock = threading.Lock()

    def poll(self) -> None:
        """Count the complete lines appended since the last poll (one poll at a time)."""
        with self._lock:
            for path in sorted(self.dir.glob("*.jsonl")):
                with open(path, "rb") as handle:
                    handle.seek(self.offsets.get(path, 0))
                    chunk = handle.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                self.offsets[path] = self.offsets.get(path, 0) + len(complete)
                for line in complete.splitlines():
                    self._count(line)

    def counts(self) -> dict[str, int]:
        """A consistent snapshot of the counters (taken under the lock)."""
        with self._lock:
            return {"ok": self.ok, "failed": self.failed, "expected": self.expected, "unknown": self.unknown,
                    "faults": self.faults}

    def _count(self, line: bytes) -> None:
        if b'"type":"invoke"' in line:
            if b'"process":"nemesis' in line:
                self.faults += 1
            return
        if b'"process":"nemesis' in line:
            return
        if b'"type":"ok"' in line:
            self.ok += 1
        elif b'"type":"fail"' in line:
            if b'"cross_tenant":true' in line or b'"error":"cas_mismatch"' in line:
                self.expected += 1
            else:
                self.failed += 1
        elif b'"type":"info"' in line:
            self.unknown += 1
        else:  # spaced JSON from another writer
            event = json.loads(line)
            kind = event.get("type")
            expected = kind == "fail" and (event.get("cross_tenant") is True or event.get("error") == "cas_mismatch")
            self.ok += kind == "ok"
            self.failed += kind == "fail" and not expected
            self.expected += expected
            self.unknown += kind == "info"


class Progress(threading.Thread):
    def __init__(self, run_dir: Path, stream: TextIO | None = None, interval: float = 1.0) -> None:
        super().__init__(name="progress", daemon=True)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self.tail = HistoryTail(run_dir)
        self.phase = "starting"
        self.started = time.monotonic()
        self._stop_event = threading.Event()
        self._last_ok, self._last_at, self._last_print = 0, time.monotonic(), 0.0

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.line(force=True)

    def note(self, text: str) -> None:
        """A message line that stays on screen (phase results, warnings)."""
        self._clear()
        print(text, file=self.stream, flush=True)

    def line(self, force: bool = False) -> None:
        try:
            self.tail.poll()
        except OSError:
            return
        now = time.monotonic()
        c = self.tail.counts()
        rate = (c["ok"] - self._last_ok) / max(now - self._last_at, 1e-6)
        self._last_ok, self._last_at = c["ok"], now
        text = (f"[{now - self.started:6.1f}s] {self.phase:<34} ok {c['ok']:>7}  {rate:>6.0f} ops/s  "
                f"errors {c['failed']:>5}  refused/mismatch {c['expected']:>5}  unknown {c['unknown']:>4}  "
                f"faults {c['faults']:>3}")
        if self.tty:
            print("\r" + text[: 170], end="", file=self.stream, flush=True)
        elif force or now - self._last_print >= 10:
            print(text, file=self.stream, flush=True)
            self._last_print = now

    def _clear(self) -> None:
        if self.tty:
            print("\r" + " " * 170 + "\r", end="", file=self.stream, flush=True)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.line()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)
        self.line(force=True)
        if self.tty:
            print(file=self.stream, flush=True)
