"""Scaling on the real testbed (issue 11; docs/contract.md "Scaling (v3)"): scale-out by a group of three
nodes and scale-in of an original group, each under a running writer. Only keys whose owner changed move
(counted with the harness's own ring for both epochs), every key ends at its new owner with its last
acknowledged value, and the drained nodes exit cleanly. One 9(+3)-node cluster for the whole module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_tenant, start_cluster
from tests.scaling_support import Writer, load, wait_finished
from tier7.ring import HarnessRing
from tier7.targets.testbed import TestbedTarget

KEYS = [f"k{i}" for i in range(200)]
HOT = KEYS[:20]  # overwritten by the writer during each move


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    target = start_cluster(tmp_path_factory.mktemp("scaling"))
    http = httpx.Client(timeout=10.0)
    try:
        tenant, token = new_tenant(target, http)
        values = load(target, http, token, KEYS)
        yield {"target": target, "http": http, "tenant": tenant, "token": token, "values": values}
    finally:
        http.close()
        target.stop()


def ring_of(http: httpx.Client, url: str) -> tuple[dict, HarnessRing]:
    body = http.get(f"{url}/v1/ring").json()
    return body, HarnessRing.from_contract(body)


def moving(before: HarnessRing, after: HarnessRing, tenant: str) -> set[tuple[str, str]]:
    """Every stored key whose owner differs between the two rings (the tenant's record included)."""
    labels = [(tenant, k) for k in KEYS] + [("_system", f"tenant/{tenant}")]
    return {(t, k) for t, k in labels if before.group_for(t, k) != after.group_for(t, k)}


def check_everything(s: dict, writer: Writer, ring: HarnessRing) -> None:
    """Every key holds an allowed value (its last acknowledged write, or a later unknown one) and is served
    by the group the harness's ring names."""
    http, headers = s["http"], {"authorization": f"Bearer {s['token']}"}
    urls = [n.url for n in s["target"].nodes()]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: http.get(f"{urls[i % len(urls)]}/v1/kv/{KEYS[i]}", headers=headers),
                                range(len(KEYS))))
    bad = []
    for key, answer in zip(KEYS, answers, strict=True):
        allowed = writer.allowed(key, s["values"][key])
        body = answer.json()
        if answer.status_code != 200 or body["value"] not in allowed:
            bad.append((key, answer.status_code, body.get("value"), sorted(allowed)[:3]))
        elif body["group"] != ring.group_for(s["tenant"], key):
            bad.append((key, "served by", body["group"], ring.group_for(s["tenant"], key)))
    assert not bad, bad[:5]
    for key in HOT:  # what the writer left is what later checks expect
        writes = [v for v, outcome in writer.log.get(key, []) if outcome == "ok"]
        if writes:
            s["values"][key] = writes[-1]


