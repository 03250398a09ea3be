"""The scaling phase's record (facts/scaling.json) read back, and the harness's placement check of each
scaling operation, recomputed from the history alone.

Placement check of an operation (add or remove a group): the ring after it is computed here from the
ring before (``target``'s published parameters) with the group added or removed (tier7.ring, never the
target's answer); every strong-KV key written before the check began is owned by one group of that ring.
The phase read a sample of the keys ([scaling] placement_keys: the keys that moved first) with
``consistency=local`` on every member of that group (history processes ``<process_prefix><node>~<lane>``);
a key it did not read is ``not_sampled``, one read on some members only is ``unread``. A local read the
asked node passed on to another node (the answer's ``node`` is not the node asked) is ``wrong``: that node
does not hold the key as its own. A key is judged when no write to it was invoked from ``settle_s``
before the check on (a key still being written cannot be told from replication lag). Per judged key
and owner member, the last completed read must hold a value the key may hold: the last acknowledged
write's value, or the value of a write that may have overwritten it (acknowledged or of unknown outcome,
not over before the acknowledged one began); absent (404) only when that is a delete or nothing was
acknowledged. Anything else is ``wrong`` (a key missing from, or stale on, its new owner).
Times: monotonic ns (the history's clock); durations in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tier7.ring import HarnessRing

from .checkers.evidence import plain
from .checkers.lost_writes import short
from .checkers.register import CAS, register_columns, response_times
from .frames import column

PHASE = "scaling"
WRITES = ("put", "cas", "delete")


def operation(facts: dict[str, Any] | None, action: str) -> dict[str, Any] | None:
    """The phase's record of its ``add`` or ``remove`` operation, None when it did not get that far."""
    for op in (facts or {}).get("operations") or []:
        if isinstance(op, dict) and op.get("action") == action:
            return op
    return None


def expected_groups(ring_before: dict[str, Any] | None, action: str, group: str | None) -> list[str]:
    """The groups of the ring after adding / removing ``group``, from the ring before (harness-side)."""
    before = list((ring_before or {}).get("groups") or [])
    if not group:
        return before
    if action == "add":
        return before if group in before else [*before, group]
    return [g for g in before if g != group]


def ring_after(op: dict[str, Any]) -> HarnessRing | None:
    """The harness's ring after the operation (parameters of the ring before, groups changed)."""
    before = op.get("ring_before")
    if not isinstance(before, dict):
        return None
    params = {**before, "groups": expected_groups(before, str(op.get("action")), op.get("group")),
              "epoch": int(before.get("epoch") or 0) + 1}
    return HarnessRing.from_contract(params)


def ring_before(op: dict[str, Any]) -> HarnessRing | None:
    before = op.get("ring_before")
    return HarnessRing.from_contract(before) if isinstance(before, dict) else None


def kv_writes(ops: pd.DataFrame) -> pd.DataFrame:
    """Strong-KV writes that may have taken effect (ok or info), own-tenant, with ``written`` (the value they
    leave; None for a delete) and ``end`` (completion time; +infinity for an unknown outcome)."""
    frame = ops[ops["f"].isin(WRITES) & ops["key"].notna() & ~ops["cross_tenant"].astype(bool)
                & ops["type"].isin(["ok", "info"])]
    if frame.empty:
        return frame.assign(written=pd.Series(dtype=object), end=pd.Series(dtype=float))
    frame = frame.assign(tenant=frame["tenant"].fillna(""))
    frame = frame.join(register_columns(frame))
    return frame.assign(written=frame["arg"].where(frame["kind"] != CAS, frame["new"]),
                        end=response_times(frame))


def acceptable(writes: pd.DataFrame) -> dict[tuple[str, str], tuple[list[object], bool]]:
    """Per (tenant, key): (values the key may hold after ``writes``, whether a write was acknowledged).
    The last acknowledged write (by completion) and every write not over before it began; with no
    acknowledged write, absence (None) and every write."""
    acked = writes[writes["type"] == "ok"].sort_values("complete_time", kind="stable")
    last = acked.groupby(["tenant", "key"], sort=False, observed=True).tail(1)
    last_invoke = dict(zip(zip(last["tenant"], last["key"], strict=True), last["invoke_time"], strict=True))
    out: dict[tuple[str, str], tuple[list[object], bool]] = {
        k: ([v], True) for k, v in zip(zip(last["tenant"], last["key"], strict=True), last["written"], strict=True)}
    for tenant, key, end, written in zip(writes["tenant"], writes["key"], writes["end"], writes["written"],
                                         strict=True):
        began = last_invoke.get((tenant, key))
        if began is None:
            out.setdefault((tenant, key), ([None], False))[0].append(written)
        elif end > began:
            out[(tenant, key)][0].append(written)
    return out


@dataclass
class PlacementCheck:
    keys_written: int = 0
    judged: int = 0
    busy: int = 0
    not_sampled: int = 0
    unread: list[dict[str, Any]] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)
    owners_without_nodes: list[str] = field(default_factory=list)
    keys_per_group: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {"keys_written": self.keys_written, "judged": self.judged, "busy": self.busy,
                "not_sampled": self.not_sampled,
                "unread": len(self.unread), "wrong": len(self.wrong), "keys_per_group": self.keys_per_group}


