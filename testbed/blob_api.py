"""The blob API (contract "Blobs (v4)"): ``/v1/blobs/{backend}`` (GET: list) and ``/v1/blobs/{backend}/{name}``
(PUT, GET, DELETE), tenant-scoped by the bearer token, each object stored as ``<tenant>/<name>`` in the
backend's bucket (testbed/blobs.py).

Bodies stream: a PUT body is spooled to a temporary file in the node's folder while its SHA-256 is computed
(never held in memory; its own size limit ``blobs.toml`` [limits] max_object_bytes, not the KV body limit),
then uploaded by the SDK (multipart / blocks / resumable above the threshold); 201 only once the backend
acknowledged the whole object. A GET streams the backend's chunks to the client with the backend's
Content-Length; a backend failing mid-stream aborts the response (the client sees a short body, never a
silently different one). SDK calls run in threads: the event loop keeps serving KV traffic.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from . import auth
from .blobs import BACKENDS, SETTINGS, BackendError, Backends, BackendUnavailable, BlobNotFound
from .logs import event
from .web import HttpError, Request, send_json

log = logging.getLogger("testbed.blobs")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StreamAborted(Exception):
    """The backend failed after the response had started: the connection is dropped (a short body)."""


# segments of the path ("v1", "blobs", backend[, name]) -> method -> route name
ROUTES = {3: {"GET": "blob_list"}, 4: {"PUT": "blob_put", "GET": "blob_get", "DELETE": "blob_delete"}}


def route(r: Any) -> str:
    """The route name of a blob request (404 / 405 first, before any backend or token is looked at)."""
    methods = ROUTES.get(len(r.segments))
    if methods is None:
        raise HttpError(404, "not_found", f"no such path: {r.scope['path']}")
    if r.method not in methods:
        raise HttpError(405, "method_not_allowed", f"{r.method} not allowed here; use {', '.join(methods)}")
    return methods[r.method]


def owns(scope: dict[str, Any]) -> bool:
    """Is this HTTP request one for the blob API (served here, with its own streaming and limits)?"""
    path = scope.get("path", "")
    return path == "/v1/blobs" or path.startswith("/v1/blobs/")


class BlobService:
    """The blob routes of one node."""

    def __init__(self, app: Any) -> None:
        self.app = app
        config = Path(app.cluster.path).parent / "blobs.json" if getattr(app.cluster, "path", None) else None
        self.backends = Backends(config)
        self.limits = SETTINGS["limits"]
        self.spool_dir = Path(app.me.dir) / "blob-spool"

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive, int(self.limits["max_object_bytes"]))
        route, status = "blob_unknown", 500
        try:
            route, status, payload = await self._handle(request, send)
        except HttpError as exc:
            status, payload = exc.status, exc.payload()
        except StreamAborted:
            self.app.metrics.request(route, 502)
            raise  # uvicorn drops the connection: the client cannot mistake the short body for the object
        except Exception as exc:  # a bug: 500, logged for the harness's log scan
            log.exception("unhandled error", extra={"event": "unhandled_error", "fields": {"path": scope["path"]}})
            status, payload = 500, HttpError(500, "internal", f"internal error: {exc.__class__.__name__}").payload()
        self.app.metrics.request(route, status)
        if payload is None:  # the body was streamed already
            return
        payload.setdefault("node", self.app.me.name)
        await send_json(send, status, payload, {"x-served-by": self.app.me.name})

    async def _handle(self, r: Request, send: Any) -> tuple[str, int, dict[str, Any] | None]:
        name = route(r)
        s = r.segments  # ["v1", "blobs", backend, name?]
        backend = s[2]
        tenant = self._tenant(r)
        if backend not in BACKENDS:
            raise HttpError(404, "unknown_backend", f"no blob backend {backend!r}; backends: {', '.join(BACKENDS)}")
        if name == "blob_list":
            return name, *await self._list(r, backend, tenant)
        self._check_name(s[3])
        handlers = {"PUT": self._put, "GET": self._get, "DELETE": self._delete}
        status, payload = await handlers[r.method](r, send, backend, tenant, s[3])
        return name, status, payload

    def _tenant(self, r: Request) -> str:
        token = auth.bearer(r.headers)
        if token is None:
            raise HttpError(401, "unauthorized", "missing bearer token")
        tenant = auth.tenant_of(self.app.cluster.secret, token)
        if tenant is None:
            raise HttpError(401, "unauthorized", "invalid token")
        return tenant

    def _check_name(self, name: str) -> None:
        if not name:
            raise HttpError(400, "invalid_name", "object name must not be empty")
        if len(name.encode("utf-8", "surrogatepass")) > int(self.limits["max_name_bytes"]):
            raise HttpError(400, "name_too_long", f"object name over {self.limits['max_name_bytes']} bytes")
        if _CONTROL.search(name) or name in (".", ".."):
            raise HttpError(400, "invalid_name", "object name must not hold control characters or be . or ..")

    def _adapter(self, backend: str) -> Any:
        try:
            return self.backends.get(backend)
        except BackendUnavailable as exc:
            raise HttpError(503, "backend_unavailable", str(exc), backend=backend) from None

    @staticmethod
    def _backend_failed(backend: str, exc: BackendError, what: str) -> HttpError:
        return HttpError(502, "backend_error", f"{what} on {backend} failed: {exc}", backend=backend)

    # -- PUT: spool (sha256 on the way), then upload --

    async def _put(self, r: Request, send: Any, backend: str, tenant: str, name: str) -> tuple[int, dict]:
        adapter = self._adapter(backend)
        limit = int(self.limits["max_object_bytes"])
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HttpError(413, "payload_too_large", f"object over {limit} bytes")
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            while True:
                message = await r._receive()
                if message["type"] == "http.disconnect":
                    raise HttpError(400, "incomplete_body", "the client went away before the body ended")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise HttpError(413, "payload_too_large", f"object over {limit} bytes")
                digest.update(chunk)
                spool.write(chunk)
                if not message.get("more_body"):
                    break
            if declared.isdigit() and int(declared) != size:
                raise HttpError(400, "incomplete_body", f"body of {size} bytes, Content-Length said {declared}")
            stored = self._stored_size(size)
            spool.truncate(stored)  # the healthy testbed stores every byte (stored == size)
            spool.seek(0)
            try:
                await asyncio.to_thread(adapter.put, f"{tenant}/{name}", spool, stored)
            except BackendError as exc:
                event(log, "blob_put_failed", backend=backend, size=size, error=str(exc))
                raise self._backend_failed(backend, exc, "upload") from None
        return 201, {"backend": backend, "name": name, "size": size, "sha256": digest.hexdigest()}

    def _stored_size(self, size: int) -> int:
        """TEST ONLY (``blob_truncates_large``): large objects lose their tail, the answer still says the
        full size. Healthy: every byte."""
        if not self.app.faults.get("blob_truncates_large"):
            return size
        f = SETTINGS["faults"]
        return size - int(f["truncate_drop_bytes"]) if size > int(f["truncate_above_bytes"]) else size

    # -- GET: stream --

    async def _get(self, r: Request, send: Any, backend: str, tenant: str, name: str) -> tuple[int, None]:
        adapter = self._adapter(backend)
        try:
            size, chunks = await asyncio.to_thread(adapter.open, f"{tenant}/{name}")
        except BlobNotFound:
            raise HttpError(404, "not_found", "no such object", backend=backend, name=name) from None
        except BackendError as exc:
            raise self._backend_failed(backend, exc, "download") from None
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream"),
                                (b"content-length", str(size).encode()),
                                (b"x-served-by", self.app.me.name.encode()),
                                (b"x-blob-backend", backend.encode())]})
        sent = 0
        while True:
            try:
                chunk = await asyncio.to_thread(next, chunks, None)
            except Exception as exc:  # the backend failed mid-stream: abort (a short body, never a wrong one)
                event(log, "blob_get_aborted", backend=backend, sent=sent, size=size, error=exc.__class__.__name__)
                raise StreamAborted(f"{backend} failed mid-stream") from None
            if chunk is None:
                break
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 200, None

    async def _delete(self, r: Request, send: Any, backend: str, tenant: str, name: str) -> tuple[int, dict]:
        adapter = self._adapter(backend)
        try:
            await asyncio.to_thread(adapter.delete, f"{tenant}/{name}")
        except BlobNotFound:
            raise HttpError(404, "not_found", "no such object", backend=backend, name=name) from None
        except BackendError as exc:
            raise self._backend_failed(backend, exc, "delete") from None
        return 200, {"backend": backend, "name": name, "deleted": True}

    async def _list(self, r: Request, backend: str, tenant: str) -> tuple[int, dict]:
        adapter = self._adapter(backend)
        limit = int(self.limits["list_max"])
        try:
            found = await asyncio.to_thread(adapter.list, f"{tenant}/", limit)
        except BackendError as exc:
            raise self._backend_failed(backend, exc, "list") from None
        objects = [{"name": o["key"][len(tenant) + 1:], "size": o["size"]} for o in found[:limit]]
        return 200, {"backend": backend, "objects": objects, "truncated": len(found) > limit}
