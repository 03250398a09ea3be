"""Bearer tokens. Tenant tokens are signed with the cluster secret, so any node can check any token
without a lookup: ``tk.<tenant>.<hex HMAC-SHA256(secret, tenant)[:40]>``."""

from __future__ import annotations

import hashlib
import hmac
import re

TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def tenant_token(secret: bytes, tenant: str) -> str:
    mac = hmac.new(secret, tenant.encode(), hashlib.sha256).hexdigest()[:40]
    return f"tk.{tenant}.{mac}"


def tenant_of(secret: bytes, token: str) -> str | None:
    """The tenant a token belongs to, or None when the token is not one this cluster signed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "tk" or not TENANT_NAME.match(parts[1]):
        return None
    return parts[1] if hmac.compare_digest(tenant_token(secret, parts[1]), token) else None


def bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None
