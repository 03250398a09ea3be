"""The testbed's TEST-ONLY fault switches really break it, so the harness's checks can be shown to FAIL.

Two broken clusters, one at a time (class-scoped): switches that do not interfere share a cluster.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import harness_ring, new_tenant, start_cluster
from tier7.contract import ContractClient
from tier7.ring import HarnessRing
from tier7.targets import processes
from tier7.topology import observe
from tier7.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


def init_testbed(tmp_path: Path, faults: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", "init", "--dir", str(tmp_path / "tb"),
                           "--test-faults", faults], capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("faults, message", [
    ('{"stale_reads": 1}', "unknown test fault 'stale_reads'"),
    ('{"stale_read_fraction": 1.5}', "must be a fraction between 0 and 1"),
    ('{"kill_misses_server": 1}', "must be true or false"),
    ('{"crdt_merge_drops_concurrent": 1}', "must be true or false"),
    ('{"crdt_clock_ignores_causality": "yes"}', "must be true or false"),
    ('{"rebalance_skips_last_batch": 1}', "must be true or false"),
    ('{"sql_drops_group_rows": 1}', "must be true or false"),  # issue 12; effect: tests/test_sql_e2e.py
    ('{"sql_wrong_null_aggregate": "yes"}', "must be true or false"),
    ('{"blob_truncates_large": 1}', "must be true or false"),  # issue 12 cloud; effect: tests/test_cloud_e2e.py
    ('{"transport_never_switches": 1}', "must be true or false"),  # issue 13; effect: test_transport_faults.py
    ('{"transport_switch_drops_inflight": "yes"}', "must be true or false"),
    ('{"slow_election_s": -3}', "must be a number of seconds"),
    ('[1]', "must be a JSON object"),
    ("{oops", "is not JSON"),
])
def test_init_refuses_unknown_or_bad_switches(tmp_path, faults, message):
    done = init_testbed(tmp_path, faults)
    assert done.returncode == 2, done
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "tb" / "cluster.json").exists()


def test_switches_are_off_by_default(tmp_path):
    done = init_testbed(tmp_path, "{}")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "tb" / "cluster.json").read_text())["test_faults"] == {}


def leader_of(target, group: str) -> tuple[str, int]:
    view = wait_until(lambda: (t := observe(target.nodes())).groups[group].leader and t, 20, 0.1, "a leader")
    return view.groups[group].leader, view.groups[group].term


# Class-scoped: each cluster stops after its class, so only one runs at a time.
@pytest.fixture(scope="class")
def broken(tmp_path_factory):
    target = start_cluster(tmp_path_factory.mktemp("broken"), test_faults={
        "tenant_leak": True, "misroute_fraction": 0.05, "lose_write_fraction": 0.05,
        "critical_log_after_s": 0.5, "kill_misses_server": True, "forward_answer_lost_fraction": 0.3})
    yield target
    servers = [p for n in target.nodes() if (p := _pid(target.node_dir(n.name) / "server.pid"))]
    target.stop()
    # the daemonized servers stop with their shims: none is left behind
    wait_until(lambda: not any(_server_alive(p) for p in servers), 15, 0.1, "the servers to stop")


@pytest.fixture(scope="class")
def slow(tmp_path_factory):
    started = time.monotonic()
    target = start_cluster(tmp_path_factory.mktemp("slow"),
                           test_faults={"stale_read_fraction": 1.0, "slow_election_s": 8})
    target.up_in_s = time.monotonic() - started
    yield target
    target.stop()


class TestDataFaults:
    """Misrouting, lost writes, tenant leak, a CRITICAL line, and a kill that misses the server."""

    def test_misroute_and_lost_writes_and_leak(self, broken, http):
        tenant, token = new_tenant(broken, http)
        other, other_token = new_tenant(broken, http)
        ring = harness_ring(broken, http)
        client = ContractClient(broken.nodes()[0].url, token, client=http)
        keys = [f"k{i}" for i in range(400)]
        with ThreadPoolExecutor(8) as pool:
            puts = list(pool.map(lambda k: client.put(k, "v-" + k), keys))
        # On a loaded machine a commit can time out (504): judge the keys whose put was acknowledged.
        acked = [k for k, a in zip(keys, puts, strict=True) if a.status == 200]
        assert len(acked) >= 380, [a for a in puts if a.status != 200][:3]
        groups = {k: a.body["group"] for k, a in zip(keys, puts, strict=True) if a.status == 200}
        misrouted = [k for k in acked if groups[k] != ring.group_for(tenant, k)]
        assert 5 <= len(misrouted) <= 60, len(misrouted)
        with ThreadPoolExecutor(8) as pool:
            reads = list(pool.map(lambda k: client.get(k), acked))
        lost = [k for k, a in zip(acked, reads, strict=True) if a.status == 404]
        assert 5 <= len(lost) <= 60, len(lost)
        assert ContractClient(broken.nodes()[0].url, other_token, client=http).get("k1", tenant=tenant).status != 403
        log = broken.log_files()[broken.nodes()[0].name].read_text()
        assert "TEST FAULTS ENABLED" in log

    def test_forwarded_writes_whose_answer_was_lost_are_retried_and_applied_once(self, broken, http):
        """30 % of forwarded answers are dropped after the owner applied the write: the entry node retries
        (op id) and the owner answers the first application's result. Without the retry these are 504;
        without the once-per-op-id guard a retried CAS answers 409 and a retried delete ``deleted: false``."""
        _tenant, token = new_tenant(broken, http)
        entry = broken.nodes()[0]
        client = ContractClient(entry.url, token, client=http)
        keys = [f"once-{i}" for i in range(60)]

        def chain(key: str) -> list:
            return [client.cas(key, None, "a"), client.cas(key, "a", "b"), client.delete(key)]

        with ThreadPoolExecutor(8) as pool:
            answers = dict(zip(keys, pool.map(chain, keys), strict=True))
        forwarded = {k: a for k, a in answers.items() if a[0].body.get("group") != entry.group}
        assert len(forwarded) >= 20, answers
        for key, (create, swap, delete) in forwarded.items():
            assert (create.status, create.body.get("swapped")) == (200, True), (key, create)
            assert (swap.status, swap.body.get("swapped")) == (200, True), (key, swap)
            assert (delete.status, delete.body.get("deleted")) == (200, True), (key, delete)
        retries = [json.loads(line) for line in broken.log_files()[entry.name].read_text().splitlines()
                   if '"forward_retry"' in line]
        assert len(retries) >= 10, len(retries)  # the switch fired; each lost answer was retried

    def test_one_critical_line_on_the_first_node_only(self, broken):
        logs = broken.log_files()
        first = broken.nodes()[0].name

        def criticals(name: str) -> list[dict]:
            return [json.loads(line) for line in logs[name].read_text().splitlines()
                    if '"CRITICAL"' in line]

        found = wait_until(lambda: criticals(first), 10, 0.1, "the CRITICAL line")
        assert len(found) == 1 and found[0]["event"] == "snapshot_corrupt"
        assert not [n for n in logs if n != first and criticals(n)]

    def test_kill_misses_the_server_and_restart_adopts_it(self, broken):
        leader, term = leader_of(broken, "g1")
        server = _pid(broken.node_dir(leader) / "server.pid")
        assert server and server != broken.pids[leader]
        broken.kill_node(leader)  # what the chaos action does: it returns as if the node died
        assert not broken.is_running(leader)
        killed_at = time.monotonic()
        # ... but the server still leads its group, in the same term, well past the plan's 5 s
        while time.monotonic() - killed_at < 6:
            view = observe(broken.nodes()).groups["g1"]
            assert (view.leader, view.term) == (leader, term)
            time.sleep(0.5)
        broken.start_node(leader)
        shim_file = broken.node_dir(leader) / "shim.pid"
        wait_until(lambda: _pid(shim_file) == broken.pids[leader], 10, 0.05, "the new shim to adopt the server")
        broken.wait_healthy(20)
        assert _pid(broken.node_dir(leader) / "server.pid") == server  # adopted, not a second server
        assert _server_alive(server)


class TestElectionFaults:
    """Stale linearizable reads on followers, and slow elections after a leader loss."""

    def test_a_fresh_cluster_still_elects_quickly(self, slow):
        assert slow.up_in_s < 20, slow.up_in_s

    def test_follower_answers_linearizable_read_without_the_log(self, slow, http):
        tenant, token = new_tenant(slow, http)
        ring = harness_ring(slow, http)
        key = "stale-key"
        group = ring.group_for(tenant, key)
        leader, _ = leader_of(slow, group)
        follower = next(n for n in slow.nodes() if n.group == group and n.name != leader)
        client = ContractClient(follower.url, token, client=http)
        assert client.put(key, "v1").status == 200
        wait_until(lambda: client.get(key, consistency="local").body.get("value") == "v1", 5, 0.02, "replication")
        slow.pause_node(leader)  # no leader for ~8 s: a read through the log cannot be served
        try:
            started = time.monotonic()
            answer = client.get(key)
            took = time.monotonic() - started
        finally:
            slow.resume_node(leader)
        assert answer.status == 200 and answer.body["value"] == "v1", answer
        assert answer.body["consistency"] == "linearizable" and took < 1.0, took

    def test_new_leader_takes_longer_than_the_plan_allows(self, slow):
        slow.wait_healthy(30)
        leader, term = leader_of(slow, "g2")
        slow.kill_node(leader)
        killed_at = time.monotonic()
        survivors = [n for n in slow.nodes() if n.group == "g2" and n.name != leader]

        def new_leader():
            view = observe(survivors, timeout=0.5).groups["g2"]
            return view.leader if view.leader and (view.term or 0) > term else None

        try:
            wait_until(new_leader, 30, 0.1, "a new leader")
            elected_after = time.monotonic() - killed_at
        finally:
            slow.start_node(leader)
        assert elected_after > 5.0, elected_after
        slow.wait_healthy(30)


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _server_alive(pid: int) -> bool:
    return processes.state(pid) not in (None, "Z") and os.path.exists(f"/proc/{pid}")


# -- rebalancing mutants (issue 11), each on a cheap cluster: one region, two one-node groups, +1 node --

def _mini(tmp_path: Path, faults: dict) -> tuple:
    from tests.scaling_support import load, mini_preset

    target = start_cluster(tmp_path / "tb", preset=mini_preset(tmp_path), geo="none", test_faults=faults)
    http = httpx.Client(timeout=10.0)
    tenant, token = new_tenant(target, http)
    keys = [f"m{i}" for i in range(90)]
    return target, http, tenant, token, load(target, http, token, keys)


def _moving(target, http, tenant: str, keys, before, node: int = 0) -> list[str]:
    after = HarnessRing.from_contract(http.get(f"{target.nodes()[node].url}/v1/ring").json())
    return [k for k in keys if before.group_for(tenant, k) != after.group_for(tenant, k)]


def test_rebalance_skips_last_batch_loses_the_keys_of_that_batch(tmp_path):
    from tests.scaling_support import wait_finished

    target, http, tenant, token, values = _mini(tmp_path, {"rebalance_skips_last_batch": True})
    try:
        before = harness_ring(target, http)
        target.scale_out(1)
        wait_finished(target, http, 2, timeout=30)
        moved = _moving(target, http, tenant, values, before)
        url, headers = target.nodes()[0].url, {"authorization": f"Bearer {token}"}
        missing = {k for k in values if http.get(f"{url}/v1/kv/{k}", headers=headers).status_code == 404}
        # each source's keys fit one batch here, so its last batch is all it had to move: every one is lost,
        # while the migration reports finished; keys that stayed put are intact
        assert moved and missing == set(moved), (len(moved), len(missing))
    finally:
        http.close()
        target.stop()


def test_rebalance_routes_early_serves_a_moving_key_before_its_data_arrived(tmp_path):
    from tests.scaling_support import wait_finished

    target, http, tenant, token, values = _mini(tmp_path, {"rebalance_routes_early": True})
    try:
        before = harness_ring(target, http)
        sources = [n.name for n in target.nodes()]
        group = target.scale_out(1)
        for name in sources:  # freeze the sources at once: from now on no batch can arrive at the new group
            target.pause_node(name)
        try:
            url = target.nodes()[-1].url
            assert target.nodes()[-1].group == group
            moved = _moving(target, http, tenant, values, before, node=-1)
            headers = {"authorization": f"Bearer {token}"}
            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(lambda k: http.get(f"{url}/v1/kv/{k}", headers=headers).status_code, moved))
        finally:
            for name in sources:
                target.resume_node(name)
        # every key exists (loaded above): a 404 is the new owner answering before the data arrived
        assert moved and codes.count(404) > len(moved) // 2, codes
        wait_finished(target, http, 2, timeout=30)
    finally:
        http.close()
        target.stop()
