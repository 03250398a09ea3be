"""Shared fixtures: real testbed clusters on loopback, started and stopped by PID."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tier7.contract import ContractClient
from tier7.ring import HarnessRing
from tier7.targets import processes
from tier7.targets.testbed import TestbedTarget

# Clusters started by this test process die with it, even when pytest itself is killed.
processes.tie_children_to_this_process()


def start_cluster(directory: Path, **kwargs) -> TestbedTarget:
    target = TestbedTarget.create(directory, **kwargs)
    try:
        target.start(timeout=30)
    except BaseException:
        target.stop()
        raise
    return target


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestbedTarget]:
    """One healthy god-tier cluster shared by the tests that do not break it for good."""
    target = start_cluster(tmp_path_factory.mktemp("testbed"))
    pids = dict(target.pids)
    yield target
    target.stop()
    assert not [n for n in pids if target.is_running(n)], "cluster nodes left running"


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[TestbedTarget]:
    """A cluster of the test's own, for tests that kill everything."""
    target = start_cluster(tmp_path / "testbed")
    yield target
    target.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    client = httpx.Client(timeout=10.0, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    yield client
    client.close()


def admin(target: TestbedTarget, http: httpx.Client, node: int = 0) -> ContractClient:
    return ContractClient(target.nodes()[node].url, target.admin_token(), client=http)


def new_tenant(target: TestbedTarget, http: httpx.Client, prefix: str = "t") -> tuple[str, str]:
    name = f"{prefix}{secrets.token_hex(4)}"
    answer = admin(target, http).create_tenant(name)
    assert answer.status == 201, answer
    return name, answer.body["token"]


def harness_ring(target: TestbedTarget, http: httpx.Client) -> HarnessRing:
    return HarnessRing.from_contract(ContractClient(target.nodes()[0].url, client=http).get_json("/v1/ring"))
