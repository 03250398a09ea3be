"""Bearer tokens. Tenant tokens are signed with the cluster secret, so any node can check any token
without a lookup: ``tk.<tenant>.<hex HMAC-SHA256(secret, tenant)[:40]>``."""

from __future__ import annotations

import hashlib
import hmac
import re

TENANT_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]*\Z")  # \Z: "$" would let a trailing newline in


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets as bytes: ``hmac.compare_digest`` raises TypeError on a str
    with non-ASCII characters, and a header may hold any (it answered 500 for such a token)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def tenant_token(secret: bytes, tenant: str) -> str:
    mac = hmac.new(secret, tenant.encode(), hashlib.sha256).hexdigest()[:40]
    return f"tk.{tenant}.{mac}"


def tenant_of(secret: bytes, token: str) -> str | None:
    """The tenant a token belongs to, or None when the token is not one this cluster signed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "tk" or not TENANT_NAME.match(parts[1]):
        return None
    return parts[1] if same(token, tenant_token(secret, parts[1])) else None


def bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None
