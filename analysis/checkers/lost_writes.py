"""No lost acknowledged write (Jepsen's set-full idea, for registers).

The *final read* of a (tenant, key) is its last acknowledged read in the history (e.g. the verification
read phase at the end). Every acknowledged write (put; cas ok writes its new value; delete writes None)
that completed before the final read was invoked must be either the value the final read returned, or
have been overwritten: some other write that may have taken effect (ok or info) was not over before the
acknowledged one began (a later or concurrent write) and was invoked before the final read returned.

Write-once keys (Jepsen's set-full proper): the load writes part of its keys exactly once (invoke flag
``once``), so a lost acknowledgement there cannot hide behind a later write, and re-reads them during the
run ("read until stable"). A write-once key whose acknowledged value the final read lacks is LOST; its
evidence gives the value, the acknowledgement time and how many later reads saw or missed the value.
Figures ``write_once_*`` count these keys, their acknowledged writes, the lost ones, and the linearizable
reads after an acknowledgement that missed the value (``write_once_stale_reads``: the linearizability
check judges those; a value that is missing for good is lost here).

PASS: every acknowledged write was checked and none was lost. FAIL: the evidence lists each lost write
with its final read. UNKNOWN: acknowledged writes exist that no final read covers (the key was never read
back, or the write ended after the final read began). NOT APPLICABLE: no acknowledged writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import flag
from ..verdict import Status, Verdict
from .evidence import op_records, plain
from .register import kv_operations, register_columns, response_times

NAME = "no-lost-writes"
KEY = ["tenant", "key"]


def check_lost_writes(ops: pd.DataFrame) -> Verdict:
    kv = kv_operations(ops)
    kv = kv.join(register_columns(kv)) if not kv.empty else kv
    if kv.empty:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no strong-KV operations in the history")
    kv = kv.assign(written=kv["arg"].where(kv["kind"] != 2, kv["new"]), once=flag(kv, "once"),
                   end=response_times(kv))
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
               "keys_written": int(acked.groupby(KEY).ngroups), **write_once_figures(writes, reads, lost)}
    if not lost.empty:
        lost = lost.sort_values("once", ascending=False, kind="stable")  # write-once losses first: unambiguous
        evidence = [lost_record(ops, reads, row) for row in lost.head(50).itertuples(index=False)]  # at most 50
        once = int(lost["once"].sum())
        return Verdict(NAME, Status.FAIL, f"{len(lost)} acknowledged write(s) lost ({once} on write-once keys): "
                       "neither read back nor overwritten by a later or concurrent write", evidence, figures)
    if not uncovered.empty:
        never_read = int(uncovered["read_invoke"].isna().sum())
        reason = (f"{len(uncovered)} acknowledged write(s) not covered by a final read "
                  f"({never_read} on keys never read back, {len(uncovered) - never_read} ending after the final "
                  "read began); none of the covered ones was lost")
        return Verdict(NAME, Status.UNKNOWN, reason,
                       [{"uncovered_writes": op_records(ops, uncovered["row"].head(20).tolist(), 20)}], figures)
    return Verdict(NAME, Status.PASS, "", [], figures)


def short(value: object, limit: int = 120) -> object:
    """A value for evidence: long strings (up to 64 KiB values) cut to ``limit`` characters."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}... ({len(value.encode('utf-8'))} bytes)"
    return value


def lost_record(ops: pd.DataFrame, reads: pd.DataFrame, row: Any) -> dict[str, Any]:
    """Evidence of one lost write: the key, the value, when it was acknowledged (wall s), the final read,
    and for write-once keys how many linearizable reads after the acknowledgement saw the value."""
    write, read = op_records(ops, [row.row], 1), op_records(ops, [int(row.read_row)], 1)
    for record in write + read:
        for name in ("value_in", "value_out"):
            if name in record:
                record[name] = short(record[name])
    item: dict[str, Any] = {"tenant": row.tenant, "key": row.key, "write_once": bool(row.once),
                            "value": short(row.written), "acknowledged_wall": plain(row.complete_wall),
                            "lost_write": write[0] if write else {}, "final_read": read[0] if read else {}}
    if row.once:
        later = reads[(reads["tenant"] == row.tenant) & (reads["key"] == row.key)
                      & (reads["invoke_time"] > row.complete_time)]
        seen = int((later["arg"].to_numpy(object) == row.written).sum())
        item["reads_after_ack"] = {"total": int(len(later)), "with_value": seen, "without": int(len(later)) - seen}
    return item


def write_once_figures(writes: pd.DataFrame, reads: pd.DataFrame, lost: pd.DataFrame) -> dict[str, int]:
    """Figures of the write-once share: keys, acknowledged writes, lost ones, linearizable reads invoked
    after an acknowledgement (re-reads and the final read) and those of them that missed the value."""
    once = writes[writes["once"]]
    acked = once[once["type"] == "ok"]
    later = acked[KEY + ["complete_time", "written"]].merge(reads[KEY + ["invoke_time", "arg"]], on=KEY, how="inner")
    later = later[later["invoke_time"] > later["complete_time"]]
    missed = later["arg"].to_numpy(object) != later["written"].to_numpy(object)
    return {"write_once_keys": int(once.groupby(KEY).ngroups) if not once.empty else 0,
            "write_once_acknowledged": int(len(acked)),
            "write_once_lost": int(lost["once"].sum()) if not lost.empty else 0,
            "write_once_reads_after_ack": int(len(later)), "write_once_stale_reads": int(missed.sum())}
