"""Read-local routing and write-quorum (testbed/sql_routing.py) on a stub node: ``route=node`` (default)
keeps v1's node-local read (404 on another group's node: the placement probes rely on it), ``route=region``
forwards to the owning group's member in the entry node's region, a bad route is 400; the quorum named on
a leader is itself plus the followers that reached the commit index. (End to end: tests/test_sql_e2e.py.)"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from testbed import sql_routing
from testbed.web import HttpError

MEMBERS = {g: [SimpleNamespace(name=f"{g}-{r}", region=r) for r in ("us-east", "eu-west", "ap-south")]
           for g in ("g0", "g1")}


def app(owner: str = "g1") -> SimpleNamespace:
    me = SimpleNamespace(name="g0-eu-west", group="g0", region="eu-west")
    return SimpleNamespace(me=me, _owner=lambda t, k: owner, _who=lambda: {"node": me.name, "group": "g0",
                                                                            "region": me.region},
                           raft=SimpleNamespace(state=SimpleNamespace(local_get=lambda t, k: None)),
                           cluster=SimpleNamespace(members=lambda g: MEMBERS[g]))


def read(a: SimpleNamespace, route: str | None) -> tuple[int, dict]:
    query = {} if route is None else {"route": route}
    return asyncio.run(sql_routing.local_read(a, SimpleNamespace(query=query), "t", "k"))


def test_node_route_is_the_nodes_own_replica_and_bad_route_is_400():
    for route in (None, "node"):
        with pytest.raises(HttpError) as caught:
            read(app(), route)
        assert caught.value.status == 404 and caught.value.extra["owner_group"] == "g1"
    with pytest.raises(HttpError) as caught:
        read(app(), "nearest")
    assert caught.value.status == 400 and caught.value.code == "bad_consistency"


def test_region_route_forwards_to_the_owner_groups_member_in_the_entry_region(monkeypatch):
    asked: list[str] = []

    async def post(a, node, body):
        asked.append(node)
        if node == "g1-eu-west":
            return 200, {"node": node, "region": "eu-west", "value": "v", "version": 3}
        raise AssertionError("asked a member outside the entry region first")

    monkeypatch.setattr(sql_routing, "_post", post)
    status, body = read(app(), "region")
    assert status == 200 and asked == ["g1-eu-west"]
    assert body["region"] == body["entry_region"] == "eu-west" and body["forwarded_by"] == "g0-eu-west"


def test_quorum_on_a_leader_is_itself_and_the_followers_at_the_commit_index():
    class Node:  # pysyncobj's node objects: hashable, with the peer's address as ``id``
        def __init__(self, address: str) -> None:
            self.id = address

    nodes = {a: Node(a) for a in ("a:1", "b:1", "c:1")}
    sync = SimpleNamespace(_isLeader=lambda: True, _SyncObj__raftMatchIndex={nodes["b:1"]: 10, nodes["c:1"]: 7},
                           _SyncObj__raftCommitIndex=10)
    a = app()
    a.raft = SimpleNamespace(address_to_name={"a:1": "g0-eu-west", "b:1": "g0-us-east", "c:1": "g0-ap-south"},
                             leader_name=lambda: "g0-eu-west", syncobj=sync)
    a.cluster = SimpleNamespace(members=lambda g: MEMBERS["g0"])
    q = sql_routing.quorum(a)
    assert q["members"] == ["g0-eu-west", "g0-us-east"] and q["majority"] and q["group_size"] == 3


def test_ingest_retries_its_own_groups_rows_through_the_members_when_the_local_commit_fails():
    """A leader change under the entry node's own commit (503) is not the batch's end: the rows go to the
    group's members like another group's rows (ids make the retry safe)."""
    from testbed.sql_ingest import Ingest

    me = SimpleNamespace(name="g0-eu-west", group="g0", region="eu-west")
    posted: list[str] = []

    async def post_member(member, path, body, timeout):
        posted.append(member.name)
        return 200, {"stored": len(body["rows"]), "duplicates": 0, "leader": "g0-us-east"}

    ingest = Ingest.__new__(Ingest)
    ingest.app = SimpleNamespace(me=me, retry_deadline=2.0, backoff=0.01,
                                 forwarder=SimpleNamespace(leader_hint={"g0": "g0-us-east"}),
                                 cluster=SimpleNamespace(members=lambda g: MEMBERS[g]))
    ingest.sql = SimpleNamespace(post_member=post_member)

    async def leader_changed(tenant, rows):
        raise HttpError(503, "unavailable", "group g0 cannot commit: leader_changed")

    ingest.commit_here = leader_changed
    answer = asyncio.run(ingest._commit("g0", "t", [(1, "k", None, None, None, None, None)]))
    assert answer["stored"] == 1 and posted == ["g0-us-east"]

    async def refused(tenant, rows):
        raise HttpError(400, "invalid_row", "no")

    ingest.commit_here = refused
    with pytest.raises(HttpError) as caught:
        asyncio.run(ingest._commit("g0", "t", []))
    assert caught.value.status == 400
