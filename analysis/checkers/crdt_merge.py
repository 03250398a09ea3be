"""What every CRDT key must converge to, computed by the harness from the operations it recorded (never asked
of the target), as bounds: an ``ok`` operation certainly took effect, a ``fail`` certainly did not, an
``info`` may or may not have (it may even take effect later).

- PN-counter: the value lies in ``[acked sum + negative info deltas, acked sum + positive info deltas]``.
- OR-set (add wins): an add's tag is its ``op_id``; a remove removes the tags its serving node had observed
  (``removed_tags`` on its ``ok``). Element ``e`` *must* be present when an acknowledged add of ``e`` has a
  tag no acknowledged remove names and no remove of unknown outcome touched ``e``; it *may* be present when
  some acknowledged or unknown add of ``e`` has a tag no acknowledged remove names. A removed tag must be an
  add of the same key and element that was not ``fail`` and was invoked before the remove completed.
- LWW register: timestamps ``[physical_ms, logical, node_id]`` order lexicographically. Among acknowledged
  writes of a key no two carry the same timestamp (a conflict), and a write invoked after another was
  acknowledged carries a greater one (real-time order, checked for every pair with ``merge_asof``). The
  winner is the acknowledged write with the greatest timestamp, unless a write of unknown outcome beat it.

Everything here is vectorised over the operations (a million in a few seconds); the per-key results are
small dicts. Key identity: ``(tenant, crdt, key)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

K = ["tenant", "crdt", "key"]
EVIDENCE_LIMIT = 20
KeyId = int  # ``kid``: one integer per (tenant, crdt, key), see ``key_ids``


def key_ids(ops: pd.DataFrame) -> tuple[pd.Series, dict[int, tuple[str, str, str]]]:
    """One integer per (tenant, crdt, key) of every operation, and the key each integer stands for
    (group-bys and joins on one int column instead of three string columns)."""
    frame = pd.DataFrame({c: ops[c].astype(object).fillna("") for c in K})
    # = frame.groupby(K, sort=False).ngroup() (ids in order of first appearance), from per-column codes
    combined = np.zeros(len(frame), dtype=np.int64)
    for c in K:
        codes, uniques = pd.factorize(frame[c].to_numpy())
        combined = combined * max(1, len(uniques)) + codes
    kid = pd.Series(pd.factorize(combined)[0].astype("int64"), index=frame.index)
    first = frame.assign(kid=kid.to_numpy()).drop_duplicates("kid")
    names = {int(i): (str(t), str(c), str(k)) for i, t, c, k in
             zip(first["kid"], first["tenant"], first["crdt"], first["key"], strict=True)}
    return kid, names


def ts_tuple(value: Any) -> tuple[Any, ...] | None:
    """A register timestamp as a comparable tuple (None when it is not ``[int, int, node_id]``)."""
    if type(value) not in (list, tuple) or len(value) != 3:
        return None
    physical, logical, node = value
    if type(physical) is not int or type(logical) is not int:
        return None
    kind = type(node)
    if kind is str:
        return (physical, logical, (1, 0, node))
    return (physical, logical, (0, node, "")) if kind is int else None


def ts_plain(value: tuple[Any, ...] | None) -> list[Any] | None:
    """The tuple of ``ts_tuple`` back as the contract's ``[physical_ms, logical, node_id]``."""
    if value is None:
        return None
    node = value[2][1] if value[2][0] == 0 else value[2][2]
    return [value[0], value[1], node]


