"""No lost acknowledged write (Jepsen's set-full idea, for registers).

The *final read* of a (tenant, key) is its last acknowledged read in the history (e.g. the verification
read phase at the end). Every acknowledged write (put; cas ok writes its new value; delete writes None)
that completed before the final read was invoked must be either the value the final read returned, or
have been overwritten: some other write that may have taken effect (ok or info) was not over before the
acknowledged one began (a later or concurrent write) and was invoked before the final read returned.

PASS: every acknowledged write was checked and none was lost. FAIL: the evidence lists each lost write
with its final read. UNKNOWN: acknowledged writes exist that no final read covers (the key was never read
back, or the write ended after the final read began). NOT APPLICABLE: no acknowledged writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..verdict import Status, Verdict
from .evidence import op_records
from .register import kv_operations, register_columns

NAME = "no-lost-writes"
KEY = ["tenant", "key"]


def check_lost_writes(ops: pd.DataFrame) -> Verdict:
    kv = kv_operations(ops)
    kv = kv.join(register_columns(kv)) if not kv.empty else kv
    if kv.empty:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no strong-KV operations in the history")
    kv = kv.assign(written=kv["arg"].where(kv["kind"] != 2, kv["new"]),
                   end=kv["complete_time"].fillna(np.inf))  # an info write's response is at +infinity
    reads = kv[(kv["f"] == "get") & (kv["type"] == "ok")]
    writes = kv[kv["f"] != "get"]
    acked = writes[writes["type"] == "ok"]
    if acked.empty:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no acknowledged writes in the history")
    final = reads.sort_values("complete_time", kind="stable").groupby(KEY, sort=False).tail(1)
    final = final[KEY + ["invoke_time", "complete_time", "arg"]].rename(
        columns={"invoke_time": "read_invoke", "complete_time": "read_complete", "arg": "read_value"})
    final = final.assign(read_row=final.index)
    judged = acked.reset_index(names="row").merge(final, on=KEY, how="left")
    covered = judged["read_invoke"].notna() & (judged["complete_time"] < judged["read_invoke"])
    uncovered = judged[~covered]
    judged = judged[covered]

    # Candidate overwriters per key: writes (ok or info) invoked before the final read returned.
    cand = writes.reset_index(names="row").merge(final[KEY + ["read_complete"]], on=KEY, how="inner")
    cand = cand[cand["invoke_time"] < cand["read_complete"]]
    # For each acknowledged write: the latest end among the *other* candidates of its key, from the two
    # latest ends per key (the top one may be the write itself).
    cand = cand.sort_values("end", ascending=False, kind="stable")
    top = cand.groupby(KEY, sort=False).head(2)
    first = top.groupby(KEY, sort=False).nth(0)[KEY + ["row", "end"]].rename(columns={"row": "r1", "end": "e1"})
    second = top.groupby(KEY, sort=False).nth(1)[KEY + ["end"]].rename(columns={"end": "e2"})
    judged = judged.merge(first, on=KEY, how="left").merge(second, on=KEY, how="left")
    other_end = np.where(judged["row"] == judged["r1"], judged["e2"], judged["e1"])
    overwritten = np.nan_to_num(other_end.astype(float), nan=-np.inf) > judged["invoke_time"].to_numpy(float)
    read_back = judged["written"].to_numpy(object) == judged["read_value"].to_numpy(object)
    both_none = judged["written"].isna().to_numpy() & judged["read_value"].isna().to_numpy()
    lost = judged[~(read_back | both_none | overwritten)]

    figures = {"acknowledged_writes": int(len(acked)), "checked": int(len(judged)), "lost": int(len(lost)),
               "uncovered": int(len(uncovered)), "keys_with_final_read": int(len(final)),
               "keys_written": int(acked.groupby(KEY).ngroups)}
    if not lost.empty:
        evidence = []
        for row in lost.head(50).itertuples(index=False):  # evidence only: at most 50 rows
            write, read = op_records(ops, [row.row], 1), op_records(ops, [int(row.read_row)], 1)
            evidence.append({"tenant": row.tenant, "key": row.key, "lost_write": write[0] if write else {},
                             "final_read": read[0] if read else {}})
        return Verdict(NAME, Status.FAIL, f"{len(lost)} acknowledged write(s) lost: neither read back nor "
                       "overwritten by a later or concurrent write", evidence, figures)
    if not uncovered.empty:
        never_read = int(uncovered["read_invoke"].isna().sum())
        reason = (f"{len(uncovered)} acknowledged write(s) not covered by a final read "
                  f"({never_read} on keys never read back, {len(uncovered) - never_read} ending after the final "
                  "read began); none of the covered ones was lost")
        return Verdict(NAME, Status.UNKNOWN, reason,
                       [{"uncovered_writes": op_records(ops, uncovered["row"].head(20).tolist(), 20)}], figures)
    return Verdict(NAME, Status.PASS, "", [], figures)
