"""The recorded workload and nemesis of a foreign target (tier7/verify/foreign.py), numbers in foreign.toml.

Workers (threads, one history process each) run a random mix over shared registers ``reg-<n>`` (get, put of
a unique value, cas from the value last read, delete) and puts to fresh write-once keys ``once-<worker>-<n>``
(flag ``once``: a lost acknowledgement there cannot hide behind a later write). The nemesis, when asked,
injects the kind's fault ``faults`` times through the driver's ``ProcessControl`` and records it as
``nemesis`` events on the history's clock (fault: invoke/ok with ``node``, ``group``, ``injected_ns``; heal:
``restart-node`` / ``resume-node``), so analysis/windows.py sees the windows exactly as it sees Chaos
Toolkit's. Bounded: ``max_operations`` in all, and the schedule's length plus a margin in time.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from ..history import HISTORY_DIR, read_events
from ..waiting import DeadlineExceeded, wait_until
from . import interrupt, lanes
from .context import RunContext

NEMESIS = "nemesis"
READ_ATTEMPTS = 3
READ_LANES = 8


class Workers:
    """``workers`` client threads until ``stop()``, the deadline or ``max_operations``."""

    def __init__(self, ctx: RunContext, spec: dict[str, Any], deadline_s: float) -> None:
        self.ctx, self.spec = ctx, spec
        self.mix = spec["schedule"]["mix"]
        self.pace_s = float(spec["schedule"].get("pace_s", 0.0))  # think time between a worker's operations
        self.keys = int(spec["workload"]["keys"])
        self.budget = int(spec["workload"]["max_operations"])
        self.deadline = time.monotonic() + deadline_s
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.done = 0
        self.ok = 0
        self.ok_by_group: dict[str, int] = {}  # acknowledged operations per group that served them
        self.threads = [threading.Thread(target=self._worker, args=(i,), name=f"foreign-worker-{i}", daemon=True)
                        for i in range(int(spec["workload"]["workers"]))]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _more(self) -> bool:
        with self.lock:
            if self.stop_event.is_set() or time.monotonic() > self.deadline or self.done >= self.budget:
                return False
            self.done += 1
            return True

    def _worker(self, index: int) -> None:
        rng = random.Random(self.ctx.seed * 1000 + index)
        client = self.ctx.target.kv_client(self.ctx.history, f"f{index}", index)
        names, weights = list(self.mix), list(self.mix.values())
        last: dict[str, str | None] = {}
        count = 0
        try:
            while self._more():
                count += 1
                op = rng.choices(names, weights)[0]
                key = f"reg-{rng.randrange(self.keys)}"
                value = f"w{index}-{count}"
                if op == "get":
                    kind = client.get(key)
                elif op == "put":
                    kind = client.put(key, value)
                elif op == "cas":
                    kind = client.cas(key, last.get(key), value)
                elif op == "delete":
                    kind = client.delete(key)
                else:
                    kind = client.put(f"once-{index}-{count}", value, once=True)
                if op == "get" and kind == "ok":
                    last[key] = client.last
                if kind == "ok":
                    group = str(getattr(client.backend, "group", None))
                    with self.lock:
                        self.ok += 1
                        self.ok_by_group[group] = self.ok_by_group.get(group, 0) + 1
                if kind == "fail" and op != "cas":
                    time.sleep(0.05)  # not applied (no primary, member down): do not spin on a dead entry
                elif self.pace_s:
                    time.sleep(self.pace_s)
        finally:
            client.close()

    def ok_count(self) -> int:
        with self.lock:
            return self.ok

    def ok_groups(self) -> dict[str, int]:
        with self.lock:
            return dict(self.ok_by_group)


def _nemesis_event(ctx: RunContext, f: str, node: str, group: str, action: Any, heal: bool = False) -> dict[str, Any]:
    """Run ``action()`` recorded as a nemesis activity; returns what happened (applied, error)."""
    value = {"activity": "action", "node": node, "group": group, "heal": heal, "source": "tier7 verify nemesis"}
    op = ctx.history.invoke(NEMESIS, f, value=value, node=node, group=group)
    injected = time.monotonic_ns()
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - a fault that did not take effect is recorded as not applied
        ctx.history.complete("fail", NEMESIS, op, f, value={**value, "applied": False}, error=str(exc),
                             node=node, group=group)
        return {"applied": False, "error": str(exc)}
    ctx.history.complete("ok", NEMESIS, op, f, value={**value, "applied": True, "injected_ns": injected},
                         node=node, group=group)
    return {"applied": True}


def fault_plan(schedule: dict[str, Any], groups: list[str]) -> list[tuple[str, str]]:
    """(fault, group) of each of the schedule's ``faults`` injections: ``fault`` is one name or a list taken
    in turn; the groups are hit in turn (a kill per group before any group is hit twice)."""
    names = schedule["fault"] if isinstance(schedule["fault"], list) else [schedule["fault"]]
    return [(str(names[i % len(names)]), groups[i % len(groups)]) for i in range(int(schedule["faults"]))]


def _one_fault(ctx: RunContext, schedule: dict[str, Any], fault: str, group: str,
               workers: Workers | None = None) -> dict[str, Any]:
    target = ctx.target
    leader = target.leader(group)
    record: dict[str, Any] = {"group": group, "fault": fault, "node": leader, "leader_before": leader}
    if leader is None:
        record.update(exit_status=1, error="no leader/primary to hit")
        return record
    hit = target.kill_node if fault.startswith("kill") else target.pause_node
    heal_name, heal = (("restart-node", target.start_node) if fault.startswith("kill")
                       else ("resume-node", target.resume_node))
    started = time.monotonic()
    ok_before = workers.ok_groups() if workers else {}
    outcome = _nemesis_event(ctx, fault, leader, group, lambda: hit(leader))
    if not outcome["applied"]:
        record.update(exit_status=1, error=outcome["error"])
        return record
    try:
        new = wait_until(lambda: (n := target.leader(group)) not in (None, leader) and n,
                         float(schedule["new_leader_timeout_s"]), 0.05, "a new leader/primary")
        record["leader_after"], record["new_leader_s"] = new, round(time.monotonic() - started, 3)
    except DeadlineExceeded as exc:
        record["leader_after"], record["error"] = None, str(exc)
    if workers and len(target.groups()) > 1:  # did the other groups keep serving while this one elected?
        ok_after = workers.ok_groups()
        record["others_ok_until_new_leader"] = {g: ok_after.get(g, 0) - ok_before.get(g, 0)
                                                for g in target.groups() if g != group}
    remaining = float(schedule["hold_s"]) - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)  # the schedule's fault length (a pause held this long), not a wait for a state
    healed = _nemesis_event(ctx, heal_name, leader, group, lambda: heal(leader), heal=True)
    record["healed"] = healed["applied"]
    record["exit_status"] = 0 if healed["applied"] and record.get("leader_after") else 1
    return record


def run(ctx: RunContext, spec: dict[str, Any], faults: bool) -> dict[str, Any]:
    """The workload, with the nemesis when ``faults``; returns the phase's facts."""
    schedule = spec["schedule"]
    count = int(schedule["faults"]) if faults else 0
    per_fault = float(schedule["before_s"]) + float(schedule["hold_s"]) + float(schedule["new_leader_timeout_s"])
    length = count * per_fault + float(schedule["after_s"]) if faults else float(schedule["plain_s"])
    workers = Workers(ctx, spec, length + 60.0)
    facts: dict[str, Any] = {"workers": len(workers.threads), "mix": schedule["mix"], "experiments": [], "kills": []}
    started = time.monotonic()
    workers.start()
    try:
        wait_until(lambda: workers.ok_count() > 0, 30, 0.1, "the first acknowledged operation")
        for index, (fault, group) in enumerate(fault_plan(schedule, list(ctx.target.groups())) if faults else []):
            ctx.progress.set_phase(f"failover: {fault} in {group} {index + 1}/{count} after "
                                   f"{schedule['before_s']} s of load")
            _load_for(float(schedule["before_s"]))
            record = _one_fault(ctx, schedule, fault, group, workers)
            facts["experiments"].append({"group": record["group"], "exit_status": record["exit_status"],
                                         "fault": record["fault"], "node": record["node"]})
            facts["kills"].append(record)
            wait_until(lambda: _healthy(ctx), float(schedule["new_leader_timeout_s"]) + 15, 0.1,
                       "every member back after the heal")
        tail = float(schedule["after_s"]) if faults else float(schedule["plain_s"])
        _load_for(tail)
        if not faults:  # the plain load also runs until the evidence floors' worth was acknowledged (bounded)
            wanted, most = int(schedule.get("plain_min_ok", 0)), float(schedule.get("plain_max_s", 0.0))
            end = started + most
            while workers.ok_count() < wanted and time.monotonic() < end and not interrupt.REQUESTED.is_set():
                _load_for(min(0.5, max(0.0, end - time.monotonic())))
    except DeadlineExceeded as exc:
        facts["error"] = str(exc)
    finally:
        workers.stop()
    facts.update(seconds=round(time.monotonic() - started, 1), operations=workers.done, ok_operations=workers.ok)
    return facts


