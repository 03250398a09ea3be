"""The testbed's TEST-ONLY fault switches really break it, so the harness's checks can be shown to FAIL."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import harness_ring, new_tenant, start_cluster
from tier7.contract import ContractClient


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    target = start_cluster(tmp_path_factory.mktemp("broken"),
                           test_faults={"tenant_leak": True, "misroute_fraction": 0.05, "lose_write_fraction": 0.05})
    yield target
    target.stop()


def test_misroute_and_lost_writes_and_leak(broken, http):
    tenant, token = new_tenant(broken, http)
    other, other_token = new_tenant(broken, http)
    ring = harness_ring(broken, http)
    client = ContractClient(broken.nodes()[0].url, token, client=http)
    keys = [f"k{i}" for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        puts = list(pool.map(lambda k: client.put(k, "v-" + k), keys))
    assert all(a.status == 200 for a in puts)
    misrouted = [k for k, a in zip(keys, puts, strict=True) if a.body["group"] != ring.group_for(tenant, k)]
    assert 5 <= len(misrouted) <= 60, len(misrouted)
    with ThreadPoolExecutor(8) as pool:
        reads = list(pool.map(lambda k: client.get(k), keys))
    lost = [k for k, a in zip(keys, reads, strict=True) if a.status == 404]
    assert 5 <= len(lost) <= 60, len(lost)
    assert ContractClient(broken.nodes()[0].url, other_token, client=http).get("k1", tenant=tenant).status != 403
    log = broken.log_files()[broken.nodes()[0].name].read_text()
    assert "TEST FAULTS ENABLED" in log
