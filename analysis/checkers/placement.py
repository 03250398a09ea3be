"""Placement: every key was stored in the Raft group the harness's own ring computes.

For each acknowledged strong-KV operation that names its serving group (``group``), the expected group is
``HarnessRing.from_contract(target/ring.json).group_for(tenant, key)`` (computed here, never asked of the
target). PASS: every such operation was served by its key's ring owner. FAIL: the evidence lists the
misplaced keys (expected vs observed groups, counts, an example operation). UNKNOWN: no acknowledged
operation named a group. NOT APPLICABLE: the run folder has no ``target/ring.json``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..frames import column
from ..verdict import Status, Verdict
from .evidence import op_records
from .register import KV_FUNCTIONS

NAME = "placement"


def check_placement(ops: pd.DataFrame, ring: dict[str, Any] | None) -> Verdict:
    """``ops`` must carry the ``owner`` column (``analysis.owners.owner_groups``) computed from ``ring``."""
    if ring is None:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no target/ring.json in the run folder: placement cannot be "
                       "computed independently")
    # A local read answered 404 names the node that lacks the key (any node outside the owner group does):
    # no placement evidence. A local read that found the key shows where it is stored: kept.
    local_miss = column(ops, "consistency").isin(["local"]) & (pd.to_numeric(column(ops, "status")) == 404)
    served = ops[(ops["type"] == "ok") & ops["f"].isin(KV_FUNCTIONS) & ops["group"].notna() & ops["key"].notna()
                 & ~ops["cross_tenant"].astype(bool) & ~local_miss]
    if served.empty:
        return Verdict(NAME, Status.UNKNOWN, "no acknowledged strong-KV operation named its serving group")
    wrong = served[served["group"].astype(str) != served["owner"].astype(str)]
    keys = served.groupby(["tenant", "key"]).ngroups
    figures = {"operations": int(len(served)), "keys": int(keys), "misplaced_operations": int(len(wrong)),
               "ring_epoch": ring.get("epoch"), "ring_groups": ring.get("groups")}
    if wrong.empty:
        figures["accuracy"] = 1.0
        return Verdict(NAME, Status.PASS, "", [], figures)
    by_key = wrong.reset_index(names="row").groupby(["tenant", "key"], sort=True).agg(
        expected=("owner", "first"), observed=("group", lambda g: sorted(set(g))), operations=("row", "size"),
        example=("row", "first"))
    figures["misplaced_keys"] = int(len(by_key))
    figures["accuracy"] = 1.0 - len(by_key) / keys
    evidence = [{"tenant": t, "key": k, "expected_group": row.expected, "observed_groups": row.observed,
                 "operations": int(row.operations), "example": op_records(ops, [int(row.example)], 1)[0]}
                for (t, k), row in by_key.head(50).iterrows()]
    return Verdict(NAME, Status.FAIL, f"{len(by_key)} of {keys} key(s) served by a group other than the ring owner",
                   evidence, figures)
