"""The transport phase (criterion ``transport``, issue 13): writes forwarded across one region pair while
latency is added between the two regions (every proxied link, TCP and UDP), then removed.

Timeline, plan [transport]: ``workers`` writers through an entry node of region A for keys of a group led
from region B (the path is computed by the harness: tier7/transport_route.py); once their answers name
``h2`` (the steady state, ``steady_from``) ``steady_s`` more; add
``added_rtt_ms`` of round trip between A and B; keep writing until answers name ``h3`` (at most
``switch_max_s`` x 2) and ``hold_s`` more; remove the latency; keep writing until answers name ``h2`` again
(same bound) and ``after_s`` more. Then every acknowledged write is read back (linearizable GET) and the
nodes' ``transport_switch`` log lines are collected. Each row records what the answer itself said
(``transport``), so the judge (analysis/criteria/transport.py) decides from the harness's own evidence and
checks the logs against it. Facts: facts/transport.json (times: monotonic ns and wall seconds).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ...contract import ContractClient
from ...errors import Tier7Error
from ...history import now_ns
from ...targets.base import Capability
from ...transport_route import Route, find_route
from ..context import RunContext

PHASE = "transport"
TENANT = "verify-transport"
LOG_EVENT = "transport_switch"
SWITCH_FIELDS = ("ts", "pair", "from", "to", "rtt", "loss", "reason")
RETRY_EVENT = "forward_retry"
RETRY_FIELDS = ("ts", "pair", "member", "group", "op", "error")
READ_WORKERS = 8


def transport_available(run_dir: Path) -> bool:
    """Whether the target's ``/v1/config`` (``target/config.json``) offers ``adaptive_transport``."""
    try:
        feature = json.loads((Path(run_dir) / "target" / "config.json").read_text())["features"]["adaptive_transport"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(feature.get("available", feature.get("enabled"))) if isinstance(feature, dict) else bool(feature)


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {}
    missing = [c.value for c in (Capability.NETWORK, Capability.LOGS) if c not in ctx.target.capabilities]
    if missing:
        facts["not_applicable"] = f"target {ctx.target.name!r} lacks: {', '.join(missing)}"
    elif not transport_available(ctx.run_dir):
        facts["not_applicable"] = (f"target {ctx.target.name!r} does not offer an adaptive transport (its "
                                   "/v1/config lists no available \"adaptive_transport\" feature)")
    if facts:
        ctx.record(PHASE, facts)
        return
    try:
        _run(ctx, facts)
    except Tier7Error as exc:
        facts["error"] = str(exc)
    finally:
        ctx.record(PHASE, facts)


class Writers:
    """``count`` threads writing unique keys of the route's group until stopped; rows in write order."""

    def __init__(self, route: Route, count: int, keys_each: int) -> None:
        self.route = route
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        keys = route.keys(f"xp-{now_ns()}", count * keys_each)
        self.threads = [threading.Thread(target=self._write, args=(keys[i::count],), daemon=True)
                        for i in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _write(self, keys: list[str]) -> None:
        with httpx.Client(timeout=10.0) as client:
            for index, key in enumerate(keys):  # bounded by the key list; normally stopped long before
                if self.stop.is_set():
                    return
                row = self.route.put(client, key, f"v{index}-{key}")
                with self.lock:
                    self.rows.append(row)

    def since(self, t_ns: int) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.rows if r["t_ns"] >= t_ns]

    def finish(self, timeout_s: float) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout_s)


def _wait_for(writers: Writers, since_ns: int, protocol: str, bound_s: float) -> float | None:
    """Seconds until the last 3 answered writes started after ``since_ns`` all name ``protocol``."""
    deadline = time.monotonic() + bound_s
    for _ in range(int(bound_s / 0.05) + 2):  # bounded; the deadline ends it
        rows = [r for r in writers.since(since_ns) if r.get("transport")]
        if len(rows) >= 3 and all(r["transport"] == protocol for r in rows[-3:]):
            return (now_ns() - since_ns) / 1e9
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return None