@dataclass
class Expected:
    """Per key id: counter bounds, OR-set must/may elements, register winner; and the violations found in
    the operations themselves (conflicting or out-of-order timestamps, impossible removed tags)."""

    names: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    counters: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # (low, high, acked sum)
    must: dict[int, set[str]] = field(default_factory=dict)
    may: dict[int, set[str]] = field(default_factory=dict)
    registers: dict[int, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def problem(self, kind: str, found: list[dict[str, Any]], total: int | None = None) -> None:
        if found or total:
            self.problems.setdefault(kind, []).extend(found[:EVIDENCE_LIMIT])
            self.counts[kind] = self.counts.get(kind, 0) + (total if total is not None else len(found))

    def key(self, kid: int) -> str:
        return self.names.get(kid, ("", "", "?"))[2]


WRITE_COLUMNS = ["kid", "type", "op_id", "value_in", "invoke_time", "complete_time"]


def _writes(ops: pd.DataFrame, f: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Writes ``f`` that may have taken effect (ok or info): only the columns used (a million rows of every
    column would be copied otherwise)."""
    columns = WRITE_COLUMNS + [c for c in extra if c in ops.columns]
    return ops.loc[((ops["f"] == f) & (ops["type"] != "fail")).to_numpy(), columns]


def counters(ops: pd.DataFrame, out: Expected) -> None:
    """Bounds of every counter from its increments (fail ones excluded)."""
    incs = _writes(ops, "crdt_inc")
    if incs.empty:
        return
    delta = pd.to_numeric(incs["value_in"], errors="coerce")
    bad = incs[delta.isna().to_numpy()]
    out.problem("malformed_ops", [{"op_id": o, "why": "increment without an integer delta"}
                                  for o in bad["op_id"].head(EVIDENCE_LIMIT)], len(bad))
    acked = (incs["type"] == "ok").to_numpy()
    d = delta.fillna(0).to_numpy()
    frame = pd.DataFrame({"kid": incs["kid"].to_numpy(), "acked": np.where(acked, d, 0),
                          "neg": np.where(~acked & (d < 0), d, 0), "pos": np.where(~acked & (d > 0), d, 0)})
    sums = frame.groupby("kid", sort=False)[["acked", "neg", "pos"]].sum()
    for kid, acked_sum, neg, pos in zip(sums.index, sums["acked"], sums["neg"], sums["pos"], strict=True):
        out.counters[int(kid)] = (int(acked_sum + neg), int(acked_sum + pos), int(acked_sum))


def or_sets(ops: pd.DataFrame, out: Expected) -> None:
    """Must/may elements of every OR-set, and impossible ``removed_tags``."""
    adds = _writes(ops, "crdt_add")
    removes = _writes(ops, "crdt_remove", ("removed_tags",))
    if adds.empty and removes.empty:
        return
    acked_removes = removes[(removes["type"] == "ok").to_numpy()]
    tags = pd.DataFrame({"kid": acked_removes["kid"].to_numpy(), "remove_id": acked_removes["op_id"].to_numpy(),
                         "remove_element": acked_removes["value_in"].to_numpy(),
                         "complete_time": acked_removes["complete_time"].to_numpy(),
                         "tag": acked_removes["removed_tags"].to_numpy()})
    has_list = np.array([type(v) is list for v in tags["tag"].tolist()], dtype=bool)
    tags = tags[has_list].explode("tag")
    tags = tags[tags["tag"].notna().to_numpy()]
    is_add = (ops["f"] == "crdt_add").to_numpy()
    all_adds = ops.loc[is_add, ["op_id", "kid", "value_in", "type", "invoke_time"]]
    # One hash pass over the add ids and the removed tags together (a million-row join and isin on strings
    # cost several times more): equal codes = equal strings; None gets a code of its own (never a tag).
    add_ids = all_adds["op_id"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(np.concatenate([add_ids, tags["tag"].to_numpy(dtype=object)]),
                                  use_na_sentinel=False)
    add_codes, tag_codes = codes[: len(add_ids)], codes[len(add_ids):]
    first_add = np.full(len(uniques), -1, dtype=np.int64)  # code -> row of its first add (-1: no add has it)
    firsts = pd.Series(add_codes).drop_duplicates(keep="first")  # the first add of each id (like a join on
    first_add[firsts.to_numpy()] = firsts.index.to_numpy()         # the deduplicated adds)
    row = first_add[tag_codes]
    found = row >= 0
    take = np.where(found, row, 0)

    def matched(values: np.ndarray) -> np.ndarray:
        """The first add's field per tag (a left join): NaN (and numbers as floats) when some tag has no add."""
        if found.all():
            return values[take]
        picked = values[take] if len(values) else np.zeros(len(take), dtype=object)
        return np.where(found, picked, np.nan)

    joined = tags.reset_index(drop=True).assign(
        add_kid=matched(all_adds["kid"].to_numpy()), add_element=matched(all_adds["value_in"].to_numpy(dtype=object)),
        add_type=matched(all_adds["type"].astype(object).to_numpy()),
        add_invoke=matched(all_adds["invoke_time"].to_numpy()))
    foreign = joined["add_kid"].isna() | (joined["add_kid"] != joined["kid"]) \
        | (joined["add_element"] != joined["remove_element"])
    impossible = foreign | (joined["add_type"] == "fail") | (joined["add_invoke"] > joined["complete_time"])
    bad = joined[impossible.to_numpy()]
    out.problem("impossible_removed_tags", [
        {"remove": r.remove_id, "key": out.key(r.kid), "element": r.remove_element, "tag": r.tag,
         "why": ("names no add of this key and element" if f else "names a failed add" if r.add_type == "fail"
                 else "names an add invoked after the remove completed")}
        for r, f in zip(bad.head(EVIDENCE_LIMIT).itertuples(), foreign[impossible].head(EVIDENCE_LIMIT), strict=True)],
        len(bad))
    covered = np.zeros(len(uniques), dtype=bool)
    covered[tag_codes[(~impossible).to_numpy()]] = True
    unknown = removes[(removes["type"] == "info").to_numpy()]
    unknown_removed = set(zip(unknown["kid"].tolist(), unknown["value_in"].tolist(), strict=True))
    # adds = the not-failed rows of all_adds, in the same order (both are masks over ops)
    alive = ~covered[add_codes[(all_adds["type"] != "fail").to_numpy()]]
    acked = (adds["type"] == "ok").to_numpy()
    pairs = pd.DataFrame({"kid": adds["kid"].to_numpy(), "element": adds["value_in"].to_numpy()})
    for kid in pd.concat([adds["kid"], removes["kid"]]).unique().tolist():
        out.may[int(kid)], out.must[int(kid)] = set(), set()
    for kid, element in pairs[alive].drop_duplicates().itertuples(index=False):
        out.may[int(kid)].add(element)
    for kid, element in pairs[alive & acked].drop_duplicates().itertuples(index=False):
        if (kid, element) not in unknown_removed:
            out.must[int(kid)].add(element)


def _ranks(raw: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(dense rank of each timestamp in lexicographic order, which are well-formed ``[int, int, node_id]``);
    vectorised: one lexsort over (physical, logical, node id) columns."""
    shaped = [v if type(v) in (list, tuple) and len(v) == 3 else (None, None, None) for v in raw]
    cols = pd.DataFrame(shaped, columns=["p", "l", "n"], dtype=object) if shaped else \
        pd.DataFrame(columns=["p", "l", "n"], dtype=object)
    ints = [np.array([type(v) is int for v in cols[c].tolist()], dtype=bool) for c in ("p", "l")]
    node_kinds = {type(v) for v in cols["n"].tolist()}
    keep = ints[0] & ints[1] & np.array([type(v) in (int, str) for v in cols["n"].tolist()], dtype=bool)
    if len(node_kinds & {int, str}) > 1:  # mixed node ids: order them as text
        cols["n"] = cols["n"].map(str)
    physical = np.where(keep, pd.to_numeric(cols["p"].where(keep, 0)).to_numpy(np.int64), 0)
    logical = np.where(keep, pd.to_numeric(cols["l"].where(keep, 0)).to_numpy(np.int64), 0)
    node_codes, _ = pd.factorize(cols["n"].where(keep, ""), sort=True)
    order = np.lexsort((node_codes, logical, physical))
    triples = np.stack([physical[order], logical[order], node_codes[order]])
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        new[1:] = (np.diff(triples, axis=1) != 0).any(axis=0)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(new)
    return rank, keep


def registers(ops: pd.DataFrame, out: Expected) -> None:
    """Conflicts, real-time order and the winner of every register."""
    writes = _writes(ops, "crdt_set", ("timestamp", "region"))
    if writes.empty:
        return
    acked = writes[(writes["type"] == "ok").to_numpy()]
    raw = acked["timestamp"].tolist() if "timestamp" in acked.columns else [None] * len(acked)
    rank, keep = _ranks(raw)
    malformed = np.flatnonzero(~keep)
    out.problem("malformed_ops", [{"op_id": acked["op_id"].iloc[i], "timestamp": raw[i],
                                   "why": "acknowledged register write without a [physical_ms, logical, node_id]"}
                                  for i in malformed[:EVIDENCE_LIMIT]], len(malformed))
    frame = pd.DataFrame({"kid": acked["kid"].to_numpy(), "op_id": acked["op_id"].to_numpy(),
                          "value": acked["value_in"].to_numpy(), "region": acked["region"].astype(object).to_numpy(),
                          "invoke_time": acked["invoke_time"].astype("int64").to_numpy(),
                          "complete_time": acked["complete_time"].astype("int64").to_numpy(),
                          "rank": rank, "raw": pd.Series(raw, dtype=object).to_numpy()})[keep]
    frame = frame.drop_duplicates("op_id")  # a re-sent op_id is one write (the contract makes it idempotent)
    twins = frame[frame.duplicated(["kid", "rank"], keep=False).to_numpy()]
    groups = list(twins.groupby(["kid", "rank"], sort=False))
    out.problem("conflicts", [{"key": out.key(kid), "crdt": "register", "timestamp": g["raw"].iloc[0],
                               "writes": g["op_id"].tolist()[:5]} for (kid, _), g in groups[:EVIDENCE_LIMIT]],
                len(groups))
    _real_time(frame, out)
    best = frame.sort_values("rank", kind="stable").drop_duplicates("kid", keep="last")
    unknown = writes[(writes["type"] == "info").to_numpy()]
    unknown_values: dict[int, set[Any]] = {}
    for kid, value in zip(unknown["kid"].tolist(), unknown["value_in"].tolist(), strict=True):
        unknown_values.setdefault(int(kid), set()).add(value)
    for row in best.itertuples(index=False):
        out.registers[int(row.kid)] = {"winner": row.op_id, "value": row.value, "ts": ts_tuple(row.raw),
                                       "region": row.region, "unknown_values": unknown_values.pop(int(row.kid), set())}
    for kid, values in unknown_values.items():  # only writes of unknown outcome: anything of them, or null
        out.registers[kid] = {"winner": None, "value": None, "ts": None, "region": None, "unknown_values": values}


def _real_time(frame: pd.DataFrame, out: Expected) -> None:
    """A write invoked after another write of its key was acknowledged must carry a greater timestamp: for
    each write, the greatest rank among writes of its key completed before it was invoked (``merge_asof``)."""
    done = frame.sort_values("complete_time", kind="stable")
    right = pd.DataFrame({"kid": done["kid"].to_numpy(), "complete_time": done["complete_time"].to_numpy(),
                          "before_rank": done.groupby("kid", sort=False)["rank"].cummax().to_numpy()})
    left = frame.sort_values("invoke_time", kind="stable")
    merged = pd.merge_asof(left, right, left_on="invoke_time", right_on="complete_time", by="kid",
                           allow_exact_matches=False, direction="backward", suffixes=("", "_before"))
    late = merged[(merged["before_rank"].notna() & (merged["before_rank"] >= merged["rank"])).to_numpy()]
    found = []
    for row in late.head(EVIDENCE_LIMIT).itertuples(index=False):
        same = frame[((frame["kid"] == row.kid) & (frame["complete_time"] < row.invoke_time)).to_numpy()]
        earlier = same.sort_values("rank").iloc[-1]
        found.append({"key": out.key(row.kid), "write": row.op_id, "timestamp": row.raw,
                      "invoked_after": earlier["op_id"], "its_timestamp": earlier["raw"],
                      "gap_s": round((row.invoke_time - earlier["complete_time"]) / 1e9, 6)})
    out.problem("real_time_violations", found, len(late))


def expected(ops: pd.DataFrame, names: dict[int, tuple[str, str, str]]) -> Expected:
    """The harness's merge of every CRDT key from ``ops`` (``analysis.ops.crdt_operations`` with a ``kid``
    column from ``key_ids``; ``names``: what each ``kid`` stands for)."""
    out = Expected(names=names)
    if ops.empty:
        return out
    counters(ops, out)
    or_sets(ops, out)
    registers(ops, out)
    return out
