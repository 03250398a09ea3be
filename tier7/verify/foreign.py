"""`tier7 verify --target etcd|redis-sentinel`: the verification run on a foreign target (issue 14).

A foreign driver (tier7/targets/etcd.py, redis_sentinel.py) speaks no HTTP contract, so the runner uses these
instead of the contract-bound steps: ``open_target`` starts the real servers inside the run folder;
``set_up`` saves the node list and samples the driver's ``Topology`` into ``topology.jsonl`` (the format of
tier7/sampler.py); the ``failover``, ``load`` and ``final-read`` phases run the recorded workload of
tier7/verify/foreign_load.py through the driver's ``KvClient`` (history in the same format as every other
writer) and its nemesis through ``ProcessControl``; a driver with the ``federation`` capability (etcd: client-
side federation over independent clusters) also runs the federation phase of tier7/verify/foreign_federation.py
and has its ring copied to target/ring.json. Phases that need the contract (preset, tenants, crdt, contract)
are not run: their criteria declare capabilities the driver lacks and are judged NOT APPLICABLE with the
capability named. The verdicts come from the same engine (``analysis.judge``).
"""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from ..runfolder import copy_logs, write_json
from ..sampler import TOPOLOGY_FILE
from ..targets.base import Capability
from ..targets.capabilities import speaks_contract
from ..targets.etcd import EtcdTarget
from ..targets.foreign import STATE_FILE
from ..targets.foreigncli import open_running  # noqa: F401 - the runner opens running clusters through here
from ..targets.redis_sentinel import RedisSentinelTarget
from ..waiting import DeadlineExceeded, wait_until
from . import foreign_federation, foreign_load
from .context import RunContext

KINDS: dict[str, Any] = {"etcd": EtcdTarget, "redis-sentinel": RedisSentinelTarget}
PROFILE_FILE = Path(__file__).with_name("foreign.toml")
PROFILE_ENV = "TIER7_FOREIGN_PROFILE"  # another profile file of the same shape (tests: shorter schedules)
SCHEDULE_ENV = "TIER7_FOREIGN_SCHEDULE"  # another table of the profile as the schedule (e.g. redis-sentinel-kills)
START_TIMEOUT_S = 60.0


