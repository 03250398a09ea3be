"""The final read phase: every key any phase or load wrote is read once more (linearizably, recorded), so
the no-lost-write check sees the final state of each key (tier7.final_read does the reading)."""

from __future__ import annotations

from ..final_read import read_back, written_keys
from . import interrupt
from .context import RunContext


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
    keys = written_keys(ctx.run_dir) | ctx.written
    ctx.progress.set_phase(f"final read: {len(keys)} keys")
    for tenant in sorted({t for t, _ in keys}):
        token_for(ctx, tenant)
    unread = read_back(keys, ctx.tokens, ctx.nodes(), ctx.history, "verify-final-",
                       should_stop=interrupt.REQUESTED.is_set)
    ctx.record("final-read", {"keys": len(keys), "unread": [list(k) for k in unread]})
    interrupt.check()
