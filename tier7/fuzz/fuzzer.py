"""The fuzz run: the fixed edge table, then Hypothesis-drawn cases (seeded), sent round-robin to one node
per group (a few connections each), every answer checked against the document (``check``), each valid
write read back (stateful: tenant created -> write -> read), a node that stops answering noticed, and
each distinct finding minimised and written as a curl line with the token redacted.

Bounded by a request count and a time (seconds), both from the plan (``[contract]``)."""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from .cases import Case, World, parsed, strategy
from .check import answer_errors, problems
from .curl import curl
from .document import Operation, operations, schema
from .edges import edge_cases
from .wire import Exchange, Wire

UNAVAILABLE = (503, 504)
RETRY_WAIT_S = 5.0     # seconds a 503/504 waits for the node to say "ok" before it is asked again
HEALTH_POLL_S = 0.1    # seconds between health polls
UNMINIMISED = {"no_answer", "node_down", "invalid_accepted", "valid_refused", "foreign_token_accepted",
               "read_back"}


@dataclass
class Budget:
    """``max_requests`` fuzz requests (read-backs not counted) within ``time_s`` seconds, each waiting at
    most ``timeout_s``; ``connections`` per node; up to ``findings`` findings minimised, each with at
    most ``minimise_requests`` extra requests."""

    max_requests: int = 2400
    time_s: float = 90.0
    timeout_s: float = 10.0
    connections: int = 2
    findings: int = 8
    minimise_requests: int = 40


@dataclass
class Node:
    name: str
    group: str
    url: str


@dataclass
class Tokens:
    """The secrets the cases use: tenant A's (own), tenant B's (other) and the admin token."""

    own: str
    other: str
    admin: str

    def header(self, kind: str, world: World) -> dict[str, str]:
        """The Authorization header of a token kind (cases.TOKEN_KINDS); derived forgeries keep the real
        token's shape (the harness does not assume any token format)."""
        last = self.own[-1]
        forged = self.own[:-1] + ("0" if last != "0" else "1")
        swapped = self.other.replace(world.other, world.tenant) if world.other in self.other else forged + "x"
        value = {"own": self.own, "other_own": self.other, "foreign": self.other, "admin": self.admin,
                 "forged": forged, "swapped": swapped, "garbage": "tok\u00e9n-that-no-one-issued"}.get(kind)
        if kind == "basic":
            return {"Authorization": "Basic Zm9vOmJhcg=="}
        if kind == "empty":
            return {"Authorization": "Bearer "}
        return {"Authorization": f"Bearer {value}"} if value is not None else {}


def draw_cases(operations_: list[Operation], world: World, count: int, seed: int) -> list[Case]:
    """``count`` cases drawn by Hypothesis from the document's strategies, reproducibly for ``seed``."""
    drawn: list[Case] = []
    if count <= 0:
        return drawn

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy(operations_, world))
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    return drawn[:count]