def profile(kind: str) -> dict[str, Any]:
    """The workload table and the kind's schedule table of foreign.toml."""
    path = Path(os.environ.get(PROFILE_ENV) or PROFILE_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Tier7Error(f"foreign target profile {path}: {exc}") from None
    table = os.environ.get(SCHEDULE_ENV) or kind
    if table not in data:
        raise Tier7Error(f"foreign target profile {path}: no schedule table [{table}]")
    return {"workload": data["workload"], "schedule": data[table], "schedule_name": table}


def is_foreign(target: Any) -> bool:
    return not speaks_contract(target)


def is_running_folder(value: str) -> bool:
    return (Path(value) / STATE_FILE).is_file()


def open_target(kind: str, run_dir: Path) -> Any:
    """Lay out and start the ``kind`` cluster in ``<run>/<kind>``; stops what it started on failure."""
    target = KINDS[kind].create(run_dir / kind)
    target.discard_data = True  # member data is not evidence (logs are copied); etcd's WALs are 64 MB each
    try:
        target.start(timeout=START_TIMEOUT_S)
    except BaseException:
        target.stop()
        raise
    return target


class ForeignSampler(threading.Thread):
    """The driver's ``observe()`` every ``interval`` s into ``topology.jsonl`` (tier7/sampler.py's line
    format, stamped at the observation's midpoint), at most ``max_seconds``."""

    def __init__(self, target: Any, run_dir: Path, interval: float = 0.1, max_seconds: float = 3600.0) -> None:
        super().__init__(name="foreign-topology-sampler", daemon=True)
        self.target, self.interval, self.max_seconds = target, interval, max_seconds
        self.path = Path(run_dir) / TOPOLOGY_FILE
        self._stop_event = threading.Event()
        self.samples = 0

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with open(self.path, "a", encoding="utf-8", buffering=1) as out:
            while not self._stop_event.is_set() and time.monotonic() < deadline:
                before_ns, wall_before = time.monotonic_ns(), time.time()
                try:
                    groups = self.target.observe()
                except Exception:  # noqa: BLE001 - a sample that failed is skipped, never fatal
                    groups = {}
                after_ns = time.monotonic_ns()
                if groups:
                    out.write(json.dumps({"time": (before_ns + after_ns) // 2,
                                          "wall": round((wall_before + time.time()) / 2, 6),
                                          "half_width_ns": (after_ns - before_ns) // 2, "groups": groups}) + "\n")
                    self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def set_up(ctx: RunContext) -> ForeignSampler:
    """Node list and first topology into the run folder; start the topology sampler."""
    nodes = [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in ctx.nodes()]
    write_json(ctx.run_dir / "target" / "nodes.json", nodes)
    if hasattr(ctx.target, "ring_params"):  # client-side federation: the harness's ring, judged from this copy
        write_json(ctx.run_dir / "target" / "ring.json", ctx.target.ring_params())
    write_json(ctx.run_dir / "target" / "config.json", {"kind": ctx.target.kind, "summary": ctx.target.summary,
                                                         "profile": profile(ctx.target.kind)})
    ctx.record("topology", {"before": topology_facts(ctx)})
    ctx.record("region-rtt", {"not_applicable": f"target {ctx.target.name!r} has no simulated regions"})
    sampler = ForeignSampler(ctx.target, ctx.run_dir)
    sampler.start()
    return sampler


def topology_facts(ctx: RunContext) -> dict[str, Any]:
    """The driver's view in the shape of tier7/topology.py ``Topology.as_dict`` (what the report reads)."""
    regions = {n.name: n.region for n in ctx.nodes()}
    out = {}
    for group, view in ctx.target.observe().items():
        out[group] = {"leader": view["leader"], "term": view["term"], "members": {
            m: {"region": regions.get(m), "role": None if role == "down" else role, "term": None,
                "commit_index": None, "reachable": role != "down"} for m, role in view["members"].items()}}
    return out


def finish(ctx: RunContext) -> None:
    """Topology after, and every member's log copied (redacted) into the run folder."""
    ctx.record("topology", {**ctx.recorded.get("topology", {}), "after": topology_facts(ctx)})
    converted = ctx.target.json_logs(ctx.target.dir / "logs-json")
    copy_logs(ctx.run_dir, converted, ctx.secrets(), consoles={})


def phase(target: Any, name: str, default: Callable[[RunContext], None]) -> Callable[[RunContext], None] | None:
    """The phase to run for ``name`` on ``target``: ``default`` on contract targets; on a foreign one its
    own workload phase, or None (not run: the criteria needing it are NOT APPLICABLE by capability)."""
    if not is_foreign(target):
        return default
    phases = {"failover": run_failover, "load": run_load, "final-read": run_final_read}
    if Capability.FEDERATION in target.capabilities:
        phases["federation"] = foreign_federation.run
    return phases.get(name)


def run_failover(ctx: RunContext) -> None:
    spec = profile(ctx.target.kind)
    facts: dict[str, Any] = {"nemesis": "harness", "schedule": spec["schedule"], "experiments": [], "kills": []}
    try:
        facts.update(foreign_load.run(ctx, spec, faults=True))
        facts["load_started"] = True
    finally:
        ctx.record("failover", facts)


def run_load(ctx: RunContext) -> None:
    if (ctx.recorded.get("failover") or {}).get("load_started"):
        ctx.record("load", {"satisfied_by": "failover", "note": "the failover phase's load is the evidence"})
        return
    facts: dict[str, Any] = {}
    try:
        facts.update(foreign_load.run(ctx, profile(ctx.target.kind), faults=False))
    except Exception as exc:  # noqa: BLE001 - recorded; the judges then say UNKNOWN, never PASS
        facts["error"] = f"{exc.__class__.__name__}: {exc}"
    ctx.record("load", facts)


def settled(target: Any) -> bool:
    """In every group, one leader every member agrees on, no member down (before the final read: a demoted
    Redis primary must have resynced from the new one)."""
    for view in target.observe().values():
        members = view["members"]
        leaders = [m for m, role in members.items() if role == "leader"]
        if view["leader"] is None or leaders != [view["leader"]] or "down" in members.values():
            return False
    return True


def run_final_read(ctx: RunContext) -> None:
    facts: dict[str, Any] = {}
    try:
        wait_until(lambda: settled(ctx.target), 30, 0.2, "the target to settle before the final read")
        facts["settled"] = True
    except DeadlineExceeded as exc:
        facts["settled"] = False
        facts["note"] = str(exc)
    keys = foreign_load.written_keys(ctx)
    unread = foreign_load.read_back(ctx, keys)
    facts.update({"keys": len(keys), "unread": [[ctx.target.name, k] for k in unread]})
    ctx.record("final-read", facts)
