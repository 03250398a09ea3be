"""Hand-written CRDT histories for the checker and judge tests (times in seconds, stored as ns)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.ops import crdt_operations
from tier7.history import COLUMNS

from .analysis_history import BASE_WALL, ns

NODES = [{"name": f"n{i}", "group": f"g{i % 3}", "region": ["us-east", "eu-west", "ap-south"][i // 3],
          "url": f"http://127.0.0.1:{9000 + i}"} for i in range(9)]
CRDT_OF = {"crdt_inc": "counter", "crdt_add": "set", "crdt_remove": "set", "crdt_set": "register"}


class CrdtHistory:
    """Events of CRDT operations; each call adds an invoke and (unless ``type`` is None) its completion."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.seq: dict[str, int] = {}
        self.ops_made = 0

    def write(self, process: str, f: str, key: str, value: Any, start: float, end: float | None = None,
              type: str | None = "ok", node: str = "n0", region: str = "us-east", op_id: str | None = None,
              **answer: Any) -> str:
        self.seq[process] = self.seq.get(process, 0) + 1
        self.ops_made += 1
        op_id = op_id or f"{process}-{self.seq[process]}"
        base = {"process": process, "op": self.seq[process], "f": f, "key": key, "tenant": "t", "region": region,
                "crdt": CRDT_OF[f], "op_id": op_id, "source": "h.jsonl"}
        self.events.append({**base, "type": "invoke", "time": ns(start), "wall": BASE_WALL + start, "value": value})
        if type is not None:
            end = start + 0.01 if end is None else end
            done = {**base, "type": type, "time": ns(end), "wall": BASE_WALL + end, "value": value}
            if type == "ok":
                done.update({"node": node, **answer})
            self.events.append(done)
        return op_id

    def inc(self, process: str, key: str, delta: int, start: float, **kw: Any) -> str:
        return self.write(process, "crdt_inc", key, delta, start, **kw)

    def add(self, process: str, key: str, element: str, start: float, **kw: Any) -> str:
        return self.write(process, "crdt_add", key, element, start, **kw)

    def remove(self, process: str, key: str, element: str, start: float, tags: list[str] | None = None,
               **kw: Any) -> str:
        return self.write(process, "crdt_remove", key, element, start, removed_tags=tags or [], **kw)

    def set(self, process: str, key: str, value: str, start: float, ts: list[Any] | None = None, **kw: Any) -> str:
        if kw.get("type", "ok") == "ok" and ts is not None:
            kw["timestamp"] = ts
        return self.write(process, "crdt_set", key, value, start, **kw)

    def read(self, crdt: str, key: str, value: Any, start: float, node: str = "n0", ts: Any = None,
             final: bool = True, vector: dict[str, int] | None = None, process: str | None = None) -> None:
        process = process or f"final-{node}"
        self.seq[process] = self.seq.get(process, 0) + 1
        base = {"process": process, "op": self.seq[process], "f": "crdt_read", "key": key, "tenant": "t",
                "crdt": crdt, "source": "h.jsonl", **({"final": True} if final else {})}
        self.events.append({**base, "type": "invoke", "time": ns(start), "wall": BASE_WALL + start})
        done = {**base, "type": "ok", "time": ns(start + 0.005), "wall": BASE_WALL + start + 0.005, "value": value,
                "node": node}
        if ts is not None:
            done["timestamp"] = ts
        if vector is not None:
            done["version_vector"] = vector
        self.events.append(done)

    def final_round(self, crdt: str, key: str, value: Any, start: float, ts: Any = None,
                    nodes: list[dict[str, Any]] = NODES, **per_node: Any) -> None:
        """Every node reads ``key``; ``per_node`` overrides a node's value (``n4=...``)."""
        for i, n in enumerate(nodes):
            self.read(crdt, key, per_node.get(n["name"], value), start + i * 0.001, node=n["name"], ts=ts)

    def frame(self) -> pd.DataFrame:
        extra = sorted({k for event in self.events for k in event} - set(COLUMNS))
        frame = pd.DataFrame(self.events, columns=COLUMNS + extra)
        return frame.sort_values("time", kind="stable").reset_index(drop=True)

    def ops(self) -> pd.DataFrame:
        return crdt_operations(self.frame())

    def write_folder(self, run_dir: Path) -> None:
        """The history as a run folder's ``history/h.jsonl`` (plus target/nodes.json)."""
        (run_dir / "history").mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({k: v for k, v in e.items() if k != "source" and v is not None}) for e in self.events]
        (run_dir / "history" / "h.jsonl").write_text("\n".join(lines) + "\n")
        (run_dir / "target").mkdir(exist_ok=True)
        (run_dir / "target" / "nodes.json").write_text(json.dumps(NODES))


