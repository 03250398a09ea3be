"""Minimal ASGI plumbing: requests, JSON responses and contract errors (no framework needed)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote


class HttpError(Exception):
    """An error answered as JSON ``{"error": {"code", "message"}, ...}`` with a stable ``code``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def payload(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}, **self.extra}


class Request:
    def __init__(self, scope: dict, receive: Any, max_body: int) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        # Split the raw path before unquoting so that a key may hold an encoded "/" (%2F).
        self.segments = [unquote(s) for s in raw_path.decode("latin-1").split("?")[0].split("/") if s]
        self.query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        self._receive = receive
        self._max_body = max_body
        self._body: bytes | None = None

    async def body(self) -> bytes:
        if self._body is None:
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_body:
                raise HttpError(413, "payload_too_large", f"body over {self._max_body} bytes")
            chunks, size = [], 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._max_body:
                    raise HttpError(413, "payload_too_large", f"body over {self._max_body} bytes")
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
            self._body = b"".join(chunks)
        return self._body

    async def json_object(self) -> dict[str, Any]:
        raw = await self.body()
        if not raw.strip():
            raise HttpError(400, "invalid_json", "request body must be a JSON object")
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HttpError(400, "invalid_json", f"malformed JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
        except RecursionError:  # nesting deeper than the parser's stack: bad input, not a bug
            raise HttpError(400, "invalid_json", "malformed JSON: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer literal over Python's digit limit
            raise HttpError(400, "invalid_json", f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HttpError(400, "invalid_json", "request body must be a JSON object")
        if _has_lone_surrogate(data):
            # "\ud800" is valid JSON text but not Unicode: it cannot be stored or encoded as UTF-8
            # (I-JSON, RFC 7493, forbids it). Refused here so no handler meets it (it used to answer 500).
            raise HttpError(400, "invalid_json", "malformed JSON: a string holds a lone UTF-16 surrogate")
        return data


def _has_lone_surrogate(data: Any) -> bool:
    """Does any string (key or value) of a parsed JSON document hold a lone surrogate (U+D800-U+DFFF)?"""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (RecursionError, ValueError):
        return False  # too deep to re-encode: the handlers only read top-level fields
    return False


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], nullable: bool = False) -> Any:
    """A required field of a JSON body, with a 400 naming it when missing or of the wrong type."""
    if name not in data:
        raise HttpError(400, "missing_field", f"missing field {name!r}")
    value = data[name]
    if value is None and nullable:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise HttpError(400, "wrong_type", f"field {name!r} must be {expected}{' or null' if nullable else ''}")
    return value


async def send_json(send: Any, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send_bytes(send, status, body, "application/json", headers)


async def send_bytes(send: Any, status: int, body: bytes, content_type: str,
                     headers: dict[str, str] | None = None) -> None:
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
