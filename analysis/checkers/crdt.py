"""CRDT convergence and merge correctness, offline from the history (``analysis.ops.crdt_operations``) and
the final reads of every replica.

The final reads are the ``crdt_read`` operations flagged ``final`` (taken by the verify phase after the
writers stopped, every key on every node, in rounds until the replicas agree or a deadline); a history
without such flags uses the reads invoked after the last write completed. A node's *final state* of a key
is its last acknowledged final read. Checks, per key ``(tenant, crdt type, key)``:

1. convergence: every replica (every node of ``target/nodes.json``) has a final state and all are equal
   (a register's value and timestamp);
2. correctness: each final state matches the merge the harness computes from the acknowledged operations
   (``analysis.checkers.crdt_merge``: counter bounds, OR-set must/may elements, register winner), which
   also finds conflicting timestamps, timestamps against real-time order and impossible removed tags;
3. no lost acknowledged operation: the part of (2) where an acknowledged effect is missing (a counter below
   its lower bound, an acknowledged uncovered add absent, a register older than an acknowledged write).

Convergence time: per (key, node), the completion of the first final read from which on the node returned
only its final state, minus the moment the writers stopped (``stopped_time``; else the last write's end);
reported per destination region and, when reads carry version vectors keyed by node name, per (source
region, destination region): when the destination's entry for each source node reached its final value.

PASS: every key converged and merged correctly, with final reads of every key on every replica. FAIL: any
violation (evidence lists it). UNKNOWN: some key lacks a final state on some replica. NOT APPLICABLE: no
CRDT operation in the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..frames import column, flag, is_missing
from ..verdict import Status, Verdict
from .crdt_merge import EVIDENCE_LIMIT, Expected, expected, key_ids, ts_plain, ts_tuple

NAME = "crdt"
WRITE_FUNCTIONS = ("crdt_inc", "crdt_add", "crdt_remove", "crdt_set")


@dataclass
class CrdtCheck:
    """The verdict, one summary per key (final state per node, expected merge) and the convergence table."""

    verdict: Verdict
    keys: list[dict[str, Any]] = field(default_factory=list)
    convergence: list[dict[str, Any]] = field(default_factory=list)
    expected: Expected | None = None


def canonical(crdt: str, value: Any, timestamp: Any) -> Any:
    """A final state as a comparable value (None when it does not have the contract's shape)."""
    if crdt == "counter":  # a column with gaps holds integers as floats
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return None
        return int(value) if float(value).is_integer() else None
    if crdt == "set":
        return tuple(sorted(str(v) for v in value)) if isinstance(value, list) else None
    if crdt == "register":
        if value is not None and not isinstance(value, str):
            return None
        return (value, ts_tuple(timestamp) if timestamp is not None else None)
    return None


def final_reads(ops: pd.DataFrame, stopped_time: float | None) -> pd.DataFrame:
    """The acknowledged final reads, with ``canon`` (their state), sorted by completion."""
    reads = ops[((ops["f"] == "crdt_read") & (ops["type"] == "ok")).to_numpy()]
    marked = flag(reads, "final").to_numpy()
    if marked.any():
        reads = reads[marked]
    else:
        reads = reads[(reads["invoke_time"] > (stopped_time if stopped_time is not None else np.inf)).to_numpy()]
    reads = reads.assign(node=reads["node"].astype(object))
    reads = reads[reads["node"].notna().to_numpy()]
    canon = [canonical(c, v, t) for c, v, t in zip(reads["crdt"].astype(object).tolist(), reads["value_out"].tolist(),
                                                     column(reads, "timestamp").tolist(), strict=True)]
    return reads.assign(canon=canon).sort_values("complete_time", kind="stable")


def stop_time(ops: pd.DataFrame, stopped_time: float | None) -> float | None:
    """When the writers stopped (monotonic ns): the recorded moment, else the last write's end."""
    if stopped_time is not None:
        return float(stopped_time)
    is_write = ops["f"].isin(WRITE_FUNCTIONS).to_numpy()
    if not is_write.any():
        return None
    done = ops["complete_time"].to_numpy(dtype=float)[is_write]
    return float(np.nanmax(np.where(np.isnan(done), ops["invoke_time"].to_numpy(dtype=float)[is_write], done)))


def _problem_of(crdt: str, state: Any, key: int, want: Expected) -> tuple[str, str] | None:
    """(kind, why) when a final state is not the harness's merge; kind ``lost`` when an acknowledged
    effect is missing, ``wrong_merge`` otherwise."""
    if state is None:
        return "wrong_merge", "the read's value does not have the contract's shape"
    if crdt == "counter":
        low, high, acked = want.counters.get(key, (0, 0, 0))
        if state < low:
            return "lost", f"value {state} below {low} (acknowledged increments sum to {acked})"
        if state > high:
            return "wrong_merge", f"value {state} above {high} (acknowledged increments sum to {acked})"
        return None
    if crdt == "set":
        missing = sorted(want.must.get(key, set()) - set(state))
        extra = sorted(set(state) - want.may.get(key, set()))
        if missing:
            return "lost", f"acknowledged add(s) of {missing[:5]} not removed by any acknowledged remove are missing"
        if extra:
            return "wrong_merge", f"element(s) {extra[:5]} present although every add of them was removed or none was made"
        return None
    value, ts = state
    reg = want.registers.get(key)
    if reg is None:
        return None if value is None else ("wrong_merge", f"value {value!r} although no write was made")
    if reg["ts"] is not None and ts == reg["ts"] and value == reg["value"]:
        return None
    if value in reg["unknown_values"] and (reg["ts"] is None or (ts is not None and ts > reg["ts"])):
        return None  # a write of unknown outcome took effect and beat every acknowledged one
    if reg["ts"] is None:
        return None if value is None else ("wrong_merge", f"value {value!r} was never written")
    if ts is None or ts < reg["ts"]:
        return "lost", (f"value {value!r} at {ts_plain(ts)}: the acknowledged write {reg['winner']} at "
                        f"{ts_plain(reg['ts'])} ({reg['value']!r}) is lost")
    return "wrong_merge", (f"value {value!r} at {ts_plain(ts)} instead of the acknowledged winner {reg['winner']} "
                           f"at {ts_plain(reg['ts'])} ({reg['value']!r})")


def _plain_state(crdt: str, state: Any) -> Any:
    if crdt == "register" and isinstance(state, tuple):
        return {"value": state[0], "timestamp": ts_plain(state[1])}
    return list(state) if isinstance(state, tuple) else state


def _expected_plain(crdt: str, key: int, want: Expected) -> dict[str, Any]:
    if crdt == "counter":
        low, high, acked = want.counters.get(key, (0, 0, 0))
        return {"acknowledged_sum": acked, "low": low, "high": high}
    if crdt == "set":
        return {"must": sorted(want.must.get(key, set())), "may": sorted(want.may.get(key, set()))}
    reg = want.registers.get(key) or {}
    return {"winner": reg.get("winner"), "value": reg.get("value"), "timestamp": ts_plain(reg.get("ts")),
            "region": reg.get("region"), "unknown_outcome_values": sorted(map(str, reg.get("unknown_values", ())))}


def stable_since(finals: pd.DataFrame) -> pd.DataFrame:
    """Per (key id, node): the final state and the completion (ns) of the first read from which on the node
    returned only that state."""
    if finals.empty:
        return pd.DataFrame(columns=["kid", "node", "canon", "since", "not_before"])
    ordered = finals.sort_values(["kid", "node", "complete_time"], kind="stable").reset_index(drop=True)
    group = ordered.groupby(["kid", "node"], sort=False).ngroup().to_numpy()
    last_of = pd.Series(np.arange(len(ordered))).groupby(group).transform("max").to_numpy()
    canon = ordered["canon"].tolist()
    differs = np.array([canon[i] != canon[last_of[i]] for i in range(len(canon))], dtype=bool)
    later_differs = pd.Series(differs[::-1]).groupby(group[::-1]).cummax().to_numpy()[::-1]
    stable = ordered[~later_differs]
    first = stable.groupby(["kid", "node"], sort=False).agg(since=("complete_time", "min"), canon=("canon", "last"))
    # lower bound: the node still answered another state when its last differing read was invoked
    before = ordered[later_differs].groupby(["kid", "node"], sort=False)["invoke_time"].max().rename("not_before")
    return first.join(before).reset_index()


def region_pairs(finals: pd.DataFrame, region_of: dict[str, str], stop: float) -> list[dict[str, Any]]:
    """Per (source region, destination region): seconds after ``stop`` until every destination replica's
    version-vector entry of every source node reached its final (largest) value; [] without vectors."""
    if "version_vector" not in finals.columns or finals.empty:
        return []
    worst: dict[tuple[str, str], float] = {}
    for _, reads in finals.groupby("kid", sort=False):
        vectors = [v if isinstance(v, dict) else {} for v in reads["version_vector"].tolist()]
        target: dict[str, Any] = {}
        for vector in vectors:
            for src, count in vector.items():
                if isinstance(count, int | float) and count > target.get(src, -1):
                    target[src] = count
        if not target or not all(src in region_of for src in target):
            return []
        reached: dict[tuple[str, str], float] = {}
        for node, vector, done in zip(reads["node"].tolist(), vectors, reads["complete_time"].tolist(), strict=True):
            for src, count in target.items():
                cell = (src, node)
                if cell not in reached and isinstance(vector.get(src), int | float) and vector[src] >= count:
                    reached[cell] = done
        for (src, node), done in reached.items():
            if node in region_of:
                pair = (region_of[src], region_of[node])
                worst[pair] = max(worst.get(pair, 0.0), max(0.0, (done - stop) / 1e9))
    return [{"source_region": a, "dest_region": b, "converged_within_s": round(s, 3)}
            for (a, b), s in sorted(worst.items())]


def check_crdt(ops: pd.DataFrame, nodes: list[dict[str, Any]], stopped_time: float | None = None,
               window_s: float = 5.0) -> CrdtCheck:
    """Judge the CRDT operations ``ops`` (``analysis.ops.crdt_operations``; filter keys beforehand to judge a
    subset) against the replicas ``nodes`` (``target/nodes.json``: name, region). ``stopped_time``: when the
    writers stopped (monotonic ns); ``window_s``: the window of the ``concurrent_writers`` figure."""
    is_write = ops["f"].isin(WRITE_FUNCTIONS).to_numpy() if not ops.empty else np.zeros(0, dtype=bool)
    if not is_write.any():
        return CrdtCheck(Verdict(NAME, Status.NOT_APPLICABLE, "no CRDT write in the history"))
    kid, names = key_ids(ops)
    ops = ops.copy(deep=False)  # a new column without copying a million rows of the others
    ops["kid"] = kid.to_numpy()
    want = expected(ops, names)
    stop = stop_time(ops, stopped_time)
    finals = final_reads(ops, stop)
    region_of = {str(n["name"]): str(n.get("region")) for n in nodes if n.get("name")}
    replicas = sorted(region_of) or sorted(finals["node"].unique().tolist())
    states = stable_since(finals)
    by_key: dict[int, dict[str, Any]] = {}
    for row in states.itertuples(index=False):
        by_key.setdefault(int(row.kid), {})[row.node] = (row.canon, (row.since, row.not_before))
    all_keys = sorted(set(by_key) | {int(k) for k in np.unique(ops["kid"].to_numpy()[is_write])},
                      key=lambda k: names[k])
    problems: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in want.problems.items()}
    counts = dict(want.counts)
    unread: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    since_rows: list[tuple[str, float]] = []

    def add(kind: str, item: dict[str, Any]) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        if len(problems.setdefault(kind, [])) < EVIDENCE_LIMIT:
            problems[kind].append(item)

    for key in all_keys:
        tenant, crdt, name = names[key]
        seen = by_key.get(key, {})
        missing = [n for n in replicas if n not in seen]
        if missing:
            unread.append({"key": name, "crdt": crdt, "nodes_without_final_read": missing[:9]})
        distinct = {repr(state) for state, _ in seen.values()}
        finals_plain = {node: _plain_state(crdt, state) for node, (state, _) in sorted(seen.items())}
        if len(distinct) > 1:
            add("divergent", {"key": name, "crdt": crdt, "replicas": finals_plain})
        wrong = {}
        for node, (state, since) in seen.items():
            issue = _problem_of(crdt, state, key, want)
            if issue is not None:
                wrong[node] = issue
            elif len(distinct) == 1 and stop is not None:
                since_rows.append((node, since))
        for kind in sorted({kind for kind, _ in wrong.values()}):
            nodes_hit = sorted(n for n, (k, _) in wrong.items() if k == kind)
            add(kind, {"key": name, "crdt": crdt, "tenant": tenant, "nodes": nodes_hit,
                       "why": wrong[nodes_hit[0]][1], "expected": _expected_plain(crdt, key, want)})
        summaries.append({"tenant": tenant, "crdt": crdt, "key": name, "replicas_read": len(seen),
                          "converged": len(distinct) == 1 and not missing, "correct": not wrong and bool(seen),
                          "expected": _expected_plain(crdt, key, want),
                          "final": next(iter(finals_plain.values())) if len(distinct) == 1 else finals_plain})
    convergence = _convergence_rows(since_rows, region_of, stop)
    pairs = region_pairs(finals, region_of, stop) if stop is not None else []
    figures = _figures(ops, all_keys, replicas, finals, counts, convergence, pairs, unread, window_s)
    evidence = [{"problem": kind, **item} for kind, items in problems.items() for item in items]
    if counts:
        reason = "; ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()))
        verdict = Verdict(NAME, Status.FAIL, reason, evidence, figures)
    elif unread:
        verdict = Verdict(NAME, Status.UNKNOWN, f"{len(unread)} of {len(all_keys)} key(s) lack a final read on "
                          f"some replica (first: {unread[0]})", unread[:EVIDENCE_LIMIT], figures)
    else:
        verdict = Verdict(NAME, Status.PASS, "", [], figures)
    return CrdtCheck(verdict, summaries, convergence + pairs, want)