def healthy() -> CrdtHistory:
    """Concurrent writes from us-east and eu-west on a counter, a set and a register, then converged reads."""
    h = CrdtHistory()
    h.inc("u1", "c", 5, 1.0, node="n0")
    h.inc("u2", "c", -2, 1.0, node="n3", region="eu-west")
    h.inc("u3", "c", 7, 1.1, type="info", node="n6", region="ap-south")   # unknown: 3 or 10
    a1 = h.add("u1", "s", "x", 1.2, node="n0")
    h.add("u2", "s", "x", 1.2, node="n3", region="eu-west")               # concurrent add: wins over the remove
    h.remove("u1", "s", "x", 1.3, tags=[a1], node="n0")
    a3 = h.add("u1", "s", "y", 1.4)
    h.remove("u2", "s", "y", 1.5, tags=[a3], node="n3", region="eu-west")
    h.set("u1", "r", "east", 1.0, ts=[1000, 0, "n0"], node="n0")
    h.set("u2", "r", "west", 1.0, ts=[1000, 1, "n3"], node="n3", region="eu-west")  # winner
    h.final_round("counter", "c", 3, 5.0)
    h.final_round("set", "s", ["x"], 5.1)
    h.final_round("register", "r", "west", 5.2, ts=[1000, 1, "n3"])
    return h


def busy(writers: int = 100, per_writer: int = 25, keys: int = 4, partition: tuple[float, float] | None = (3.0, 6.0),
         mrw_rounds: int = 3) -> tuple[CrdtHistory, dict[str, Any]]:
    """A correct run: ``writers`` users (regions round-robin) writing counters, sets and registers on ``keys``
    shared keys per type, one op each every few ms; an ap-south partition window (nemesis events); the
    multi-region rounds (us-east n0 and eu-west n3 at once); final reads of every key on every node.
    Returns the history and the crdt phase's facts."""
    h = CrdtHistory()
    counters: dict[str, int] = {}
    live: dict[tuple[str, str], list[str]] = {}
    registers: dict[str, tuple[list[Any], str]] = {}
    t = 1.0
    step = 9.0 / (writers * per_writer)
    for i in range(writers * per_writer):
        w = i % writers
        node = NODES[w % 9]
        kw = {"node": node["name"], "region": node["region"], "end": t + step / 2}
        kind, key = i % 4, f"k{(i // 4) % keys}"
        process = f"w0-u{w}"
        if kind == 0:
            h.inc(process, key, 1 + i % 3, t, **kw)
            counters[key] = counters.get(key, 0) + 1 + i % 3
        elif kind == 1:
            element = f"e{i % 5}"
            live.setdefault((key, element), []).append(h.add(process, key, element, t, **kw))
        elif kind == 2:
            element = f"e{(i + 1) % 5}"
            h.remove(process, key, element, t, tags=live.pop((key, element), []), **kw)
        else:
            ts = [int(t * 1000), i, node["name"]]
            registers[key] = (ts, h.set(process, key, f"v{i}", t, ts=ts, **kw))
        t += step
    rounds = []
    for crdt, f in (("counter", "crdt_inc"), ("set", "crdt_add"), ("register", "crdt_set")):
        for r in range(mrw_rounds):
            key, ids = f"mrw-{crdt}-{r}", []
            for n, node in ((0, NODES[0]), (1, NODES[3])):
                value = 1 if crdt == "counter" else f"{node['region']}-{r}"
                extra = {"ts": [10_000 + r, n, node["name"]]} if crdt == "register" else {}
                writer = {"crdt_inc": h.inc, "crdt_add": h.add, "crdt_set": h.set}[f]
                ids.append(writer(f"mrw-{n}", key, value, t, end=t + 0.05, node=node["name"],
                                  region=node["region"], **extra))
            rounds.append({"crdt": crdt, "key": key, "ops": ids})
            final = {"counter": 2, "set": sorted([f"us-east-{r}", f"eu-west-{r}"]), "register": f"eu-west-{r}"}
            at = 15.1 + r * 0.05 + {"counter": 0.0, "set": 0.2, "register": 0.4}[crdt]
            h.final_round(crdt, key, final[crdt], at, ts=[10_000 + r, 1, "n3"] if crdt == "register" else None)
    for k in range(keys):
        key = f"k{k}"
        h.final_round("counter", key, counters.get(key, 0), 16.0 + k * 0.1)
        h.final_round("set", key, sorted(e for (kk, e), tags in live.items() if kk == key and tags), 16.03 + k * 0.1)
        ts, _ = registers.get(key, (None, None))
        value = next((e["value"] for e in h.events if e.get("op_id") == registers[key][1]), None) if ts else None
        h.final_round("register", key, value, 16.06 + k * 0.1, ts=ts)
    facts: dict[str, Any] = {"users": writers, "writers_stopped_time": ns(15.0), "partition": {"exit_status": 0},
                             "multi_region": {"rounds": rounds}}
    if partition is not None:
        start, end = partition
        for f, at, value in (("partition-region", start, {"region": "ap-south"}),
                             ("heal-partition", end, {"heal": True})):
            h.events.append({"process": "nemesis", "op": int(at), "f": f, "type": "invoke", "time": ns(at),
                             "wall": BASE_WALL + at, "value": value, "source": "n.jsonl"})
            h.events.append({"process": "nemesis", "op": int(at), "f": f, "type": "ok", "time": ns(at + 0.01),
                             "wall": BASE_WALL + at + 0.01, "value": value, "source": "n.jsonl"})
    return h, facts
