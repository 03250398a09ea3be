"""``tier7 testbed up|status|down`` for the foreign kinds (``--kind etcd|redis-sentinel``, issue 14): start
the real servers on loopback and leave them running (PIDs in ``<dir>/foreign.json``), show their topology,
stop them by PID."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from .etcd import EtcdTarget
from .foreign import STATE_FILE
from .redis_sentinel import RedisSentinelTarget

DRIVERS: dict[str, Any] = {"etcd": EtcdTarget, "redis-sentinel": RedisSentinelTarget}


def open_running(directory: Path) -> Any:
    """The driver of the foreign cluster whose ``foreign.json`` is in ``directory``."""
    try:
        kind = json.loads((Path(directory) / STATE_FILE).read_text())["kind"]
        return DRIVERS[kind].open(directory)
    except (OSError, ValueError, KeyError) as exc:
        raise Tier7Error(f"{directory}: no readable {STATE_FILE} of a foreign cluster ({exc})") from None


def _table(target: Any) -> str:
    views = target.observe()
    lines = [f"{'member':<10} {'group':<8} {'region':<9} {'role':<10} url"]
    for node in target.nodes():
        role = views.get(node.group, {}).get("members", {}).get(node.name, "?")
        lines.append(f"{node.name:<10} {node.group:<8} {node.region:<9} {role:<10} {node.url}")
    lines += [f"{group}: leader {view['leader']}  term {view['term']}" for group, view in views.items()]
    return "\n".join(lines)


def foreign_command(action: str, kind: str, directory: Path | None, timeout: float) -> int:
    if action == "up":
        folder = Path(directory or Path("results") / kind)
        started = time.monotonic()
        target = DRIVERS[kind].create(folder)
        print(f"starting {kind} in {target.dir} ...", flush=True)
        try:
            target.start(timeout=timeout)
        except BaseException:
            target.stop()
            raise
        print(f"up in {time.monotonic() - started:.1f}s ({target.summary})\n")
        print(_table(target))
        print(f"\nstop with: tier7 testbed down --target {folder}")
        return 0
    if directory is None:
        raise Tier7Error("give the foreign cluster's folder with --target DIR")
    target = open_running(directory)
    running = target.running()
    if action == "status":
        print(f"{len(running)}/{len(target.procs.argv)} {target.kind} processes running in {target.dir}")
        print(_table(target))
        return 0 if len(running) == len(target.procs.argv) else 1
    if action == "down":
        target.stop()
        print(f"stopped {len(running)} {target.kind} process(es) in {target.dir}")
        return 0
    return 1
