"""Shared fixtures: real testbed clusters on loopback, started and stopped by PID."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import lanes
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


# The shared cluster costs ~0.1 core when idle (nine nodes, measured) and its nodes' memory: the modules that
# use it run first, and it stops right after the last test that needs it instead of idling through the rest.
_SHARED: dict[str, object] = {}


def _uses_cluster(item: pytest.Item) -> bool:
    return "cluster" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: the lane gets only the selected tests
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    module_uses: dict[str, bool] = {}
    for item in items:
        module_uses[item.fspath.strpath] = module_uses.get(item.fspath.strpath, False) or _uses_cluster(item)
    items.sort(key=lambda item: 0 if module_uses[item.fspath.strpath] else 1)  # stable: modules stay whole
    _split_off_the_background_lane(config, items)
    users = [item.nodeid for item in items if _uses_cluster(item)]
    _SHARED["last_user"] = users[-1] if users else None


def _split_off_the_background_lane(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under make test (tests/lanes.toml), hand the lane's modules to a second pytest started now; the
    lane's own test (tests/test_lanes.py) goes last and waits for it."""
    modules, timeout_s = lanes.lane_modules()
    lane_items = [i for i in items if Path(i.fspath.strpath).relative_to(lanes.ROOT).as_posix() in modules]
    if lane_items:
        items[:] = [i for i in items if i not in lane_items]
        _SHARED["lane"] = lanes.start_lane([i.nodeid for i in lane_items], timeout_s)
        config.hook.pytest_deselected(items=lane_items)  # counted here as deselected: they run in the lane
    waits = [i for i in items if i.nodeid.startswith("tests/test_lanes.py::")]
    items[:] = [i for i in items if i not in waits] + waits


def background_lane() -> lanes.Lane | None:
    """The lane started for this session, if any."""
    lane = _SHARED.get("lane")
    return lane if isinstance(lane, lanes.Lane) else None


def pytest_unconfigure(config: pytest.Config) -> None:
    lane = background_lane()
    if lane is not None:
        lane.stop()  # only if still running (an interrupted session): never left behind
        lane.output.unlink(missing_ok=True)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if item.nodeid == _SHARED.get("last_user") and "target" in _SHARED:
        _stop_shared()


def _stop_shared() -> None:
    target, pids = _SHARED.pop("target"), _SHARED.pop("pids")
    assert isinstance(target, TestbedTarget) and isinstance(pids, dict)
    target.stop()
    assert not [n for n in pids if target.is_running(n)], "cluster nodes left running"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestbedTarget]:
    """One healthy god-tier cluster shared by the tests that do not break it for good."""
    target = start_cluster(tmp_path_factory.mktemp("testbed"))
    _SHARED.update(target=target, pids=dict(target.pids))
    yield target
    if "target" in _SHARED:  # -k selections may never reach the last user
        _stop_shared()


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
