"""Intelligent routing (contract v5): read-local and write-quorum.

* Read-local: a ``consistency=local&route=region`` GET is answered from a replica of the key's group in the
  entry node's own region (every group has a member in every region): by the entry node when it is in the
  group, else forwarded to that group's member in the same region (then any other member when it does not
  answer). The answer names ``region`` (the serving replica's) and ``entry_region``. Without ``route``
  (``route=node``) a local read stays what contract v1 says: this node's own replica, 404 on a node of
  another group (the harness's placement probes rely on it).
* Write-quorum: an acknowledged write names ``quorum``: members that hold the entry when it was applied.
  On the leader: itself and every follower whose match index reached the commit index (a majority, by the
  definition of the commit index). On a follower that applied the entry: itself and the leader (the leader
  holds every committed entry); for a 3-member group that is already a majority.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .forward import INTERNAL_HEADER
from .web import HttpError, Request

if TYPE_CHECKING:
    from .api import NodeApp


def quorum(app: NodeApp) -> dict[str, Any]:
    """The members known to hold an entry just applied on this node, and the group's size."""
    raft = app.raft
    names = raft.address_to_name
    members = {app.me.name}
    leader = raft.leader_name()
    sync = raft.syncobj
    if sync._isLeader():
        # pysyncobj keeps these privately; read only (a dict copy in one C call, then plain ints)
        match = dict(getattr(sync, "_SyncObj__raftMatchIndex", {}))
        commit = int(getattr(sync, "_SyncObj__raftCommitIndex", 0))
        members |= {names.get(getattr(node, "id", str(node)), str(node)) for node, idx in match.items()
                    if idx >= commit}
    elif leader:
        members.add(leader)
    size = len(app.cluster.members(app.me.group))
    return {"members": sorted(members), "acks": len(members), "group_size": size,
            "majority": len(members) > size // 2, "leader": leader}


async def local_read(app: NodeApp, r: Request, tenant: str, key: str) -> tuple[int, dict]:
    """A ``consistency=local`` read: this node's replica (``route=node``, the default) or the key's group's
    replica in this node's region (``route=region``)."""
    route = r.query.get("route", "node")
    if route not in ("node", "region"):
        raise HttpError(400, "bad_consistency", "route must be 'node' or 'region'")
    owner = app._owner(tenant, key)
    if owner == app.me.group or route == "node":
        entry = app.raft.state.local_get(tenant, key)
        base = {**app._who(), "key": key, "consistency": "local", "owner_group": owner,
                "entry_region": app.me.region, "entry_node": app.me.name}
        if entry is None:
            raise HttpError(404, "not_found", "key not found on this node's replica", **base)
        return 200, {**base, **entry}
    members = sorted(app.cluster.members(owner), key=lambda m: (m.region != app.me.region, m.name))
    last = "no member answered"
    for member in members:
        try:
            status, payload = await _post(app, member.name, {"op": "local_get", "tenant": tenant, "key": key})
        except httpx.HTTPError as exc:
            last = f"{member.name}: {exc.__class__.__name__}"
            continue
        payload.update({"entry_region": app.me.region, "entry_node": app.me.name, "forwarded_by": app.me.name})
        if status == 200:
            return 200, payload
        if status == 404:
            raise HttpError(404, "not_found", "key not found on the serving replica",
                            **{k: v for k, v in payload.items() if k != "error"})
        last = f"{member.name}: {status}"
    raise HttpError(503, "unavailable", f"no replica of group {owner} answered a local read: {last}", group=owner)


async def _post(app: NodeApp, node: str, body: dict[str, Any]) -> tuple[int, dict]:
    fwd = app.forwarder
    response = await fwd.client.post(f"{fwd.bases[node]}/v1/internal/read", json=body,
                                     headers={INTERNAL_HEADER: fwd.auth}, timeout=2.0)
    try:
        return response.status_code, response.json()
    except ValueError:
        return 502, {}


async def internal_read(app: NodeApp, r: Request) -> tuple[int, dict]:
    """``POST /v1/internal/read``: this replica's entry for a key of this node's group (no log round)."""
    from . import auth

    if not auth.same(r.headers.get(INTERNAL_HEADER, ""), app.forwarder.auth):
        raise HttpError(403, "forbidden", "internal endpoint")
    op = await r.json_object()
    tenant, key = op.get("tenant"), op.get("key")
    if not isinstance(tenant, str) or not isinstance(key, str):
        raise HttpError(400, "bad_request", "malformed internal read")
    owner = app._owner(tenant, key)
    if owner != app.me.group:
        raise HttpError(421, "wrong_group", f"key belongs to {owner}, not {app.me.group}")
    entry = app.raft.state.local_get(tenant, key)
    base = {**app._who(), "key": key, "consistency": "local", "owner_group": owner}
    if entry is None:
        raise HttpError(404, "not_found", "key not found on this node's replica", **base)
    return 200, {**base, **entry}
