"""Rebalancing, the node's side (issue 11; docs/contract.md "Scaling (v3)", docs/testbed.md "Rebalancing").

- ``POST /v1/admin/rebalance``: validate, then commit the plan (``rebalance_begin``) in the coordinator group
  (the first group of the current ring: its log serialises concurrent admin calls) and in every other group.
- A loop on every node: keep the node's router view (ring, new members) in step with its group's replicated
  state and, on the leader of a source group, move the leaving keys batch by batch:
  fence (source) -> install (every target) -> hand off (source); then finish and tell every group.
- ``GET /v1/rebalance``: the migration as this node's group knows it, live counts asked of the sources.

The replicated commands are in rebalance_state.py; every one is idempotent, so a new leader simply runs
the loop again from what its replica holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import auth
from .config import ConfigError, NodeSpec, load_cluster
from .forward import INTERNAL_HEADER
from .logs import event
from .rebalance_state import batch_id, ring_of
from .ring import Ring
from .web import HttpError, Request, field

if TYPE_CHECKING:
    from .api import NodeApp

log = logging.getLogger("testbed.rebalance")

BATCH_KEYS = 1000            # keys per fence batch
BATCH_BYTES = 256 * 1024     # bytes (keys + values, this replica's estimate) per fence batch
INSTALL_BYTES = 600 * 1024   # bytes of JSON per install request (under the 1 MiB body limit)
SEND_DEADLINE_S = 5.0        # seconds one internal rebalance call keeps trying a group's members
ACTIVE_POLL_S = 0.1          # seconds between loop rounds while a migration runs
IDLE_POLL_S = 0.5            # seconds between loop rounds otherwise (a dict lookup: no measurable CPU)
ACTIONS = ("add", "remove")


class Rebalancer:
    def __init__(self, app: NodeApp) -> None:
        self.app = app
        self.synced: tuple | None = None       # (epoch, finished) the router view was last built from
        self.previous: Ring | None = None      # the ring keys move FROM while a migration runs
        self.begun: set[tuple[int, str]] = set()  # (epoch, group) known to hold the plan
        self.told: set[tuple[int, str]] = set()   # (epoch, group) told that this group finished as a source
        self.skipped: set[int] = set()         # epochs whose last batch the TEST-ONLY mutant dropped
        self.skip_last = bool(app.faults.get("rebalance_skips_last_batch"))
        self.task: asyncio.Task | None = None

    @property
    def state(self) -> Any:
        return self.app.raft.state

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    # -- the router's view --

    def sync_view(self) -> None:
        """Rebuild this node's ring (and learn new members) when its group's replicated view changed."""
        view, m = self.state.ring_view, self.state.mig
        if view is None:
            return
        key = (view["epoch"], m["finished"] if m else None)
        if key == self.synced:
            return
        if m is not None:
            self._learn_members(m.get("members") or {})
        self.app.ring = Ring(view["groups"], view["vnodes"], view["epoch"])
        running = m is not None and m["finished"] is None
        self.previous = Ring(m["old"], view["vnodes"], m["from_epoch"]) if running else None
        self.app.metrics.ring_epoch.set(view["epoch"])
        if m is not None and not running and m["action"] == "remove" and m["group"] != self.app.me.group:
            for node in self.app.cluster.members(m["group"]):  # drained: no more CRDT deltas for them
                self.app.crdt.sync.remove_peer(node.name)
        if m is not None and not running and self.synced is not None and self.synced[1] is None:
            event(log, "rebalance", phase="finished", epoch=m["epoch"], action=m["action"], group=m["group"],
                  keys_moved=sum(r["moved"] for r in m["done_sources"].values()))
        self.synced = key

    def _learn_members(self, members: dict[str, Any]) -> None:
        data = self.app.cluster.data
        known = {n["name"] for n in data["nodes"]}
        fresh = [n for n in members.get("nodes", []) if n["name"] not in known]
        if not fresh:
            return
        data["nodes"].extend(fresh)
        if data.get("geo") and members.get("links"):
            have = {link["name"] for link in data["geo"]["links"]}
            data["geo"]["links"].extend(link for link in members["links"] if link["name"] not in have)
        self.app.forwarder.refresh()
        for node in fresh:  # CRDT anti-entropy reaches the new nodes too (a full sync first)
            self.app.crdt.sync.add_peer(NodeSpec(**{**node, "dir": Path(node["dir"])}))

    # -- admin call --

    async def admin(self, r: Request) -> tuple[int, dict]:
        self.app._require_admin(r)
        body = await r.json_object()
        action, group = field(body, "action", str), field(body, "group", str)
        if action not in ACTIONS:
            raise HttpError(400, "bad_request", "action must be 'add' or 'remove'")
        self.sync_view()
        m = self.state.mig
        if m is not None and m["finished"] is None:
            raise HttpError(409, "rebalance_running", f"rebalance to epoch {m['epoch']} is still running",
                            epoch=m["epoch"])
        ring = self.app.ring
        if self.app.me.group not in ring.groups:
            raise HttpError(409, "not_in_ring", f"this node's group {self.app.me.group} was drained; ask another node")
        members: dict[str, Any] = {}
        if action == "add":
            if group in ring.groups:
                raise HttpError(409, "group_in_ring", f"group {group} is already in the ring")
            members = self._members_from_file(group)
            new = [*ring.groups, group]
        else:
            if group not in ring.groups:
                raise HttpError(404, "unknown_group", f"group {group} is not in the ring ({', '.join(ring.groups)})")
            if len(ring.groups) == 1:
                raise HttpError(409, "last_group", "cannot drain the last group")
            new = [g for g in ring.groups if g != group]
        plan = {"epoch": ring.epoch + 1, "from_epoch": ring.epoch, "old": list(ring.groups), "new": new,
                "vnodes": ring.vnodes, "action": action, "group": group, "started": round(time.time(), 6),
                "members": members}
        coordinator = ring.groups[0]
        status, answer = await self.send(coordinator, {"op": "begin", "plan": plan})
        if status != 200 or not answer.get("ok"):
            if answer.get("running") or answer.get("conflict") or answer.get("stale"):
                raise HttpError(409, "rebalance_running", "another rebalance started first", epoch=answer.get("epoch"))
            raise HttpError(503, "unavailable", f"group {coordinator} could not start the rebalance")
        self.begun.add((plan["epoch"], coordinator))
        event(log, "rebalance", phase="started", epoch=plan["epoch"], action=action, group=group,
              old=plan["old"], new=new)
        # The others now, at once; any that misses it gets it from a source leader's loop.
        await asyncio.gather(*(self._begin(plan, g) for g in sorted(set(plan["old"]) | set(new)) if g != coordinator))
        return 202, {**self.app._who(), "epoch": plan["epoch"], "state": "running", "action": action, "group": group}

    def _members_from_file(self, group: str) -> dict[str, Any]:
        """The new group's nodes and the proxy links to them, from the cluster file the driver rewrote."""
        path = self.app.cluster.path
        if path is None:
            raise HttpError(404, "unknown_group", f"group {group} is unknown (no cluster file to read)")
        try:
            data = load_cluster(path).data
        except ConfigError as exc:
            raise HttpError(503, "unavailable", f"cannot read the cluster file: {exc}") from None
        nodes = [n for n in data["nodes"] if n["group"] == group]
        if not nodes:
            raise HttpError(404, "unknown_group", f"group {group} has no nodes in the cluster file; start them first")
        names = {n["name"] for n in nodes}
        links = [link for link in (data.get("geo") or {}).get("links", []) if link["to_node"] in names]
        return {"nodes": nodes, "links": links}

    async def _begin(self, plan: dict[str, Any], group: str) -> bool:
        try:
            status, answer = await self.send(group, {"op": "begin", "plan": plan})
        except HttpError:
            return False
        if status == 200 and answer.get("ok"):
            self.begun.add((plan["epoch"], group))
            return True
        return False

    # -- node-to-node --

    async def internal(self, r: Request) -> tuple[int, dict]:
        """``POST /v1/internal/rebalance``: a migration command for this node's group (cluster header)."""
        if not auth.same(r.headers.get(INTERNAL_HEADER, ""), self.app.forwarder.auth):
            raise HttpError(403, "forbidden", "internal endpoint")
        body = await r.json_object()
        op, state, commit = body.get("op"), self.state, self.app.raft.commit
        try:
            if op == "begin" and isinstance(body.get("plan"), dict):
                result = await commit(state.rebalance_begin, body["plan"])
            elif op == "install" and isinstance(body.get("items"), list):
                result = await commit(state.rebalance_install, int(body["epoch"]), str(body["batch"]), body["items"])
            elif op == "source_done" and isinstance(body.get("report"), dict):
                result = await commit(state.rebalance_source_done, int(body["epoch"]), str(body["source"]),
                                      body["report"])
            elif op == "status":
                result = self.contribution()
            else:
                raise HttpError(400, "bad_request", "malformed internal rebalance call")
        except (KeyError, TypeError, ValueError):
            raise HttpError(400, "bad_request", "malformed internal rebalance call") from None
        except Exception as exc:  # CommitFailed: certainly-not-applied or unknown; the sender retries (idempotent)
            if isinstance(exc, HttpError):
                raise
            raise HttpError(503, "unavailable", f"cannot commit: {exc}") from None
        self.sync_view()
        return 200, {**self.app._who(), **result, "leader": self.app.raft.leader_name()}

    async def send(self, group: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Post a rebalance command to ``group`` (locally for our own group), following its leader; every
        command is idempotent, so a timeout is simply retried until ``SEND_DEADLINE_S``."""
        if group == self.app.me.group and body["op"] != "status":
            request = _LocalRequest(body, self.app.forwarder.auth)
            return await self.internal(request)  # type: ignore[arg-type]
        fwd = self.app.forwarder
        deadline = time.monotonic() + SEND_DEADLINE_S
        content = json.dumps(body, ensure_ascii=False).encode()
        while True:
            for member in fwd.candidates(group):
                try:
                    response = await fwd.client.post(f"{fwd.bases[member.name]}/v1/internal/rebalance",
                                                      content=content, headers={INTERNAL_HEADER: fwd.auth,
                                                                                "content-type": "application/json"})
                    payload = response.json()
                except (httpx.HTTPError, ValueError):
                    continue
                if response.status_code == 503:
                    continue
                if isinstance(payload.get("leader"), str):
                    fwd.leader_hint[group] = payload["leader"]
                return response.status_code, payload
            if time.monotonic() > deadline:
                raise HttpError(503, "unavailable", f"group {group} did not answer the rebalance call")
            await asyncio.sleep(0.1)

    # -- the loop --

    async def run(self) -> None:
        while True:
            active = False
            try:
                self.sync_view()
                m = self.state.mig
                active = m is not None and m["finished"] is None
                if active and self.app.raft.syncobj._isLeader():
                    await self.lead(m)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a group unreachable, a leader change: the next round retries
                event(log, "rebalance_retry", logging.WARNING, error=f"{exc.__class__.__name__}: {exc}"[:300])
                await asyncio.sleep(0.5)
            await asyncio.sleep(ACTIVE_POLL_S if active else IDLE_POLL_S)

    def _plan(self, m: dict[str, Any]) -> dict[str, Any]:
        return {k: m[k] for k in ("epoch", "from_epoch", "old", "new", "action", "group", "started", "members")} | {
            "vnodes": self.state.ring_view["vnodes"]}

    async def lead(self, m: dict[str, Any]) -> None:
        """One round on the leader of this group: spread the plan, move this group's leaving keys, report."""
        epoch, me = m["epoch"], self.app.me.group
        everyone = sorted(set(m["old"]) | set(m["new"]))
        missing = [g for g in everyone if g != me and (epoch, g) not in self.begun]
        if missing:
            await asyncio.gather(*(self._begin(self._plan(m), g) for g in missing))
        if me in m["sources"] and not m["source_done"]:
            commit = self.app.raft.commit
            if m["to_move"] is None:
                await commit(self.state.rebalance_planned, epoch, len(self.state.leaving(m)) + len(m["fenced_items"]))
                event(log, "rebalance", phase="planned", epoch=epoch, action=m["action"], group=m["group"],
                      source=me, keys_to_move=m["to_move"])
            for batch, items in list(m["fenced"].items()):  # a previous leader's batches in flight
                await self.move(m, batch, items)
            leaving = self.state.leaving(m)
            chunks = self._chunks(leaving)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                await self.move(m, batch_id(epoch, me, chunk), chunk, drop=last and self._drop_this(epoch))
            if not leaving and not m["fenced"]:
                result = await commit(self.state.rebalance_source_finish, epoch, round(time.time(), 6))
                if result.get("ok"):
                    event(log, "rebalance", phase="source_finished", epoch=epoch, action=m["action"],
                          group=m["group"], source=me, **{k: v for k, v in result["report"].items() if k != "ts"})
        if m["source_done"]:
            report = m["report"]
            for g in everyone:
                if (epoch, g) not in self.told:
                    try:
                        status, answer = await self.send(g, {"op": "source_done", "epoch": epoch, "source": me,
                                                             "report": report})
                    except HttpError:
                        continue
                    if status == 200 and answer.get("ok"):
                        self.told.add((epoch, g))

    def _drop_this(self, epoch: int) -> bool:
        """TEST ONLY (rebalance_skips_last_batch): drop this source's last batch, once per epoch."""
        if not self.skip_last or epoch in self.skipped:
            return False
        self.skipped.add(epoch)
        return True

    def _chunks(self, items: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
        chunks: list[list[tuple[str, str]]] = []
        current: list[tuple[str, str]] = []
        size = 0
        for tenant, key in items:
            item_size = self.state.size_of(tenant, key)
            if current and (len(current) >= BATCH_KEYS or size + item_size > BATCH_BYTES):
                chunks.append(current)
                current, size = [], 0
            current.append((tenant, key))
            size += item_size
        if current:
            chunks.append(current)
        return chunks

    async def move(self, m: dict[str, Any], batch: str, items: list[tuple[str, str]], drop: bool = False) -> None:
        """Fence a batch here, install it at every target, then hand it off here (in that order: the
        source stays the keys' authority until their new owner holds them)."""
        epoch, commit, state = m["epoch"], self.app.raft.commit, self.state
        fenced = await commit(state.rebalance_fence, epoch, batch, [list(i) for i in items])
        if not fenced.get("ok"):
            return
        vnodes = state.ring_view["vnodes"]
        new_ring = ring_of(m["new"], vnodes)
        by_target: dict[str, list[list[Any]]] = {}
        for tenant, key, value, version in fenced["items"]:
            by_target.setdefault(new_ring.owner(tenant, key), []).append([tenant, key, value, version])
        if drop:  # TEST ONLY: the batch is never copied, yet handed off (deleted here) below
            event(log, "rebalance", logging.WARNING, phase="batch_dropped", epoch=epoch, batch=batch,
                  keys=len(fenced["items"]), test_fault="rebalance_skips_last_batch")
        else:
            for target, rows in by_target.items():
                for index, part in enumerate(_parts(rows)):
                    status, answer = await self.send(target, {"op": "install", "epoch": epoch,
                                                              "batch": f"{batch}>{target}#{index}", "items": part})
                    if status != 200 or not answer.get("ok"):
                        raise RuntimeError(f"install of {batch} at {target} refused: {answer.get('reason') or status}")
        present = [row for row in fenced["items"] if row[2] is not None]
        nbytes = sum(len(row[1].encode()) + len(row[2].encode()) for row in present)
        await commit(state.rebalance_handoff, epoch, batch, len(present), nbytes)
        self.app.metrics.keys_moved.inc(len(present))
        self.app.metrics.bytes_moved.inc(nbytes)
        event(log, "rebalance", phase="batch", epoch=epoch, action=m["action"], group=m["group"],
              source=self.app.me.group, batch=batch, keys=len(present), bytes=nbytes,
              targets=sorted(by_target))

    # -- status --

    def contribution(self) -> dict[str, Any]:
        """This group's own part of the running migration (its replica)."""
        m = self.state.mig
        if m is None:
            return {"epoch": None}
        return {"epoch": m["epoch"], "to_move": m["to_move"], "moved": m["moved"], "bytes": m["bytes"],
                "source_done": m["source_done"]}

    async def status(self, r: Request) -> tuple[int, dict]:
        """``GET /v1/rebalance``."""
        self.sync_view()
        m = self.state.mig
        base = {**self.app._who(), "epoch": self.app.ring.epoch}
        if m is None:
            return 200, {**base, "state": "idle", "action": None, "group": None, "from_epoch": None,
                         "keys_to_move": None, "keys_moved": 0, "bytes_moved": 0, "started": None, "finished": None}
        parts: dict[str, dict[str, Any]] = dict(m["done_sources"])
        if m["finished"] is None:
            me = self.app.me.group
            if me in m["sources"] and me not in parts:
                parts[me] = self.contribution()
            others = [g for g in m["sources"] if g not in parts]
            answers = await asyncio.gather(*(self._ask(g) for g in others))
            parts.update({g: a for g, a in zip(others, answers, strict=True) if a and a.get("epoch") == m["epoch"]})
        planned = [parts[g].get("to_move") for g in m["sources"] if g in parts]
        known = len(planned) == len(m["sources"]) and all(p is not None for p in planned)
        return 200, {**base, "epoch": m["epoch"], "state": "running" if m["finished"] is None else "finished",
                     "action": m["action"], "group": m["group"], "from_epoch": m["from_epoch"],
                     "keys_to_move": sum(planned) if known else None,
                     "keys_moved": sum(p.get("moved", 0) for p in parts.values()),
                     "bytes_moved": sum(p.get("bytes", 0) for p in parts.values()),
                     "started": m["started"], "finished": m["finished"]}

    async def _ask(self, group: str) -> dict[str, Any] | None:
        fwd = self.app.forwarder
        for member in fwd.candidates(group):
            try:
                response = await fwd.client.post(f"{fwd.bases[member.name]}/v1/internal/rebalance",
                                                  json={"op": "status"}, headers={INTERNAL_HEADER: fwd.auth},
                                                  timeout=0.5)
                return response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                continue
        return None

    def ring_previous(self) -> dict[str, Any] | None:
        self.sync_view()
        if self.previous is None:
            return None
        return {"epoch": self.previous.epoch, "groups": self.previous.groups}


def _parts(rows: list[list[Any]]) -> list[list[list[Any]]]:
    """Split install rows so each request's JSON stays under ``INSTALL_BYTES``."""
    parts: list[list[list[Any]]] = []
    current: list[list[Any]] = []
    size = 0
    for row in rows:
        row_size = len(json.dumps(row, ensure_ascii=False).encode()) + 1
        if current and size + row_size > INSTALL_BYTES:
            parts.append(current)
            current, size = [], 0
        current.append(row)
        size += row_size
    if current:
        parts.append(current)
    return parts


class _LocalRequest:
    """A stand-in Request for a command this node sends to its own group (no HTTP round trip)."""

    def __init__(self, body: dict[str, Any], token: str) -> None:
        self._body = body
        self.headers = {INTERNAL_HEADER: token}

    async def json_object(self) -> dict[str, Any]:
        return self._body
