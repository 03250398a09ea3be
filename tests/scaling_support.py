"""Helpers for the scaling tests (issue 11): loading keys, a recording writer, waiting for a rebalance."""

from __future__ import annotations

import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tier7.targets.testbed import TestbedTarget
from tier7.waiting import wait_until

RETRYABLE = (503, 504)


def put(http: httpx.Client, url: str, token: str, key: str, value: str, attempts: int = 10) -> None:
    """PUT that retries (same value: idempotent) until acknowledged; a loaded machine sees elections."""
    for _ in range(attempts):
        try:
            answer = http.put(f"{url}/v1/kv/{key}", json={"value": value}, headers={"authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            continue
        if answer.status_code == 200:
            return
        assert answer.status_code in RETRYABLE, answer.text
    raise AssertionError(f"PUT {key} never acknowledged")


def load(target: TestbedTarget, http: httpx.Client, token: str, keys: list[str]) -> dict[str, str]:
    """Write ``v-<key>`` to every key (through every node in turn); returns key -> value."""
    urls = [n.url for n in target.nodes()]
    values = {key: f"v-{key}" for key in keys}
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda i: put(http, urls[i % len(urls)], token, keys[i], values[keys[i]]), range(len(keys))))
    return values


@dataclass
class Writer:
    """Threads that overwrite their own keys in a loop (one thread per key subset, so per key the writes are
    sequential) and record each write's outcome: ok (acknowledged), fail (certainly not applied: 4xx/503)
    or info (unknown: 504 or a transport error)."""

    urls: list[str]
    token: str
    keys: list[str]
    prefix: str = "w"
    threads: int = 3
    log: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.threads):
            mine = self.keys[index::self.threads]
            worker = threading.Thread(target=self._run, args=(index, mine), daemon=True)
            worker.start()
            self._workers.append(worker)

    def _run(self, index: int, keys: list[str]) -> None:
        headers = {"authorization": f"Bearer {self.token}"}
        count = 0
        with httpx.Client(timeout=10.0) as http:
            deadline = time.monotonic() + 300  # bounded whatever happens to stop()
            while not self._stop.is_set() and time.monotonic() < deadline:
                key = keys[count % len(keys)]
                value = f"{self.prefix}{index}-{count}"
                url = self.urls[count % len(self.urls)]
                count += 1
                try:
                    answer = http.put(f"{url}/v1/kv/{key}", json={"value": value}, headers=headers)
                    outcome = "ok" if answer.status_code == 200 else "info" if answer.status_code == 504 else "fail"
                except httpx.HTTPError:
                    outcome = "info"
                self.log.setdefault(key, []).append((value, outcome))

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def acknowledged(self) -> int:
        return sum(1 for writes in self.log.values() for _, outcome in writes if outcome == "ok")

    def allowed(self, key: str, before: str) -> set[str]:
        """Values the key may hold at the end: its last acknowledged write, or any later write whose outcome
        is unknown (``before`` when nothing was acknowledged)."""
        writes = self.log.get(key, [])
        last_ok = max((i for i, (_, outcome) in enumerate(writes) if outcome == "ok"), default=-1)
        allowed = {writes[last_ok][0]} if last_ok >= 0 else {before}
        allowed |= {value for value, outcome in writes[last_ok + 1:] if outcome == "info"}
        return allowed


def wait_finished(target: TestbedTarget, http: httpx.Client, epoch: int, timeout: float = 60.0) -> dict:
    """Poll every node's GET /v1/rebalance until all say finished for ``epoch``; returns one answer."""
    def done() -> dict | None:
        answers = [http.get(f"{n.url}/v1/rebalance").json() for n in target.nodes()]
        return answers[0] if all(a["state"] == "finished" and a["epoch"] == epoch for a in answers) else None

    return wait_until(done, timeout, 0.2, f"the rebalance to epoch {epoch} to finish on every node")


def mini_preset(directory: Path, groups: int = 2) -> str:
    """The god-tier preset shrunk to one region and ``groups`` one-node groups (a cheap cluster for the
    scaling mutants); returns the preset file's path."""
    text = (Path(__file__).resolve().parents[1] / "testbed" / "presets" / "god-tier.toml").read_text()
    preset = tomllib.loads(text)
    lines = []
    for line in text.splitlines():
        if line.startswith("regions = "):
            line = 'regions = ["us-east"]'
        elif line.startswith("groups = "):
            line = f"groups = {groups}"
        lines.append(line)
    path = directory / "mini.toml"
    path.write_text("\n".join(lines) + "\n")
    assert tomllib.loads(path.read_text())["cluster"]["regions"] == ["us-east"] and preset["name"]
    return str(path)
