"""The CRDT states one replica holds and their joins: PN-counter, OR-set (add-wins), LWW register.

A local write changes the state and yields a *delta* (a small state, joined idempotently by every other
replica, in any order, any number of times):

- counter: ``{"p": P[origin], "q": N[origin]}`` — the origin's own totals; join = per-node maxima;
- set: ``{"a": element, "g": tag}`` (add) or ``{"r": element, "g": [tags]}`` (remove); join = union of
  add tags and of removed tags; an element is present iff one of its add tags is not removed;
- register: ``{"v": value, "ts": [physical_ms, logical, node], "id": op_id}``; join = greatest timestamp.

Every state also carries a version vector ``vv``: origin node -> how many of that origin's writes to the key
are in it (the per-key write number travels with each delta as ``n``).

TEST ONLY (``crdt_merge_drops_concurrent``): a remote counter delta is merged by keeping whichever side has
the larger total (instead of per-node maxima), and a remote set remove deletes every tag of the element the
receiving replica holds (instead of the tags the remover observed): concurrent updates are lost.
"""

from __future__ import annotations

from typing import Any

TYPES = ("counter", "set", "register")
MAX_DELTA = 2**53  # |delta| bound: keeps totals exact in every JSON reader


def new_state(kind: str) -> dict[str, Any]:
    if kind == "counter":
        return {"P": {}, "N": {}, "vv": {}}
    if kind == "set":
        return {"adds": {}, "rm": {}, "vv": {}}
    return {"v": None, "ts": None, "id": None, "vv": {}}


def counter_value(state: dict[str, Any]) -> int:
    return sum(state["P"].values()) - sum(state["N"].values())


def set_value(state: dict[str, Any]) -> list[str]:
    return sorted(e for e, tags in state["adds"].items() if tags - state["rm"].get(e, set()))


def live_tags(state: dict[str, Any], element: str) -> list[str]:
    """The add tags of ``element`` this replica holds that no remove has deleted, sorted."""
    return sorted(state["adds"].get(element, set()) - state["rm"].get(element, set()))


def _bump(vv: dict[str, int], origin: str, n: int) -> None:
    if n > vv.get(origin, 0):
        vv[origin] = n


def _ts(raw: Any) -> tuple[int, int, str]:
    return (int(raw[0]), int(raw[1]), str(raw[2]))


def join_delta(kind: str, state: dict[str, Any], origin: str, delta: dict[str, Any], drops: bool = False) -> None:
    """Join ``delta`` (written at ``origin``) into ``state``. ``drops``: the TEST-ONLY lossy merge."""
    if kind == "counter":
        if drops:  # the bug: "the bigger counter wins", not per-node maxima
            incoming = int(delta["p"]) - int(delta["q"])
            if incoming > counter_value(state):
                state["P"], state["N"] = {origin: int(delta["p"])}, {origin: int(delta["q"])}
            return
        for side, name in (("P", "p"), ("N", "q")):
            if int(delta[name]) > state[side].get(origin, 0):
                state[side][origin] = int(delta[name])
    elif kind == "set":
        if "a" in delta:
            state["adds"].setdefault(delta["a"], set()).add(delta["g"])
        else:
            element = delta["r"]
            tags = set(delta["g"]) | (state["adds"].get(element, set()) if drops else set())
            state["rm"].setdefault(element, set()).update(tags)
    else:
        ts = _ts(delta["ts"])
        if state["ts"] is None or ts > state["ts"]:
            state["v"], state["ts"], state["id"] = delta["v"], ts, delta["id"]


def join_state(kind: str, state: dict[str, Any], other: dict[str, Any]) -> None:
    """Join a whole replica state (the wire form of ``wire_state``) into ``state`` (full sync)."""
    if kind == "counter":
        for side in ("P", "N"):
            for node, total in other[side].items():
                if int(total) > state[side].get(node, 0):
                    state[side][node] = int(total)
    elif kind == "set":
        for side in ("adds", "rm"):
            for element, tags in other[side].items():
                state[side].setdefault(element, set()).update(tags)
    elif other.get("ts") is not None:
        join_delta(kind, state, "", {"v": other["v"], "ts": other["ts"], "id": other["id"]})
    for origin, n in other["vv"].items():
        _bump(state["vv"], origin, int(n))


def wire_state(kind: str, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` as JSON (sets as sorted lists)."""
    if kind == "set":
        return {side: {e: sorted(tags) for e, tags in state[side].items()} for side in ("adds", "rm")} | \
            {"vv": dict(state["vv"])}
    if kind == "register":
        return {"v": state["v"], "ts": list(state["ts"]) if state["ts"] else None, "id": state["id"],
                "vv": dict(state["vv"])}
    return {"P": dict(state["P"]), "N": dict(state["N"]), "vv": dict(state["vv"])}


class Replica:
    """Every CRDT key of every tenant on one node: ``(tenant, type, key) -> state``."""

    def __init__(self, node: str, drops_concurrent: bool = False) -> None:
        self.node = node
        self.drops = drops_concurrent
        self.states: dict[tuple[str, str, str], dict[str, Any]] = {}

    def state(self, tenant: str, kind: str, key: str) -> dict[str, Any]:
        ident = (tenant, kind, key)
        if ident not in self.states:
            self.states[ident] = new_state(kind)
        return self.states[ident]

    def peek(self, tenant: str, kind: str, key: str) -> dict[str, Any]:
        """The state for reading (a fresh empty one, not stored, when the key was never written)."""
        return self.states.get((tenant, kind, key)) or new_state(kind)

    def local(self, tenant: str, kind: str, key: str, delta: dict[str, Any]) -> dict[str, Any]:
        """Apply a write made at this node; returns the delta to replicate (with its per-key number ``n``)."""
        state = self.state(tenant, kind, key)
        n = state["vv"].get(self.node, 0) + 1
        if kind == "counter":
            step = int(delta["delta"])
            side = "P" if step >= 0 else "N"
            state[side][self.node] = state[side].get(self.node, 0) + abs(step)
            out = {"p": state["P"].get(self.node, 0), "q": state["N"].get(self.node, 0)}
        elif kind == "set":
            out = {"a": delta["element"], "g": delta["tag"]} if delta["op"] == "add" else \
                {"r": delta["element"], "g": delta["tags"]}
            join_delta(kind, state, self.node, out)
        else:
            out = {"v": delta["value"], "ts": list(delta["ts"]), "id": delta["op_id"]}
            join_delta(kind, state, self.node, out)
        state["vv"][self.node] = n
        return {**out, "n": n}

    def remote(self, tenant: str, kind: str, key: str, origin: str, delta: dict[str, Any]) -> None:
        """Join a delta that another replica (``origin``) wrote."""
        state = self.state(tenant, kind, key)
        join_delta(kind, state, origin, delta, self.drops)
        _bump(state["vv"], origin, int(delta["n"]))

    def merge_state(self, tenant: str, kind: str, key: str, other: dict[str, Any]) -> None:
        """Join another replica's whole state of one key (full sync)."""
        join_state(kind, self.state(tenant, kind, key), other)

    def keys(self, tenant: str) -> list[dict[str, str]]:
        return [{"type": k, "key": key} for (t, k, key) in sorted(self.states) if t == tenant]