@dataclass
class Fuzzer:
    """One fuzz run against ``nodes`` (one per group)."""

    doc: dict[str, Any]
    nodes: list[Node]
    tokens: Tokens
    world: World
    budget: Budget
    seed: int
    stop: Callable[[], bool] = lambda: False  # e.g. Ctrl-C
    progress: Callable[[str], None] = lambda _: None
    observations: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    down: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ops = {op.id: op for op in operations(self.doc)}
        self.error_schema = schema(self.doc, "Error")  # any documented code
        self.lock = threading.Lock()
        self._examples: dict[tuple, dict[str, Any]] = {}

    # -- sending --

    def _headers(self, case: Case) -> dict[str, str]:
        return {**self.tokens.header(case.token, self.world), **case.headers}

    def exchange(self, wire: Wire, case: Case) -> Exchange:
        fresh = case.op in ("transport", "no_such_method", "no_such_path")
        return wire.send(case.method, case.path, self._headers(case), case.body, fresh=fresh)

    def judge(self, case: Case, answer: Exchange) -> list[str]:
        return problems(case, self.ops.get(case.op), answer.status, answer.body, answer.content_type,
                        self.error_schema, answer.error)

    def _readback(self, wire: Wire, case: Case) -> str | None:
        """The stateful check: a valid PUT that answered 200 must read back (linearizable GET, same node,
        same token). Returns a problem description, or None."""
        answer = wire.send("GET", case.path, self.tokens.header(case.token, self.world), None)
        try:
            value = json.loads(answer.body).get("value") if answer.status == 200 else None
        except (ValueError, AttributeError):
            value = None
        if answer.status != 200 or value != case.readback:
            return f"read back {answer.status}: {str(value)[:80]!r}, wrote {str(case.readback)[:80]!r}"
        return None

    def _alive(self, node: Node, wire: Wire, deadline_s: float = 5.0, ready: bool = False) -> bool:
        """Does ``node`` still answer GET /v1/health (polled until ``deadline_s`` seconds)? With ``ready``,
        the answer must also say ``"status": "ok"`` (its group has a leader and a quorum)."""
        end = time.monotonic() + deadline_s
        while True:
            answer = wire.send("GET", "/v1/health", {}, None, fresh=True)
            if answer.status == 200 and (not ready or _says_ok(answer.body)):
                return True
            if time.monotonic() > end:
                return False
            time.sleep(HEALTH_POLL_S)

    def _one(self, node: Node, wire: Wire, index: int, case: Case) -> None:
        answer = self.exchange(wire, case)
        transient: list[int] = []
        if answer.status in UNAVAILABLE:
            # 503 unavailable / 504 outcome unknown are documented answers of a group that could not
            # commit in time (an overloaded machine, not bad input): asked once more when the node says its
            # group is ready again (bounded wait); only an answer that stays 5xx is a finding. A 500 is never
            # asked again: it is a bug.
            self._alive(node, Wire(node.url, self.budget.timeout_s), RETRY_WAIT_S, ready=True)
            transient.append(answer.status)
            answer = self.exchange(wire, case)
        found = self.judge(case, answer)
        detail = ""
        if case.readback is not None and answer.status == 200:
            detail = self._readback(wire, case) or ""
            if detail:
                found.append("read_back")
        if answer.status is None and not self._alive(node, Wire(node.url, self.budget.timeout_s)):
            with self.lock:
                self.down[node.name] = f"stopped answering after case {index} ({case.label}): {answer.error}"
            found.append("node_down")
        code = None
        if answer.status is not None and "json" in answer.content_type:
            try:
                error = json.loads(answer.body).get("error")
                code = error.get("code") if isinstance(error, dict) else None
            except (ValueError, AttributeError):
                code = None
        record = {"i": index, "node": node.name, **case.describe(), "status": answer.status, "code": code,
                  "ms": round(answer.ms, 2), "problems": found}
        if answer.error:
            record["error"] = answer.error
        if transient:
            record["transient"] = transient
        if detail:
            record["detail"] = detail
        with self.lock:
            self.observations.append(record)
            for problem in found:
                key = (problem, case.op, answer.status)
                if key not in self._examples and len(self._examples) < self.budget.findings:
                    self._examples[key] = {"problem": problem, "index": index, "node": node, "case": case,
                                           "answer": answer, "detail": detail}

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        fixed = edge_cases(list(self.ops.values()), self.world)[: self.budget.max_requests]
        # Drawn before sending: Hypothesis in a thread beside the senders ran 10x slower (measured)
        drawn = draw_cases(list(self.ops.values()), self.world, self.budget.max_requests - len(fixed), self.seed)
        generated_s = time.monotonic() - started
        deadline = time.monotonic() + self.budget.time_s  # the time budget is the sending's
        skipped = {"time": 0, "node_down": 0, "stopped": 0}
        self._send(fixed, 0, deadline, skipped)
        self._send(drawn, len(fixed), deadline, skipped)
        cases = fixed + drawn
        sent_s = time.monotonic() - started
        self.observations.sort(key=lambda o: o["i"])
        alive = {n.name: n.name not in self.down and self._alive(n, Wire(n.url, self.budget.timeout_s))
                 for n in self.nodes}
        for name, ok in alive.items():
            if not ok and name not in self.down:
                self.down[name] = "does not answer GET /v1/health after the fuzz run"
        self.progress(f"contract: {len(self.observations)} requests sent; minimising findings")
        self.findings = [self._finding(example) for example in self._examples.values()]
        return {
            "seed": self.seed, "budget": vars(self.budget), "world": vars(self.world),
            "nodes": [vars(n) for n in self.nodes], "document_operations": sorted(self.ops),
            "documented_statuses": {op.id: sorted(op.responses) for op in self.ops.values()},
            "cases_planned": len(cases), "cases_fixed": len(fixed), "requests": len(self.observations),
            "skipped": skipped, "generation_s": round(generated_s, 3), "duration_s": round(sent_s, 3),
            "alive_after": alive, "down": self.down, "findings": self.findings, "observations": self.observations,
        }

    def _send(self, cases: list[Case], first: int, deadline: float, skipped: dict[str, int]) -> None:
        """Send ``cases`` (numbered from ``first``) over every node's connections until done or ``deadline``
        (monotonic s). The calls on one key share a connection, so they go one at a time and a read-back
        sees its own write (keys spread over nodes and connections by a stable hash)."""
        lanes = [(node, k) for k in range(self.budget.connections) for node in self.nodes]
        queues: list[list[tuple[int, Case]]] = [[] for _ in lanes]
        for index, case in enumerate(cases, first):
            lane = zlib.crc32(case.space.encode("utf-8", "surrogatepass")) if case.space else index
            queues[lane % len(lanes)].append((index, case))

        def worker(node: Node, part: list[tuple[int, Case]]) -> None:
            wire = Wire(node.url, self.budget.timeout_s)
            try:
                for index, case in part:
                    reason = ("stopped" if self.stop() else "time" if time.monotonic() > deadline
                              else "node_down" if node.name in self.down else None)
                    if reason:
                        with self.lock:
                            skipped[reason] += 1
                        continue
                    self._one(node, wire, index, case)
            finally:
                wire.close()

        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [pool.submit(worker, node, queue) for (node, _), queue in zip(lanes, queues, strict=True)]
            for future in futures:
                future.result()

    # -- findings --

    def _finding(self, example: dict[str, Any]) -> dict[str, Any]:
        node: Node = example["node"]
        case: Case = example["case"]
        answer: Exchange = example["answer"]
        minimal, tries = case, 0
        if example["problem"] not in UNMINIMISED and node.name not in self.down:
            minimal, tries = self.minimise(node, case, example["problem"])
        out = {"problem": example["problem"], "op": case.op, "node": node.name, "case": case.describe(),
               "status": answer.status, "answer": answer.body[:300].decode("utf-8", "replace"),
               "schema_errors": answer_errors(self.ops.get(case.op), answer.status, answer.body)
               if example["problem"] == "schema" else [],
               "detail": example["detail"] or (answer.error or ""),
               "curl": self.curl(node, case), "minimal_curl": self.curl(node, minimal), "minimise_requests": tries}
        return out

    def curl(self, node: Node, case: Case) -> str:
        headers = dict(case.headers)
        auth = self.tokens.header(case.token, self.world).get("Authorization", "")
        if auth and not auth.startswith("Bearer ") or auth == "Bearer ":
            headers = {"Authorization": auth, **headers}  # no secret in these
        has_token = auth.startswith("Bearer ") and auth != "Bearer "
        return curl(node.url, case.method, case.path, headers, case.body, case.token, has_token)

    def minimise(self, node: Node, case: Case, problem: str) -> tuple[Case, int]:
        """A smaller case showing the same problem: fields dropped, strings and keys cut (greedy, at most
        ``budget.minimise_requests`` requests)."""
        wire = Wire(node.url, self.budget.timeout_s)
        tries = 0
        try:
            improved = True
            while improved and tries < self.budget.minimise_requests:
                improved = False
                for candidate in shrink(case):
                    if tries >= self.budget.minimise_requests:
                        break
                    tries += 1
                    if problem in self.judge(candidate, self.exchange(wire, candidate)):
                        case, improved = candidate, True
                        break
        finally:
            wire.close()
        return case, tries


def _cuts(text: str) -> list[str]:
    half = len(text) // 2
    return [c for c in (text[:half], text[half:], text[1:], text[:-1]) if c != text] if text else []


def shrink(case: Case) -> list[Case]:
    """Simpler variants of ``case`` (smaller first): a body with fewer fields or shorter strings, a raw
    body cut in half. Expectations are kept: only problems that do not depend on them are minimised."""
    out: list[Case] = []
    is_object, data = parsed(case.body)
    if is_object:
        for name in list(data):
            if len(data) > 1:
                out.append(replace(case, body=_dump({k: v for k, v in data.items() if k != name})))
        for name, value in data.items():
            if isinstance(value, str):
                out += [replace(case, body=_dump({**data, name: cut})) for cut in _cuts(value)]
    elif case.body:
        half = len(case.body) // 2
        out += [replace(case, body=case.body[:half]), replace(case, body=case.body[half:])]
    return out


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode("utf-8", "surrogatepass")


def _says_ok(body: bytes | None) -> bool:
    """A /v1/health body with ``"status": "ok"``."""
    is_object, data = parsed(body)
    return is_object and isinstance(data, dict) and data.get("status") == "ok"