def test_bad_admin_calls_answer_4xx_with_the_error_shape(scaled):
    target, http = scaled["target"], scaled["http"]
    url = target.nodes()[0].url
    admin = {"authorization": f"Bearer {target.admin_token()}"}
    cases = [
        ({}, {"action": "add", "group": "g3"}, 401, "unauthorized"),
        ({"authorization": f"Bearer {scaled['token']}"}, {"action": "add", "group": "g3"}, 403, "forbidden"),
        (admin, {"group": "g3"}, 400, "missing_field"),
        (admin, {"action": 3, "group": "g3"}, 400, "wrong_type"),
        (admin, {"action": "grow", "group": "g3"}, 400, "bad_request"),
        (admin, {"action": "remove", "group": "g9"}, 404, "unknown_group"),
        (admin, {"action": "add", "group": "g9"}, 404, "unknown_group"),  # no such nodes in the cluster file
        (admin, {"action": "add", "group": "g0"}, 409, "group_in_ring"),
    ]
    for headers, body, status, code in cases:
        answer = http.post(f"{url}/v1/admin/rebalance", json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (body, answer.text)
        assert set(answer.json()["error"]) == {"code", "message"} and answer.json()["node"]
    answer = http.post(f"{url}/v1/admin/rebalance", content=b"{oops", headers=admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_json")
    assert http.get(f"{url}/v1/admin/rebalance").status_code == 405
    idle = http.get(f"{url}/v1/rebalance").json()
    assert {k: idle[k] for k in ("epoch", "state", "action", "from_epoch", "keys_to_move", "keys_moved",
                                 "bytes_moved", "started", "finished")} == {
        "epoch": 1, "state": "idle", "action": None, "from_epoch": None, "keys_to_move": None, "keys_moved": 0,
        "bytes_moved": 0, "started": None, "finished": None}
    assert ring_of(http, url)[0]["previous"] is None
    config = http.get(f"{url}/v1/config").json()
    assert config["features"]["auto_scaling"]["available"] is True


def test_scale_out_moves_only_changed_keys_and_loses_no_write(scaled):
    target, http, tenant = scaled["target"], scaled["http"], scaled["tenant"]
    url = target.nodes()[0].url
    _, before = ring_of(http, url)
    writer = Writer([n.url for n in target.nodes()], scaled["token"], HOT, prefix="out")
    writer.start()
    try:
        group = target.scale_out(3)
        during, _ = ring_of(http, url)  # the coordinator group's node: the migration has just begun
        status = http.get(f"{url}/v1/rebalance").json()
        if status["state"] == "running":
            assert during["previous"] == {"epoch": 1, "groups": ["g0", "g1", "g2"]}
            assert during["epoch"] == 2 and during["groups"] == ["g0", "g1", "g2", group]
        done = wait_finished(target, http, 2)
    finally:
        writer.stop()
    assert group == "g3" and {n.group for n in target.nodes()} == {"g0", "g1", "g2", "g3"}
    body, after = ring_of(http, url)
    assert body["previous"] is None and body["epoch"] == 2
    expected = moving(before, after, tenant)
    assert all(after.group_for(t, k) == group for t, k in expected)  # only keys for the new group move
    assert done["keys_moved"] == done["keys_to_move"] == len(expected), (done, len(expected))
    assert 0.15 < len(expected) / (len(KEYS) + 1) < 0.40  # about 1/(groups+1)
    assert done["action"] == "add" and done["group"] == group and done["from_epoch"] == 1
    assert done["started"] <= done["finished"] and done["bytes_moved"] > 0
    assert writer.acknowledged() > 0
    check_everything(scaled, writer, after)
    metrics = http.get(f"{target.node('g3-us-east').url}/metrics").text
    assert "tier7_ring_epoch" in metrics and "tier7_rebalance_keys_moved_total" in metrics
    logged = [json.loads(line) for n in target.nodes() for line in Path(target.log_files()[n.name]).read_text()
              .splitlines() if '"rebalance"' in line]
    assert {entry.get("phase") for entry in logged} >= {"started", "batch", "finished"}


def test_scale_in_of_an_original_group_drains_it_and_its_nodes_exit_cleanly(scaled):
    target, http, tenant = scaled["target"], scaled["http"], scaled["tenant"]
    url = target.nodes()[0].url
    _, before = ring_of(http, url)
    drained = [n.name for n in target.nodes() if n.group == "g1"]
    writer = Writer([n.url for n in target.nodes() if n.group != "g1"], scaled["token"], HOT, prefix="in")
    writer.start()
    try:
        target.scale_in("g1")
        target.finish_scale_in("g1", timeout=60)
    finally:
        writer.stop()
    assert {n.group for n in target.nodes()} == {"g0", "g2", "g3"}
    assert not [name for name in drained if target.is_running(name)]
    assert set(drained) <= set(target.log_files())  # their logs stay evidence
    for name in drained:
        last = json.loads(target.log_files()[name].read_text().splitlines()[-1])
        assert last["event"] == "node_stopped", last  # a clean shutdown, not a kill
    done = http.get(f"{url}/v1/rebalance").json()
    body, after = ring_of(http, url)
    assert body["epoch"] == 3 and body["groups"] == ["g0", "g2", "g3"] and body["previous"] is None
    expected = moving(before, after, tenant)
    assert all(before.group_for(t, k) == "g1" for t, k in expected)  # only the drained group's keys move
    assert done["keys_moved"] == len(expected) and done["action"] == "remove" and done["group"] == "g1"
    check_everything(scaled, writer, after)
    saved = json.loads((target.dir / "cluster.json").read_text())
    assert not [n for n in saved["nodes"] if n["group"] == "g1"]
    assert TestbedTarget(target.dir).nodes() == target.nodes()