def placement_reads(ops: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The check's local reads, with the node each was sent to (from the process name)."""
    process = column(ops, "process").astype(object).fillna("")
    reads = ops[(ops["f"] == "get") & process.str.startswith(prefix)]
    asked = reads["process"].astype(str).str.slice(len(prefix)).str.split("~").str[0]
    served = reads["node"].astype(object).where(reads["node"].notna(), None)  # the answer's own "node" field
    return reads.assign(node=asked.to_numpy(), served_by=served.to_numpy(), tenant=reads["tenant"].fillna(""))


def check_placement(ops: pd.DataFrame, op: dict[str, Any], settle_s: float) -> PlacementCheck:
    """The placement check of one operation (see the module doc)."""
    out = PlacementCheck()
    place = op.get("placement") or {}
    ring = ring_after(op)
    if ring is None or not place.get("process_prefix") or not isinstance(place.get("started_time"), int | float):
        return out
    start = float(place["started_time"])
    members: dict[str, list[str]] = {}
    for node in op.get("nodes_after") or []:
        members.setdefault(node["group"], []).append(node["name"])
    every = kv_writes(ops)
    writes = every[every["invoke_time"] < start]
    recent = every[every["invoke_time"] >= start - settle_s * 1e9]  # during the check or just before it
    busy_keys = set(zip(recent["tenant"], recent["key"], strict=True))
    reads = placement_reads(ops, str(place["process_prefix"]))
    reads = reads[reads["status"].isin([200, 404])].sort_values("invoke_time", kind="stable")
    last_read = {(t, k, n): (s, v, b) for t, k, n, s, v, b in zip(
        reads["tenant"], reads["key"], reads["node"], reads["status"], reads["value_out"], reads["served_by"],
        strict=True)}
    per_group: dict[str, int] = {}
    allowed = acceptable(writes)
    for (tenant, key), (values, acked) in sorted(allowed.items()):
        out.keys_written += 1
        owner = ring.group_for(str(tenant), str(key))
        per_group[owner] = per_group.get(owner, 0) + 1
        if (tenant, key) in busy_keys:
            out.busy += 1
            continue
        nodes = members.get(owner, [])
        if not nodes:
            if owner not in out.owners_without_nodes:
                out.owners_without_nodes.append(owner)
            out.wrong.append({"tenant": tenant, "key": short(key), "owner": owner, "problem": "no node of the owner"})
            continue
        missing = [n for n in nodes if (tenant, key, n) not in last_read]
        if len(missing) == len(nodes):  # not in the phase's sample
            out.not_sampled += 1
            continue
        if missing:
            out.unread.append({"tenant": tenant, "key": short(key), "owner": owner, "nodes": missing})
            continue
        out.judged += 1
        for node in nodes:
            status, value, served_by = last_read[(tenant, key, node)]
            got = None if status == 404 else value
            if isinstance(served_by, str) and served_by != node:  # the node passed it on: not its own replica
                out.wrong.append({"tenant": tenant, "key": short(key), "owner": owner, "node": node,
                                  "served_by": served_by, "problem": "the owner's member forwarded the local read "
                                  "(it does not hold the key as its own)"})
                continue
            if not any(got == v or (got is None and v is None) for v in values):
                out.wrong.append({"tenant": tenant, "key": short(key), "owner": owner, "node": node,
                                  "read_status": plain(status), "read_value": short(got),
                                  "may_hold": [short(v) for v in values[:5]], "acknowledged_before": acked,
                                  "problem": "absent on its owner" if got is None else "stale or foreign value"})
    out.keys_per_group = dict(sorted(per_group.items()))
    return out


def keys_per_group(keys: Iterable[tuple[str, str]], ring: HarnessRing | None) -> dict[str, int]:
    """How many of ``keys`` each group of ``ring`` owns."""
    counts: dict[str, int] = {g: 0 for g in (ring.groups if ring else [])}
    for tenant, key in keys:
        if ring is not None:
            owner = ring.group_for(tenant, key)
            counts[owner] = counts.get(owner, 0) + 1
    return counts


def owners_across_scaling(ops: pd.DataFrame, facts: dict[str, Any] | None) -> pd.Series:
    """The ``owner`` column (ring owner per operation, from the ring of the run's start) corrected for the
    scaling operations recorded in ``facts`` (facts/scaling.json), in order: an operation invoked after an
    operation's rebalance finished is owned by the ring after it; one in flight during the move (the driver
    call to ``finished``) by whichever of the two rings' owners served it (keys move one batch at a time)."""
    owner = ops["owner"].astype(object) if "owner" in ops.columns else pd.Series(None, index=ops.index, dtype=object)
    for action in ("add", "remove"):
        op = operation(facts, action)
        after = ring_after(op) if op else None
        start = (op or {}).get("call_time")
        end = ((op or {}).get("rebalance") or {}).get("finished_time") or (op or {}).get("end_time")
        if after is None or not isinstance(start, int | float) or not isinstance(end, int | float) or ops.empty:
            continue
        pairs = ops[["tenant", "key"]].dropna().drop_duplicates()
        table = {(t, k): after.group_for(str(t), str(k)) for t, k in zip(pairs["tenant"], pairs["key"], strict=True)}
        new = pd.Series([table.get((t, k)) for t, k in zip(ops["tenant"], ops["key"], strict=True)],
                        index=ops.index, dtype=object)
        complete = ops["complete_time"].fillna(np.inf)
        later = ops["invoke_time"] > end
        during = ~later & (complete >= start)
        served_new = during & (ops["group"].astype(object) == new)
        owner = owner.where(~(later | served_new), new)
    return owner
