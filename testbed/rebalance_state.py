"""The replicated half of rebalancing (issue 11): each Raft group's view of the ring and of the migration
in progress, and the commands that move keys. docs/testbed.md "Rebalancing" explains why it is safe.

Every group holds, in its own replicated state (so all its members agree, in log order):

- ``ring_view``: the newest ring it has been told about (``None`` on a cluster never rescaled: then the
  router's ring from the cluster file is trusted, as before scaling existed);
- ``mig``: the migration to that ring: the old and new group lists, which keys this group has *fenced*
  (a batch in flight: writes refused, certainly not applied), *handed off* (``gone``: copied to their new
  owner and deleted here) or *received* (``arrived``), and which source groups have finished.

The KV commands call ``placement()`` first, inside the state machine: a key is served by a group only when
that group is its authority at that point of the log, whatever the router believed. That is what makes
stale routers safe: a wrong guess costs a redirect, never a lost write or a stale read.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pysyncobj import replicated

from .ring import Ring

_RINGS: dict[tuple[tuple[str, ...], int], Ring] = {}


def ring_of(groups: list[str], vnodes: int) -> Ring:
    """A cached Ring for this group list (building one hashes groups x vnodes labels)."""
    key = (tuple(groups), vnodes)
    ring = _RINGS.get(key)
    if ring is None:
        if len(_RINGS) > 32:  # a handful of epochs at most; bounded anyway
            _RINGS.clear()
        ring = _RINGS[key] = Ring(list(groups), vnodes, 0)
    return ring


def batch_id(epoch: int, source: str, labels: list[tuple[str, str]]) -> str:
    """A batch's name, the same for the same keys (a new leader re-sending it installs nothing twice)."""
    digest = hashlib.sha256(repr((epoch, source, sorted(labels))).encode()).hexdigest()[:16]
    return f"{epoch}:{source}:{digest}"


