"""Plan 45-04's numbers (tier7/plan.toml) and its success criteria, in the plan's own words."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLAN_FILE = Path(__file__).with_name("plan.toml")


@dataclass(frozen=True)
class Criterion:
    id: str          # short name used on the command line (--only) and in evidence paths
    text: str        # the plan's words
    built: bool      # False until the issue that builds it lands: reported NOT RUN with `pending`
    pending: str = ""


CRITERIA: list[Criterion] = [
    Criterion("preset", "God-tier preset loads without errors", True),
    Criterion("multi-raft", "Multi-Raft: 3 independent Raft groups, each with 3 nodes, all healthy", True),
    Criterion("federation", "Federation: consistent hash routes keys to correct Raft group "
              "(100% accuracy over 1000 writes)", True),
    Criterion("crdt", "CRDT: 100 concurrent writers across regions, zero conflicts, all updates merged correctly",
              False, "CRDT keys and per-region replicas are not built yet (testbed and harness)"),
    Criterion("scale-out", "Auto-scaling: add 3 nodes, data rebalances within 5 minutes, cluster healthy",
              False, "scale-out and rebalancing are not built yet"),
    Criterion("scale-in", "Auto-scaling: remove 3 nodes gracefully, no data loss, cluster healthy",
              False, "scale-in and draining are not built yet"),
    Criterion("cloud", "Cloud adapters: write to AWS S3, read back identical data; repeat for Azure Blob and "
              "GCP Cloud Storage", False, "blob adapters and their emulators are not built yet"),
    Criterion("failover", "Chaos: kill Raft leader, new leader elected within 5 seconds, writes resume", True),
    Criterion("multi-region-write", "Multi-region write: same key updated in 2 regions, CRDT resolves without error",
              False, "CRDT keys and per-region replicas are not built yet"),
    Criterion("sql", "Cross-region SQL query returns correct federated results", False,
              "federated SQL is not built yet"),
    Criterion("tenants", "1000 tenants: create, write, read for each, verify isolation (spot-check 10 random tenants)",
              True),
    Criterion("transport", "Adaptive transport: network latency injected, system switches HTTP/2 → HTTP/3 "
              "(verify logs)", False, "adaptive HTTP/2 -> HTTP/3 transport is not built yet"),
    Criterion("scaling-data-loss", "Zero data loss during scaling operations", False,
              "scaling operations are not built yet"),
    Criterion("logs", "Zero critical errors in logs", True),
    # Over the whole run, beyond the plan's list: the strong KV's correctness under everything above.
    Criterion("linearizable", "Whole run: every key of the strong KV behaved as a linearizable register", True),
    Criterion("no-lost-writes", "Whole run: no acknowledged write lost", True),
]

CRITERIA_BY_ID = {c.id: c for c in CRITERIA}


def load_plan(quick: bool = False, path: Path = PLAN_FILE) -> dict[str, Any]:
    """The plan's numbers; with ``quick`` the [quick] table overrides [sizes] and [load]."""
    data = tomllib.loads(path.read_text())
    if quick:
        for key, value in data.get("quick", {}).items():
            for table in ("sizes", "load", "thresholds"):
                if key in data[table]:
                    data[table][key] = value
    return data
