"""The final read phase: every key any phase or load wrote is read once more (linearizably, recorded), so
the no-lost-write check sees the final state of each key."""

from __future__ import annotations

from ..history import HISTORY_DIR, read_events
from .context import RunContext

WRITES = {"put", "cas", "delete"}


def written_keys(ctx: RunContext) -> set[tuple[str, str]]:
    """(tenant, key) of every write that may have taken effect, from all history files of the run."""
    keys = set(ctx.written)
    for path in (ctx.run_dir / HISTORY_DIR).glob("*.jsonl"):
        for event in read_events(path):
            if event.get("type") == "invoke" and event.get("f") in WRITES and event.get("key") is not None:
                tenant = event.get("tenant")
                if tenant and not event.get("cross_tenant"):
                    keys.add((tenant, event["key"]))
    return keys


def token_for(ctx: RunContext, tenant: str) -> str | None:
    """The tenant's token: known from this run, or by the (idempotent) admin create of the contract."""
    if tenant not in ctx.tokens:
        admin = ctx.client(ctx.nodes()[0], ctx.target.admin_token(), "verify-final-admin")
        result = admin.create_tenant(tenant)
        admin.close()
        if result.ok and result.body:
            ctx.tokens[tenant] = result.body["token"]
    return ctx.tokens.get(tenant)


def run(ctx: RunContext) -> None:
    keys = sorted(written_keys(ctx))
    ctx.progress.set_phase(f"final read: {len(keys)} keys")
    nodes = ctx.nodes()
    for tenant in sorted({t for t, _ in keys}):
        token_for(ctx, tenant)
    unread: list[tuple[str, str]] = []

    def read(item: tuple[str, str]) -> None:
        tenant, key = item
        token = ctx.tokens.get(tenant)
        if token is None:
            unread.append(item)
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-final-{tenant}-{key}")
        for _ in range(3):  # a read that failed for certain (no leader yet) is simply asked again
            if client.get(key, tenant=tenant).type == "ok":
                break
        client.close()

    ctx.each(read, keys)
    ctx.facts["final_read"] = {"keys": len(keys), "unread": [list(k) for k in unread]}
