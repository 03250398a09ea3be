"""The fault proxy's HTTP API: the subset of Toxiproxy's (v2) that Chaos Toolkit's toxiproxy extension
and Toxiproxy's clients use, as a plain ASGI application.

    GET    /version                         {"version": ...}
    POST   /reset                           enable every proxy, remove every toxic -> 204
    GET    /proxies                         {name: proxy}
    POST   /proxies                         create -> 201 proxy (409 if the name exists)
    POST   /populate                        [proxy, ...] -> 201 {"proxies": [...]}
    GET    /proxies/{p}                     proxy with its toxics
    POST|PATCH /proxies/{p}                 update listen / upstream / enabled
    DELETE /proxies/{p}                     -> 204
    GET    /proxies/{p}/toxics              [toxic, ...]
    POST   /proxies/{p}/toxics              add -> 200 toxic (409 if the name exists)
    GET    /proxies/{p}/toxics/{t}          toxic
    POST|PATCH /proxies/{p}/toxics/{t}      update attributes / toxicity
    DELETE /proxies/{p}/toxics/{t}          -> 204

Errors: ``{"error": "<message>", "status": <code>}`` with that HTTP status.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from .errors import ApiError, bad_request
from .registry import ProxyCollection

VERSION = "tier7-faultproxy 0.1.0 (toxiproxy v2 API subset)"
MAX_BODY = 4 * 1024 * 1024


class ProxyApi:
    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?")[0]
        parts = [unquote(p) for p in raw.split("/") if p]
        try:
            body = await _read_body(receive)
            status, payload = await self.route(scope["method"], parts, body)
        except ApiError as exc:
            status, payload = exc.status, exc.payload()
        await _send(send, status, payload)

    async def route(self, method: str, parts: list[str], body: bytes) -> tuple[int, Any]:
        c = self.collection
        if parts == ["version"] and method == "GET":
            return 200, {"version": VERSION}
        if parts == ["reset"] and method == "POST":
            await c.reset()
            return 204, None
        if parts == ["populate"] and method == "POST":
            proxies = await c.populate(_json(body))
            return 201, {"proxies": [p.to_json() for p in proxies]}
        if parts == ["proxies"]:
            if method == "GET":
                return 200, {name: p.to_json() for name, p in c.proxies.items()}
            if method == "POST":
                return 201, (await c.create(_json(body))).to_json()
        if len(parts) == 2 and parts[0] == "proxies":
            name = parts[1]
            if method == "GET":
                return 200, c.get(name).to_json()
            if method in ("POST", "PATCH"):
                return 200, (await c.update(name, _json(body))).to_json()
            if method == "DELETE":
                await c.delete(name)
                return 204, None
        if len(parts) == 3 and parts[0] == "proxies" and parts[2] == "toxics":
            if method == "GET":
                return 200, c.get(parts[1]).toxic_list()
            if method == "POST":
                return 200, (await c.add_toxic(parts[1], _json(body))).to_json()
        if len(parts) == 4 and parts[0] == "proxies" and parts[2] == "toxics":
            name, toxic = parts[1], parts[3]
            if method == "GET":
                return 200, c.get_toxic(name, toxic).to_json()
            if method in ("POST", "PATCH"):
                return 200, (await c.update_toxic(name, toxic, _json(body))).to_json()
            if method == "DELETE":
                await c.remove_toxic(name, toxic)
                return 204, None
        if parts and parts[0] in ("version", "reset", "populate", "proxies"):
            raise ApiError(405, f"method {method} not allowed on /{'/'.join(parts)}")
        raise ApiError(404, f"no such path: /{'/'.join(parts)}")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"bad request body: {exc}") from None


async def _read_body(receive: Any) -> bytes:
    chunks, size = [], 0
    for _ in range(MAX_BODY):  # bounded: every message but the last carries at least a byte in practice
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "request body too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Any, status: int, payload: Any) -> None:
    body = b"" if status == 204 else json.dumps(payload).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    if status != 204:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
