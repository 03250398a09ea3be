"""What a ``MultiRegionCrdtWriter`` user does each step (the locustfile's user class calls ``CrdtWriter.step``):
one CRDT operation on a small set of keys shared by every writer, so writes from every region collide.

Each step, from the user's seeded RNG: a CRDT type (counter, OR-set, LWW register, equally likely), one of
``keys_per_type`` shared keys of it, then: counter -> ``inc`` by a non-zero delta in [-3, 5]; set -> ``add``
(60 %) or ``remove`` (40 %) of one of ``ELEMENTS`` elements; register -> ``set`` to the op id (unique); and
in ``read_ratio`` of steps a read of the key at the user's own node instead. Every write carries an op id
unique in the run (``<history process>-<n>``), so the analysis can recompute every merge. The user talks
only to its entry node (a node of its own region).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ..client import RecordingClient, Result

TYPES = ("counter", "set", "register")
ELEMENTS = 6          # elements per OR-set: adds and removes of the same element race across regions
DELTAS = (-3, -2, -1, 1, 2, 3, 4, 5)
KEY_PREFIX = "crdt-"  # the load's keys; the verify phase's multi-region rounds use "mrw-"


def crdt_available(run_dir: Path | None) -> bool:
    """Whether the target's ``/v1/config`` (the run's ``target/config.json``) offers the ``crdt`` feature."""
    if run_dir is None:
        return False
    try:
        feature = json.loads((Path(run_dir) / "target" / "config.json").read_text())["features"]["crdt"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(feature.get("available", feature.get("enabled"))) if isinstance(feature, dict) else bool(feature)


def crdt_key(crdt: str, index: int) -> str:
    """Shared key ``index`` of CRDT type ``crdt``."""
    return f"{KEY_PREFIX}{crdt}-{index}"


@dataclass
class CrdtWriter:
    """One simulated user's CRDT steps through ``client`` (its entry node), drawing from ``rng``."""

    client: RecordingClient
    rng: random.Random
    keys_per_type: int = 4
    read_ratio: float = 0.1
    writes: int = field(default=0)

    def op_id(self) -> str:
        self.writes += 1
        return f"{self.client.process}-{self.writes}"

    def step(self) -> Result:
        rng = self.rng
        crdt = TYPES[rng.randrange(len(TYPES))]
        key = crdt_key(crdt, rng.randrange(self.keys_per_type))
        if rng.random() < self.read_ratio:
            return self.client.crdt_read(crdt, key)
        if crdt == "counter":
            return self.client.crdt_inc(key, rng.choice(DELTAS), self.op_id())
        if crdt == "set":
            element = f"e{rng.randrange(ELEMENTS)}"
            if rng.random() < 0.6:
                return self.client.crdt_add(key, element, self.op_id())
            return self.client.crdt_remove(key, element, self.op_id())
        op_id = self.op_id()
        return self.client.crdt_set(key, op_id, op_id)