def _load_for(seconds: float) -> None:
    """Let the load run ``seconds`` (the schedule's length); Ctrl-C ends it at once."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not interrupt.REQUESTED.is_set():
        interrupt.REQUESTED.wait(min(0.1, max(0.0, end - time.monotonic())))
    interrupt.check()


def _healthy(ctx: RunContext) -> bool:
    return all(view["leader"] is not None and "down" not in view["members"].values()
               for view in ctx.target.observe().values())


def written_keys(ctx: RunContext) -> list[str]:
    """Every key a write was invoked on in this run's history (the target's own tenant)."""
    keys: set[str] = set()
    for path in sorted((ctx.run_dir / HISTORY_DIR).glob("*.jsonl")):
        for event in read_events(path):
            if (event.get("type") == "invoke" and event.get("f") in ("put", "cas", "delete")
                    and event.get("tenant") == ctx.target.name and event.get("key") is not None):
                keys.add(event["key"])
    return sorted(keys)


def read_back(ctx: RunContext, keys: list[str]) -> list[str]:
    """Read every key once more (recorded, processes ``final-<lane>``); returns the keys never read back."""
    unread: list[str] = []
    lock = threading.Lock()

    def read(client: Any, key: str) -> None:
        if not any(client.get(key) == "ok" for _ in range(READ_ATTEMPTS)):
            with lock:
                unread.append(key)

    lanes.drain(keys, READ_LANES, lambda i: ctx.target.kv_client(ctx.history, f"final-{i}", i), read,
                join_timeout_s=120)
    return sorted(unread)