class RebalanceState:
    """Mixed into KVState. ``self.group`` and ``self.routes_early`` are configuration (set before the
    consumer's __init__); ``ring_view`` and ``mig`` are replicated state."""

    group: str
    routes_early: bool
    data: dict[str, dict[str, list[Any]]]
    revision: int
    ring_view: dict[str, Any] | None
    mig: dict[str, Any] | None

    # -- where a key is served (called first by every KV command) --

    def placement(self, tenant: str, key: str) -> dict[str, Any] | None:
        """None when this group serves the key now; else ``{"route": "redirect", "group": G}`` (ask G) or
        ``{"route": "moving", "group": G}`` (its batch is in flight: certainly not applied, retry soon)."""
        view = self.ring_view
        if view is None:
            return None
        label = f"{tenant}/{key}"
        new_owner = ring_of(view["groups"], view["vnodes"]).owner_label(label)
        m = self.mig
        if m is None or m["finished"] is not None:
            return None if new_owner == self.group else {"route": "redirect", "group": new_owner}
        old_owner = ring_of(m["old"], view["vnodes"]).owner_label(label)
        me, item = self.group, (tenant, key)
        if old_owner == me and new_owner != me:  # leaving: ours until handed off
            if m["source_done"] or item in m["gone"]:
                return {"route": "redirect", "group": new_owner}
            if item in m["fenced_items"]:
                return {"route": "moving", "group": new_owner}
            return None
        if new_owner == me and old_owner != me:  # arriving: the source's until it has been copied here
            if item in m["arrived"] or old_owner in m["done_sources"] or self.routes_early:
                return None  # routes_early: TEST ONLY, serve before the data arrived (the stale-read bug)
            return {"route": "redirect", "group": old_owner}
        if new_owner == me:
            return None
        return {"route": "redirect", "group": new_owner}

    # -- the migration's commands (each idempotent: a new leader may send them again) --

    @replicated
    def rebalance_begin(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Learn the ring of ``plan["epoch"]`` and start migrating to it. Answers ok for the same plan
        again; refuses another plan while one runs, and an epoch older than the one held."""
        view, m = self.ring_view, self.mig
        if m is not None and m["epoch"] == plan["epoch"]:
            same = m["new"] == plan["new"] and m["old"] == plan["old"]
            return {"ok": same, "epoch": m["epoch"], "conflict": not same}
        if view is not None and view["epoch"] >= plan["epoch"]:
            return {"ok": False, "epoch": view["epoch"], "stale": True}
        if m is not None and m["finished"] is None:
            return {"ok": False, "epoch": m["epoch"], "running": True}
        self.ring_view = {"epoch": plan["epoch"], "groups": list(plan["new"]), "vnodes": plan["vnodes"]}
        self.mig = {
            "epoch": plan["epoch"], "from_epoch": plan["from_epoch"], "old": list(plan["old"]),
            "new": list(plan["new"]), "action": plan["action"], "group": plan["group"],
            "started": plan["started"], "members": plan.get("members") or {},
            "sources": list(plan["old"]), "fenced": {}, "fenced_items": set(), "gone": set(),
            "arrived": set(), "installed": set(), "done_sources": {}, "source_done": False,
            "to_move": None, "moved": 0, "bytes": 0, "finished": None,
        }
        return {"ok": True, "epoch": plan["epoch"]}

    def _active(self, epoch: int) -> dict[str, Any] | None:
        m = self.mig
        return m if m is not None and m["epoch"] == epoch and m["finished"] is None else None

    @replicated
    def rebalance_planned(self, epoch: int, to_move: int) -> bool:
        """Record how many keys this source has to move (its count at the start)."""
        m = self._active(epoch)
        if m is None or m["to_move"] is not None:
            return False
        m["to_move"] = int(to_move)
        return True

    @replicated
    def rebalance_fence(self, epoch: int, batch: str, items: list[tuple[str, str]]) -> dict[str, Any]:
        """Fence a batch (writes to its keys now refused) and answer its keys' values as of this point of the
        log: ``[tenant, key, value|None, version|None]`` each. Fencing a fenced batch again re-reads it."""
        m = self._active(epoch)
        if m is None:
            return {"ok": False}
        if batch not in m["fenced"]:
            fresh = [tuple(i) for i in items if tuple(i) not in m["gone"] and tuple(i) not in m["fenced_items"]]
            m["fenced"][batch] = fresh
            m["fenced_items"].update(fresh)
        out = []
        for tenant, key in m["fenced"][batch]:
            entry = self.data.get(tenant, {}).get(key)
            out.append([tenant, key, entry[0] if entry else None, entry[1] if entry else None])
        return {"ok": True, "items": out}

    @replicated
    def rebalance_install(self, epoch: int, batch: str, items: list[list[Any]]) -> dict[str, Any]:
        """On a target: store a batch copied from its source (once per batch name) and serve its keys from
        now on. A key's version stays above the source's (the revision jumps past it)."""
        m = self._active(epoch)
        if m is None:
            return {"ok": False, "reason": "no migration of this epoch here"}
        if batch in m["installed"]:
            return {"ok": True, "again": True}
        for tenant, key, value, version in items:
            space = self.data.setdefault(tenant, {})
            if value is None:
                space.pop(key, None)
            else:
                self.revision = max(self.revision, int(version or 0)) + 1
                space[key] = [value, self.revision]
            m["arrived"].add((tenant, key))
        m["installed"].add(batch)
        return {"ok": True}

    @replicated
    def rebalance_handoff(self, epoch: int, batch: str, moved: int, nbytes: int) -> dict[str, Any]:
        """On the source, after every target installed the batch: delete its keys here; they now live at
        their new owner (requests for them are redirected there)."""
        m = self._active(epoch)
        if m is None or batch not in m["fenced"]:
            return {"ok": m is not None}
        for tenant, key in m["fenced"].pop(batch):
            self.data.get(tenant, {}).pop(key, None)
            m["fenced_items"].discard((tenant, key))
            m["gone"].add((tenant, key))
        m["moved"] += int(moved)
        m["bytes"] += int(nbytes)
        return {"ok": True}

    @replicated
    def rebalance_source_finish(self, epoch: int, ts: float) -> dict[str, Any]:
        """On the source: finished once no leaving key is left here (a key written after the last scan is
        found here and moved by another batch first)."""
        m = self._active(epoch)
        if m is None:
            return {"ok": False}
        if m["source_done"]:
            return {"ok": True, "report": m["report"]}
        left = len(m["fenced_items"]) + len(self.leaving(m))
        if left:
            return {"ok": False, "remaining": left}
        m["source_done"] = True
        m["report"] = {"to_move": m["to_move"] or 0, "moved": m["moved"], "bytes": m["bytes"], "ts": ts}
        return {"ok": True, "report": m["report"]}

    @replicated
    def rebalance_source_done(self, epoch: int, source: str, report: dict[str, Any]) -> dict[str, Any]:
        """Learn that ``source`` finished; once every source has, the migration is finished here."""
        m = self.mig
        if m is None or m["epoch"] != epoch:
            newer = self.ring_view is not None and self.ring_view["epoch"] > epoch
            return {"ok": newer, "reason": None if newer else "not begun"}
        m["done_sources"][source] = dict(report)
        if m["finished"] is None and set(m["sources"]) <= set(m["done_sources"]):
            m["finished"] = max(float(r["ts"]) for r in m["done_sources"].values())
            for name in ("fenced_items", "gone", "arrived", "installed"):
                m[name] = set()  # the new ring alone says who owns what from now on
        return {"ok": True, "finished": m["finished"]}

    # -- local reads for the migration's leader (this replica; exact once a fence committed) --

    def leaving(self, m: dict[str, Any]) -> list[tuple[str, str]]:
        """Keys held here whose owner changes away from this group, not yet fenced or handed off."""
        if self.group not in m["sources"]:
            return []
        vnodes = self.ring_view["vnodes"] if self.ring_view else 64
        old, new = ring_of(m["old"], vnodes), ring_of(m["new"], vnodes)
        me, out = self.group, []
        for tenant, space in list(self.data.items()):
            for key in list(space):
                label = f"{tenant}/{key}"
                if old.owner_label(label) == me and new.owner_label(label) != me:
                    item = (tenant, key)
                    if item not in m["fenced_items"] and item not in m["gone"]:
                        out.append(item)
        return out

    def size_of(self, tenant: str, key: str) -> int:
        entry = self.data.get(tenant, {}).get(key)
        return len(key.encode()) + (len(entry[0].encode()) if entry else 0)
