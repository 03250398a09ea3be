"""The contract phase (criterion ``contract``, beyond the plan's list): property-based fuzzing of one node
per group from the contract document (docs/openapi.yaml, the harness's own copy), bounded by the plan's
``[contract]`` request count and time, seeded by the run's seed.

Set-up is stateful: the admin creates two fresh tenants, A (the fuzz's own) and B (the foreign token);
each valid write is read back. Facts: facts/contract.json (every request's operation, token kind,
expectation, status, code and problems; the findings with curl reproductions, tokens redacted), judged
by analysis/criteria/contract.py."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ...contract import ContractClient
from ...errors import Tier7Error
from ...fuzz import document
from ...fuzz.cases import World
from ...fuzz.fuzzer import Budget, Fuzzer, Node, Tokens
from .. import interrupt
from ..context import RunContext


def budget(plan: dict[str, Any]) -> Budget:
    table = plan.get("contract", {})
    return Budget(max_requests=int(table.get("max_requests", 2400)), time_s=float(table.get("time_budget_s", 120)),
                  timeout_s=float(table.get("request_timeout_s", 10)),
                  connections=int(table.get("connections_per_node", 2)),
                  findings=int(table.get("max_findings", 8)), minimise_requests=int(table.get("minimise_requests", 40)))


def pick_nodes(ctx: RunContext) -> list[Node]:
    """One node per group, chosen with the run's seed."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for node in ctx.nodes():
        groups[node.group].append(node)
    return [Node(n.name, n.group, n.url) for n in
            (ctx.rng.choice(sorted(members, key=lambda m: m.name)) for _, members in sorted(groups.items()))]


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {}
    try:
        doc = document.load()
        limits = document.limits(doc)
        nodes = pick_nodes(ctx)
        world = World(f"fz{ctx.seed}a", f"fz{ctx.seed}b", limits["max_key_bytes"], limits["max_value_bytes"],
                      limits["max_body_bytes"], limits["max_tenant_name_bytes"])
        admin = ContractClient(nodes[0].url, ctx.target.admin_token())
        tokens: dict[str, str] = {}
        try:
            for name in (world.tenant, world.other):
                answer = admin.create_tenant(name)
                if answer.status not in (200, 201) or not isinstance(answer.body.get("token"), str):
                    raise Tier7Error(f"cannot create the fuzz tenant {name}: {answer.status} {answer.body}")
                tokens[name] = answer.body["token"]
                ctx.tokens[name] = tokens[name]  # redacted from everything the run writes
        finally:
            admin.close()
        ctx.progress.set_phase(f"contract: fuzzing {', '.join(n.name for n in nodes)}")
        fuzzer = Fuzzer(doc, nodes, Tokens(tokens[world.tenant], tokens[world.other], ctx.target.admin_token()),
                        world, budget(ctx.plan), ctx.seed, stop=lambda: interrupt.REQUESTED.is_set(),
                        progress=ctx.progress.note)
        facts = fuzzer.run()
        facts["document"] = str(document.DOCUMENT.relative_to(document.DOCUMENT.parents[1]))
        facts["secured_operations"] = sorted(op.id for op in fuzzer.ops.values() if op.secured)
        facts["groups"] = sorted({n.group for n in ctx.nodes()})
    except Tier7Error as exc:
        facts = {**facts, "error": str(exc)}
    finally:
        ctx.record("contract", facts)