def _convergence_rows(since_rows: list[tuple[str, Any]], region_of: dict[str, str],
                      stop: float | None) -> list[dict[str, Any]]:
    """Seconds from the writers' stop until every replica of a destination region held its final state: at
    most ``converged_within_s`` (first read showing it), at least ``not_before_s`` (last read not showing it
    was invoked then; 0 when the first final read already showed it)."""
    worst: dict[str, list[float]] = {}
    for node, (since, not_before) in since_rows:
        if stop is None or is_missing(since):
            continue
        cell = worst.setdefault(region_of.get(node, "?"), [0.0, 0.0])
        cell[0] = max(cell[0], (float(since) - stop) / 1e9)
        if not is_missing(not_before):
            cell[1] = max(cell[1], (float(not_before) - stop) / 1e9)
    return [{"dest_region": r, "converged_within_s": round(max(0.0, up), 3), "not_before_s": round(max(0.0, low), 3)}
            for r, (up, low) in sorted(worst.items())]


def concurrent_writers(writes: pd.DataFrame, window_s: float = 5.0) -> int:
    """The most distinct writers (a process and its ``.N`` successors are one writer) that invoked a write
    within one same ``window_s``-second window of the run (a loaded machine leaves a user idle for a moment:
    a 1 s window would undercount writers that are all running)."""
    if writes.empty:
        return 0
    codes, names = pd.factorize(writes["process"].astype(object))
    base = pd.factorize(pd.Index([str(n).split(".")[0] for n in names]))[0]
    frame = pd.DataFrame({"second": writes["invoke_time"].to_numpy() // int(max(window_s, 0.001) * 1e9),
                          "writer": base[codes] if len(base) else codes})
    return int(frame.drop_duplicates().groupby("second").size().max())


