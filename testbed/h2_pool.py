"""HTTP/2 pooled connections that a peer closed are not reused.

httpcore (1.0.x) drops an idle HTTP/1.1 connection whose socket is readable before reusing it: the only
thing an idle server can send there is the EOF of a disconnect. Its HTTP/2 connection has no such check,
so after a peer node is killed and restarted (the fault proxy closes our side of the link) the next request
to it goes out on the dead connection and fails *after sending* (``RemoteProtocolError``), which the
forwarder must answer ``504 outcome_unknown`` — a spurious error on a healthy cluster, seen once in 1,000
forwarded writes right after a leader kill. With this check such a connection is closed and a new one is
opened instead (a failed connect is a clean "not sent"). An idle HTTP/2 socket can also be readable for a
late control frame (PING, WINDOW_UPDATE): then a healthy connection is replaced, which costs only a TLS
handshake, never an error.
"""

from __future__ import annotations

from typing import Any

from httpcore._async.http2 import AsyncHTTP2Connection, HTTPConnectionState

_plain_has_expired = AsyncHTTP2Connection.has_expired


def has_expired_or_disconnected(connection: Any) -> bool:
    """httpcore's own expiry, or: idle (no stream open) with a readable socket, i.e. closed by the peer."""
    if _plain_has_expired(connection):
        return True
    stream = getattr(connection, "_network_stream", None)
    return connection._state == HTTPConnectionState.IDLE and stream is not None \
        and bool(stream.get_extra_info("is_readable"))


def install() -> None:
    """Make every HTTP/2 pool of this process use the check (idempotent)."""
    AsyncHTTP2Connection.has_expired = has_expired_or_disconnected  # type: ignore[method-assign]
