"""What a load run recorded, from its merged history: operation counts by outcome, invoke/completion
pairing (every invoke must have exactly one completion, after it), and the cross-tenant evidence.
Reads files only (run after the load: pandas would stall the simulated users)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..history import load_history


def pairing_problems(frame: Any, limit: int = 5) -> list[str]:
    """Operations (``process``, ``op``) without exactly one invoke followed by exactly one completion."""
    ops = frame[frame["process"] != "nemesis"]
    if ops.empty:
        return []
    kinds = ops.assign(invoke=ops["type"] == "invoke", done=ops["type"] != "invoke")
    grouped = kinds.groupby(["process", "op"], sort=False)
    counts = grouped.agg(invokes=("invoke", "sum"), completions=("done", "sum"))
    bad = counts[(counts["invokes"] != 1) | (counts["completions"] != 1)]
    problems = [f"{process} op {op}: {int(row.invokes)} invoke(s), {int(row.completions)} completion(s)"
                for (process, op), row in bad.head(limit).iterrows()]
    if len(bad) > limit:
        problems.append(f"... and {len(bad) - limit} more")
    invoked = ops[ops["type"] == "invoke"].set_index(["process", "op"])["time"]
    completed = ops[ops["type"] != "invoke"].groupby(["process", "op"])["time"].min()
    joined = invoked.to_frame("invoke").join(completed.to_frame("done"), how="inner")
    early = joined[joined["done"] < joined["invoke"]]
    if len(early):
        process, op = early.index[0]
        problems.append(f"{len(early)} completion(s) recorded before their invoke, e.g. {process} op {op}")
    return problems


def summarize(run_dir: str | Path) -> dict[str, Any]:
    frame = load_history(run_dir)
    ops = frame[frame["process"] != "nemesis"] if not frame.empty else frame
    done = ops[ops["type"] != "invoke"]
    by_type = done["type"].value_counts().to_dict() if not done.empty else {}
    cross = done[done["cross_tenant"].eq(True)] if "cross_tenant" in done else done.iloc[0:0]
    created = done[(done["f"] == "create_tenant") & (done["type"] == "ok")]["tenant"].nunique() if not done.empty else 0
    return {
        "files": int(frame["source"].nunique()) if not frame.empty else 0,
        "invokes": int((ops["type"] == "invoke").sum()) if not ops.empty else 0,
        "ok": int(by_type.get("ok", 0)), "fail": int(by_type.get("fail", 0)), "info": int(by_type.get("info", 0)),
        "pairing_problems": pairing_problems(frame) if not frame.empty else [],
        "tenants_created": int(created),
        "cross_tenant_refused": int((cross["type"] == "fail").sum()),
        "cross_tenant_accepted": int((cross["type"] == "ok").sum()),
        "cross_tenant_unknown": int((cross["type"] == "info").sum()),
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"history: {summary['invokes']} operations in {summary['files']} file(s): ok {summary['ok']}, "
             f"fail {summary['fail']}, info {summary['info']}; tenants created {summary['tenants_created']}",
             f"cross-tenant attempts: refused {summary['cross_tenant_refused']}, "
             f"ACCEPTED {summary['cross_tenant_accepted']}, unknown {summary['cross_tenant_unknown']}"]
    problems = summary["pairing_problems"]
    lines.append("pairing: every invoke has exactly one completion" if not problems
                 else "pairing PROBLEMS: " + "; ".join(problems))
    return "\n".join(lines)


def nothing_recorded(summary: dict[str, Any], users: int) -> str | None:
    """The one-line error for a run that started ``users`` users and recorded no operation at all (a worker
    that crashed before its first request, a generator that never ran): exit status 2, not a quiet 0.
    None when the run recorded something or was asked for no user."""
    if users <= 0 or summary["invokes"] > 0:
        return None
    return (f"the load recorded no operation although {users} user(s) were started: the users never ran "
            "(see the worker logs in the run folder's locust/ and the console above)")
