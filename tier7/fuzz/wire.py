"""A raw HTTP/1.1 sender for fuzz cases: any method, any percent-encoded path, any header, any body
bytes, no retries and no normalisation (httpx would refuse or rewrite some of them)."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 4 << 20  # an answer is read up to this many bytes (the contract's are far smaller)


@dataclass
class Exchange:
    """One request's outcome: ``status`` None when no answer came (``error`` says why); times in ms."""

    status: int | None
    body: bytes
    content_type: str
    error: str | None
    ms: float


class Wire:
    """One keep-alive connection to one node (``url`` like http://127.0.0.1:8001), reopened after errors."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.timeout_s = parts.hostname or "127.0.0.1", parts.port or 80, timeout_s
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes | None,
             fresh: bool = False) -> Exchange:
        """Send one request; ``fresh`` closes the connection afterwards (the answer may leave it unusable)."""
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            conn = self.conn
            conn.putrequest(method, path, skip_accept_encoding=True)
            names = {k.lower() for k in headers}
            for name, value in headers.items():
                conn.putheader(name, value.encode("latin-1", "replace"))
            if body is not None and "content-length" not in names:
                conn.putheader("content-length", str(len(body)))
            if body is not None and "content-type" not in names:
                conn.putheader("content-type", "application/json")
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read(MAX_ANSWER_BYTES) if method != "HEAD" else b""
            status, content_type = response.status, response.getheader("content-type", "") or ""
            if fresh or response.will_close:
                self.close()
            return Exchange(status, data, content_type, None, (time.monotonic() - started) * 1000)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.close()
            return Exchange(None, b"", "", f"{exc.__class__.__name__}: {str(exc)[:200]}",
                            (time.monotonic() - started) * 1000)
