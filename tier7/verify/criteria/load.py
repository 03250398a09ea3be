"""The plain load phase: the whole-run criteria (logs, linearizable, no-lost-writes) need operations to
judge, so a run that selects them and runs no failover load runs the recorded Locust load (kv profile):
at least ``[load] duration_s`` and until ``min_ok_operations`` were acknowledged (a slow or busy machine
still gathers the evidence floors' worth), at most ``max_duration_s``. When the failover phase already ran
its load, that load is the evidence and this phase only records so. Facts: facts/load.json."""

from __future__ import annotations

import time
from typing import Any

from ...waiting import DeadlineExceeded, wait_until
from ..context import RunContext
from ..loadrun import raise_exited, start_load, wait_for_ok

START_TIMEOUT_S = 90.0  # tenant creation and user start-up before the first acknowledged operations


def run(ctx: RunContext) -> None:
    failover = ctx.recorded.get("failover") or {}
    if failover.get("load_started"):
        ctx.record("load", {"satisfied_by": "failover", "note": "the failover phase's load is the evidence"})
        return
    load = ctx.plan["load"]
    duration, most = float(load["duration_s"]), float(load["max_duration_s"])
    wanted = int(load["min_ok_operations"])
    facts: dict[str, Any] = {"duration_s": duration, "users": load["users"], "min_ok_operations": wanted}
    ctx.progress.tail.poll()
    ok_before = ctx.progress.tail.ok
    ctx.progress.set_phase(f"load: >= {duration:g} s and >= {wanted} acknowledged operations")
    command = start_load(ctx, most + START_TIMEOUT_S)  # stopped here; the bound is a safety net
    started = time.monotonic()
    try:
        wait_for_ok(ctx, command, 1, START_TIMEOUT_S, "the load to get going")
        going = time.monotonic()
        wait_until(lambda: (ctx.progress.tail.poll() or True)
                   and time.monotonic() - going >= duration and ctx.progress.tail.ok - ok_before >= wanted
                   or not command.running() and raise_exited(command), most, 0.5,
                   f"{wanted} acknowledged operations of the load")
    except DeadlineExceeded as exc:
        if command.running():  # bounded by max_duration_s: the judges' evidence floors say if it is enough
            facts["note"] = str(exc)
        else:
            facts["error"] = f"{exc} ({command.tail(2)})"
    finally:
        facts["exit_status"] = command.interrupt()
        ctx.progress.tail.poll()
        facts["seconds"] = round(time.monotonic() - started, 1)
        facts["ok_operations"] = ctx.progress.tail.ok - ok_before
        ctx.record("load", facts)
