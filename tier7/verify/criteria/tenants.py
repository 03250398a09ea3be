"""The tenants phase: the admin creates N tenants (plan: 1000); each tenant writes its own key and reads it
back through a random node; then each tenant tries to read and overwrite the next tenant's key with its own
token (recorded as cross-tenant attempts), and every tenant re-reads its key. Facts: facts/tenants.json
(names, outcomes, attempts, latencies in ms; never tokens), judged by analysis/criteria/tenants.py."""

from __future__ import annotations

from typing import Any

from ..context import RunContext

KEY = "profile"
ATTEMPTS = 3  # an operation that failed for certain or timed out (unknown outcome) is asked again


def until_ok(call: Any) -> Any:
    """``call()`` again while its outcome is not ok (bounded); a refusal (4xx) is final at once."""
    result = call()
    for _ in range(ATTEMPTS - 1):
        if result.ok or (result.status is not None and 400 <= result.status < 500 and result.status != 404):
            break
        result = call()
    return result


def run(ctx: RunContext) -> None:
    count = int(ctx.sizes["tenants"])
    names = [f"t{ctx.seed}x{i:04d}" for i in range(count)]
    facts: dict[str, Any] = {"requested": count, "names": names, "value_of": {n: f"{n}-data" for n in names},
                             "created": {}, "wrote": {}, "read": {}, "cross": [], "latency_ms": [], "after": {}}
    try:
        _run(ctx, facts, names)
    finally:
        ctx.record("tenants", facts)  # also what an interrupted phase had done (the verdict is NOT RUN then)


def _run(ctx: RunContext, facts: dict[str, Any], names: list[str]) -> None:
    count = len(names)
    nodes = ctx.nodes()

    def create(name: str) -> None:
        client = ctx.client(ctx.rng.choice(nodes), ctx.target.admin_token(), f"verify-tn-{name}")
        result = until_ok(lambda: client.create_tenant(name))
        client.close()
        if result.ok:
            ctx.tokens[name] = result.body["token"]
            facts["created"][name] = True
        facts["latency_ms"].append(result.latency_ms)

    def write_read(name: str) -> None:
        token = ctx.tokens.get(name)
        if token is None:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{name}")
        value = facts["value_of"][name]
        ctx.written.add((name, KEY))
        wrote = until_ok(lambda: client.put(KEY, value, tenant=name))
        facts["wrote"][name] = wrote.ok
        read = until_ok(lambda: client.get(KEY, tenant=name))
        facts["read"][name] = read.value if read.ok else f"<{read.type}: {read.error}>"
        facts["latency_ms"] += [wrote.latency_ms, read.latency_ms]
        client.close()

    def intrude(pair: tuple[str, str]) -> None:
        attacker, victim = pair
        token = ctx.tokens.get(attacker)
        if token is None or victim not in ctx.tokens:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{attacker}-x")
        read = client.get(KEY, tenant=victim, cross_tenant=True)
        write = client.put(KEY, f"stolen-by-{attacker}", tenant=victim, cross_tenant=True)
        if write.type != "fail":
            ctx.written.add((victim, KEY))
        client.close()
        facts["cross"] += [{"attacker": attacker, "victim": victim, "f": r.f, "type": r.type, "status": r.status,
                            "error": r.error} for r in (read, write)]

    ctx.progress.set_phase(f"tenants: create {count}")
    ctx.each(create, names)
    ctx.progress.set_phase(f"tenants: write+read {count}")
    ctx.each(write_read, names)
    ctx.progress.set_phase("tenants: cross-tenant attempts")
    ctx.each(intrude, list(zip(names, names[1:] + names[:1], strict=True)))
    # the victims' data after the intrusions: each must still read back its own value
    ctx.progress.set_phase("tenants: re-read after intrusions")

    def reread(name: str) -> None:
        token = ctx.tokens.get(name)
        if token is None:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{name}")
        result = until_ok(lambda: client.get(KEY, tenant=name))
        facts["after"][name] = result.value if result.ok else f"<{result.type}: {result.error}>"
        client.close()

    ctx.each(reread, names)