def _run(ctx: RunContext, facts: dict[str, Any]) -> None:
    plan = ctx.plan["transport"]
    network = ctx.target.network()
    with httpx.Client(timeout=10.0) as client:
        route = find_route(ctx.target, client, str(plan["region_a"]), str(plan["region_b"]), TENANT, any_pair=True)
    a, b = route.pair.split("/")
    ctx.tokens[TENANT] = route.token
    facts.update(pair=route.pair, entry=route.entry.name, group=route.group, leader=route.leader,
                 added_rtt_ms=float(plan["added_rtt_ms"]), workers=int(plan["workers"]), started_wall=time.time())
    links = network.links_between(a, b)
    facts["links"] = sorted({f"{link.kind}/{link.protocol}" for link in links})
    bound_s = 2 * float(plan["switch_max_s"])
    writers = Writers(route, int(plan["workers"]), int(plan["keys_per_worker"]))
    ctx.progress.set_phase(f"transport: writes {route.pair} on the baseline link")
    writers.start()
    try:
        # The steady state: the pair's answers on h2 (a pair may start on h3 while a fresh cluster settles),
        # then steady_s of writes on it; the judge reads the steady state from steady_from on.
        facts["steady_h2_after_s"] = _wait_for(writers, now_ns(), "h2", bound_s)
        facts["steady_from"] = {"t_ns": now_ns(), "wall": time.time()}
        time.sleep(float(plan["steady_s"]))  # a span of load, not a wait for something
        ctx.progress.set_phase(f"transport: +{plan['added_rtt_ms']} ms between {a} and {b}")
        facts["injected"] = {"t_ns": now_ns(), "wall": time.time()}
        network.add_latency(links, float(plan["added_rtt_ms"]))
        try:
            facts["seen_h3_after_s"] = _wait_for(writers, facts["injected"]["t_ns"], "h3", bound_s)
            time.sleep(float(plan["hold_s"]))
        finally:
            network.remove_latency(links)
            facts["removed"] = {"t_ns": now_ns(), "wall": time.time()}
        ctx.progress.set_phase(f"transport: latency removed between {a} and {b}")
        facts["seen_h2_after_s"] = _wait_for(writers, facts["removed"]["t_ns"], "h2", bound_s)
        time.sleep(float(plan["after_s"]))
    finally:
        writers.finish(15.0)
        facts["stopped"] = {"t_ns": now_ns(), "wall": time.time()}
    facts["requests"] = [{k: r.get(k) for k in ("t_ns", "wall", "status", "transport", "latency_ms", "error")}
                         for r in writers.rows]
    ctx.progress.set_phase("transport: reading back the acknowledged writes")
    facts["read_back"] = _read_back(ctx, route, [r for r in writers.rows if r.get("status") == 200])
    facts["switch_log"] = _log_lines(ctx, facts["started_wall"] - 1.0, LOG_EVENT, SWITCH_FIELDS)
    # forwarded requests whose connection broke under them and that the node retried: invisible to the
    # writers, but a switch must not cut requests in flight (the judge counts these around each switch)
    facts["retry_log"] = _log_lines(ctx, facts["started_wall"] - 1.0, RETRY_EVENT, RETRY_FIELDS)


def _read_back(ctx: RunContext, route: Route, acked: list[dict[str, Any]]) -> dict[str, Any]:
    """Linearizable read of every acknowledged write through the group's own nodes; the ones that differ."""
    members = [n for n in ctx.nodes() if n.group == route.group] or [route.entry]
    lost: list[dict[str, Any]] = []
    checked = 0
    lock = threading.Lock()

    def read(part: list[dict[str, Any]]) -> None:
        nonlocal checked
        with httpx.Client(timeout=10.0) as client:
            for index, row in enumerate(part):
                node = members[index % len(members)]
                try:
                    answer = ContractClient(node.url, route.token, client=client).get(row["key"], tenant=route.tenant)
                    value = answer.body.get("value") if answer.status == 200 else None
                    status = answer.status
                except (Tier7Error, httpx.HTTPError) as exc:
                    value, status = None, f"{exc.__class__.__name__}"
                with lock:
                    checked += 1
                    if value != row["value"]:
                        lost.append({"key": row["key"], "written": row["value"], "read": value, "status": status})

    threads = [threading.Thread(target=read, args=(acked[i::READ_WORKERS],)) for i in range(READ_WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120.0)
    return {"acknowledged": len(acked), "checked": checked, "lost": lost}


def _log_lines(ctx: RunContext, since_wall: float, name: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every node's log lines of event ``name`` since ``since_wall`` (wall seconds), with ``fields``."""
    found: list[dict[str, Any]] = []
    for node, path in sorted(ctx.target.log_files().items()):
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if name not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == name and float(entry.get("ts", 0)) >= since_wall:
                found.append({"node": node, "region": entry.get("region"), **{k: entry.get(k) for k in fields}})
    return found
