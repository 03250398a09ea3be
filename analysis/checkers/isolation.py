"""Tenant isolation.

1. Every cross-tenant attempt (operations with ``cross_tenant`` true, which address another tenant's keys)
   is refused: it fails with 401 or 403. An acknowledged one is a leak (FAIL). One that failed otherwise
   (5xx, transport error) or whose outcome is unknown proves nothing (UNKNOWN unless something failed).
   A probe that never reached the target (refused connection: a failure without an HTTP status) or that the
   harness itself cancelled (its load stopped mid-call, error ``cancelled``) is not a probe of isolation: it
   is counted apart as undelivered and judged by neither side (a write it may have applied shows in part 2).
   An inconclusive probe inside a fault window (+ the plan's client-error grace) is what the fault does to
   any request: counted, not UNKNOWN; outside the windows it leaves the verdict UNKNOWN.
2. Every tenant sees exactly its own writes: each acknowledged read of a tenant returns None or a value
   that tenant itself tried to write to that key. A value another tenant wrote there is a leak (FAIL);
   a value nobody wrote is reported too (FAIL).

PASS needs both parts exercised: at least one cross-tenant probe and at least one read; otherwise UNKNOWN
(or NOT APPLICABLE with a single tenant and no probes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.rates import event_time
from ..verdict import Status, Verdict
from ..windows import outside_faults
from .evidence import op_records
from .register import kv_operations, register_columns

NAME = "tenant-isolation"
REFUSED = (401, 403)


def _written_values(ops: pd.DataFrame) -> pd.DataFrame:
    """(tenant, key, value) of every write any tenant attempted (cross-tenant ones under the addressed tenant)."""
    writes = ops[ops["f"].isin(["put", "cas", "delete"]) & ops["key"].notna()]
    if writes.empty:
        return pd.DataFrame(columns=["tenant", "key", "value", "cross", "caller"])
    model = register_columns(writes)
    value = model["arg"].where(model["kind"] != 2, model["new"])
    return pd.DataFrame({"tenant": writes["tenant"].fillna("").to_numpy(), "key": writes["key"].to_numpy(),
                         "value": value.to_numpy(object), "cross": writes["cross_tenant"].to_numpy(bool),
                         "caller": writes["caller"].to_numpy(object)})


def check_isolation(ops: pd.DataFrame, windows: pd.DataFrame | None = None, grace_s: float = 0.0) -> Verdict:
    """Tenant isolation (module doc); ``windows``: the run's fault windows, ``grace_s`` seconds after each."""
    if ops.empty:
        return Verdict(NAME, Status.UNKNOWN, "no client operations in the history")
    every_probe = ops[ops["cross_tenant"].astype(bool)]
    cancelled = (every_probe["type"] == "info") & (every_probe["error"] == "cancelled")
    not_sent = (every_probe["type"] == "fail") & every_probe["status"].isna()
    undelivered = every_probe[cancelled | not_sent]
    probes = every_probe.drop(undelivered.index)
    leaked = probes[probes["type"] == "ok"]
    refused = probes[(probes["type"] == "fail") & probes["status"].isin(REFUSED)]
    unclear = probes.drop(leaked.index).drop(refused.index)
    quiet = outside_faults(event_time(unclear).to_numpy(float), windows, grace_s * 1e9) \
        if windows is not None and not unclear.empty else np.ones(len(unclear), dtype=bool)
    inconclusive, in_faults = unclear[quiet], unclear[~quiet]

    kv = kv_operations(ops)
    reads = kv[(kv["f"] == "get") & (kv["type"] == "ok")]
    reads = reads.assign(read_value=register_columns(reads)["arg"]) if not reads.empty else reads.assign(read_value=None)
    seen = reads[reads["read_value"].notna()].reset_index(names="row")
    written = _written_values(ops)
    own = written[~written["cross"].astype(bool)][["tenant", "key", "value"]].drop_duplicates()
    own = own.assign(own=True).rename(columns={"value": "read_value"})
    checked = seen.merge(own, on=["tenant", "key", "read_value"], how="left")
    foreign = checked[checked["own"].isna()]
    tenants = int(ops["tenant"].dropna().nunique())
    figures = {"tenants": tenants, "cross_tenant_probes": int(len(probes)), "refused": int(len(refused)),
               "leaked": int(len(leaked)), "inconclusive_probes": int(len(inconclusive)),
               "inconclusive_in_faults": int(len(in_faults)),
               "undelivered_probes": int(len(undelivered)),
               "reads_checked": int(len(reads)), "foreign_reads": int(len(foreign))}
    evidence = []
    if not leaked.empty:
        evidence.append({"problem": "cross-tenant attempts that were not refused",
                         "operations": op_records(ops, leaked.index.tolist(), 20)})
    if not foreign.empty:
        writers = written.rename(columns={"tenant": "writer_tenant", "value": "read_value", "cross": "writer_cross",
                                          "caller": "writer_caller"}).drop_duplicates()
        origin = foreign.merge(writers, on=["key", "read_value"], how="left")
        for row in origin.drop_duplicates("row").head(20).itertuples(index=False):
            writer = row.writer_tenant if isinstance(row.writer_tenant, str) else None
            caller = row.writer_caller if isinstance(row.writer_caller, str) else "another tenant"
            source = (f"written by {caller} through a cross-tenant call on tenant {writer}'s keys"
                      if writer and row.writer_cross in (True, 1) else f"written by tenant {writer}" if writer
                      else "written by nobody")
            evidence.append({"problem": f"a tenant read a value it never wrote ({source})",
                             "read": op_records(ops, [int(row.row)], 1)[0], "writer_tenant": writer})
    if evidence:
        return Verdict(NAME, Status.FAIL, f"{len(leaked)} cross-tenant attempt(s) not refused, {len(foreign)} read(s) "
                       "of values the reading tenant never wrote", evidence, figures)
    if every_probe.empty and tenants < 2:
        return Verdict(NAME, Status.NOT_APPLICABLE, "single tenant and no cross-tenant probes", [], figures)
    if probes.empty:
        return Verdict(NAME, Status.UNKNOWN, f"no cross-tenant probes answered in the history (own-writes part passed on "
                       f"{len(reads)} read(s))", [], figures)
    if not inconclusive.empty:
        return Verdict(NAME, Status.UNKNOWN, f"{len(inconclusive)} cross-tenant probe(s) neither refused (401/403) "
                       "nor accepted outside fault windows", [{"operations": op_records(ops, inconclusive.index.tolist(), 20)}], figures)
    if reads.empty:
        return Verdict(NAME, Status.UNKNOWN, "no acknowledged reads: the own-writes part did not run", [], figures)
    return Verdict(NAME, Status.PASS, "", [], figures)