def _figures(ops: pd.DataFrame, keys: list[Any], replicas: list[str], finals: pd.DataFrame, counts: dict[str, int],
             convergence: list[dict[str, Any]], pairs: list[dict[str, Any]], unread: list[Any],
             window_s: float) -> dict[str, Any]:
    used = [c for c in ("f", "type", "invoke_time", "complete_time", "region", "process") if c in ops.columns]
    writes = ops.loc[ops["f"].isin(WRITE_FUNCTIONS).to_numpy(), used]  # not a copy of every column
    acked = writes[(writes["type"] == "ok").to_numpy()]
    span_s = ((acked["complete_time"].max() - acked["invoke_time"].min()) / 1e9) if len(acked) > 1 else 0.0
    per_region = acked["region"].astype(object).fillna("?").value_counts().to_dict()
    return {"keys": len(keys), "replicas": len(replicas), "writes": int(len(writes)), "acknowledged_writes": int(len(acked)),
            "unknown_outcome_writes": int((writes["type"] == "info").sum()),
            "acknowledged_by_type": {str(k): int(v) for k, v in acked["f"].astype(object).value_counts().items()},
            "acknowledged_per_region": {str(k): int(v) for k, v in per_region.items()},
            "ops_per_s_per_region": ({str(k): round(float(v / span_s), 1) for k, v in per_region.items()}
                                     if span_s else {}),
            "writers": len({str(p).split(".")[0] for p in writes["process"].astype(object).unique()}),
            "concurrent_writers": concurrent_writers(writes, window_s), "concurrency_window_s": window_s,
            "final_reads": int(len(finals)), "keys_unread": len(unread),
            "violations": int(sum(counts.values())), "violations_by_kind": dict(counts),
            "convergence_s": max((r["converged_within_s"] for r in convergence), default=None),
            "convergence_not_before_s": max((r["not_before_s"] for r in convergence), default=None),
            "convergence_per_region": convergence, "convergence_per_region_pair": pairs}
