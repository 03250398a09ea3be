"""The harness sends traffic only to loopback (127.0.0.0/8, ::1): a target URL naming any other host is
refused before a single request is made. (Network namespaces the project creates are reached through
loopback addresses too.)"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ..errors import Tier7Error

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and for literal addresses in 127.0.0.0/8 or ``::1``; names are never resolved
    (a name that resolves elsewhere later must not slip through)."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback_url(url: str, what: str) -> str:
    """``url`` unchanged when it is ``http://<loopback host>:<port>...``; Tier7Error naming ``what`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise Tier7Error(f"{what}: url must look like http://127.0.0.1:port, not {url!r}")
    if not is_loopback_host(parts.hostname):
        raise Tier7Error(f"{what}: {parts.hostname} is not a loopback address; this harness only sends traffic "
                         "to 127.0.0.0/8 or ::1")
    return url
