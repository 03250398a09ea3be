"""Per-key linearizability of the strong KV, each (tenant, key) a register with compare-and-set.

PASS: every key's history has a linearization (``analysis.checkers.wgl``). FAIL: some key has none; the
evidence names the operation that could not be placed, the register value the search had reached, the ops
linearized just before it and the ops concurrent with it (for the first ``DESCRIBED_KEYS`` illegal keys; the
others are named with their problem only). UNKNOWN: the search budget (``time_budget_s``,
analysis/plan.toml ``[linearizability]``) ran out before every key was decided. NOT APPLICABLE: no strong-KV
operations in the history. Operation semantics: ``analysis.checkers.register``.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from ..verdict import Status, Verdict
from .evidence import op_record, op_records, plain
from .register import CAS, READ, KeyHistory, kv_operations, split_by_key
from .wgl import DEAD, ILLEGAL, TIMEOUT, check_register

NAME = "linearizability"
# Illegal keys described in full (operation, register value, neighbours); the rest are only named. A broken
# target can make thousands of keys illegal, and each description costs a few ms of frame indexing.
DESCRIBED_KEYS = 50


def phantom_reads(history: KeyHistory) -> list[int]:
    """Positions of acknowledged reads of a value no operation on this key ever tried to write."""
    written = {a for k, a in zip(history.kind, history.arg, strict=True) if k != READ}
    written |= {n for k, n in zip(history.kind, history.new, strict=True) if k != READ}
    return [i for i, (k, a) in enumerate(zip(history.kind, history.arg, strict=True))
            if k == READ and a is not None and a not in written]


def _value_after(history: KeyHistory, prefix: tuple[int, ...], state: object) -> object:
    """The register's real value after ``prefix`` (the search may hold an unobserved value as DEAD)."""
    if state is not DEAD:
        return state
    last = next(i for i in reversed(prefix) if history.kind[i] != READ)
    return history.new[last] if history.kind[last] == CAS else history.arg[last]


def _evidence(ops: pd.DataFrame, history: KeyHistory, result: Any) -> dict[str, Any]:
    stuck = result.stuck_op
    item: dict[str, Any] = {"tenant": history.tenant, "key": history.key}
    if stuck is None:
        item["problem"] = "no linearization of this key's history"
        return item
    row = history.rows[stuck]
    item["problem"] = "no linearization: this operation cannot be placed after any order of the ones before it"
    item["operation"] = op_record(ops, row)
    item["register_value_before"] = plain(_value_after(history, result.prefix, result.stuck_state))
    item["linearized_before"] = op_records(ops, [history.rows[i] for i in result.prefix[-5:]], 5)
    start, end = history.invoke[stuck], history.complete[stuck]
    concurrent = [history.rows[i] for i in range(len(history)) if i != stuck
                  and history.invoke[i] <= (end if end is not None else float("inf"))
                  and (history.complete[i] is None or history.complete[i] >= start)]
    item["concurrent"] = op_records(ops, concurrent, 10)
    return item


def check_linearizability(ops: pd.DataFrame, time_budget_s: float = 60.0, initial: object = None) -> Verdict:
    """Check every (tenant, key) register; see the module doc for what each verdict means."""
    kv = kv_operations(ops)
    if kv.empty:
        return Verdict(NAME, Status.NOT_APPLICABLE, "no strong-KV operations (put/get/cas/delete) in the history")
    started = time.monotonic()
    deadline = started + time_budget_s
    histories = split_by_key(kv)
    illegal: list[dict[str, Any]] = []
    undecided: list[str] = []
    steps = 0
    for history in histories:
        if time.monotonic() > deadline:
            undecided.append(f"{history.tenant}/{history.key}")
            continue
        described = len(illegal) < DESCRIBED_KEYS
        phantoms = phantom_reads(history)
        if phantoms:
            item = {"tenant": history.tenant, "key": history.key,
                    "problem": "read a value that no operation on this key ever wrote"}
            if described:
                item.update(operation=op_record(ops, history.rows[phantoms[0]]),
                            reads=op_records(ops, [history.rows[i] for i in phantoms], 10))
            illegal.append(item)
            continue
        result = check_register(history, deadline, initial)
        steps += result.steps
        if result.outcome == ILLEGAL:
            illegal.append(_evidence(ops, history, result) if described else
                           {"tenant": history.tenant, "key": history.key,
                            "problem": "no linearization (described only for the first "
                                       f"{DESCRIBED_KEYS} illegal keys)"})
        elif result.outcome == TIMEOUT:
            undecided.append(f"{history.tenant}/{history.key}")
    figures = {"keys": len(histories), "operations": int(len(kv)), "info_operations": int((kv["type"] == "info").sum()),
               "keys_illegal": len(illegal), "keys_undecided": len(undecided), "search_steps": steps,
               "seconds": round(time.monotonic() - started, 3), "time_budget_s": time_budget_s}
    if illegal:
        return Verdict(NAME, Status.FAIL, f"{len(illegal)} of {len(histories)} key(s) have no linearization",
                       illegal, figures)
    if undecided:
        return Verdict(NAME, Status.UNKNOWN,
                       f"search budget of {time_budget_s:g} s ran out: {len(undecided)} of {len(histories)} key(s) "
                       "undecided (none found illegal)", [{"undecided_keys": undecided[:50]}], figures)
    return Verdict(NAME, Status.PASS, "", [], figures)
