"""Issue 17 item 4: ``GET /v1/node`` counts keys while the state machine applies commands in another thread;
it must never raise "dictionary changed size during iteration" (logged as ERROR, failing a healthy run's log
scan)."""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time

import httpx

from testbed.store import KVState
from tests.conftest import admin


def test_key_count_survives_tenants_added_by_another_thread():
    """The old generator over ``data.values()`` raised RuntimeError within a few hundred calls here."""
    state = KVState()
    for i in range(2000):  # many tenants: iterating them spans many GIL switch intervals
        state.data[f"seed{i}"] = {"k": ["v", i]}
    stop = threading.Event()

    def apply() -> None:  # what pysyncobj's thread does on put/create_if_absent of a new tenant
        i = 0
        while not stop.is_set():
            state.data.setdefault(f"t{i}", {})[f"k{i}"] = ["v", i]
            i += 1

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    writer = threading.Thread(target=apply, daemon=True)
    writer.start()
    try:
        deadline = time.monotonic() + 1.5
        counts = 0
        while time.monotonic() < deadline:
            assert state.key_count() >= 2000
            counts += 1
    finally:
        stop.set()
        writer.join(5)
        sys.setswitchinterval(previous)
    assert counts > 10


def test_node_status_during_writes_logs_no_error(cluster):
    """Hammer every node's GET /v1/node while tenants and keys are written; no node logs an ERROR."""
    nodes = cluster.nodes()
    logs = cluster.log_files()
    sizes = {name: path.stat().st_size if path.exists() else 0 for name, path in logs.items()}
    stop = threading.Event()
    failures: list[str] = []

    def hammer() -> None:
        with httpx.Client(timeout=5.0) as client:
            while not stop.is_set():
                for node in nodes:
                    try:
                        answer = client.get(f"{node.url}/v1/node")
                    except httpx.HTTPError:
                        continue
                    if answer.status_code != 200:
                        failures.append(f"{node.name}: {answer.status_code} {answer.text[:200]}")

    readers = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        with httpx.Client(timeout=10.0) as client:
            boss = admin(cluster, client)
            deadline = time.monotonic() + 6.0
            while time.monotonic() < deadline:  # new tenants: new dict entries in every group's state machine
                created = boss.create_tenant(f"race{secrets.token_hex(4)}")
                assert created.status == 201, created
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
    errors = []
    for name, path in logs.items():
        with path.open("rb") as file:
            file.seek(sizes[name])
            for line in file.read().decode("utf-8", "replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
                    errors.append(f"{name}: {line[:300]}")
    assert not failures, failures[:5]
    assert not errors, errors[:5]
