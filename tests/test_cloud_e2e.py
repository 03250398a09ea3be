"""Blobs (contract v4) end to end and the ``blob_truncates_large`` switch.

* The cloud phase for real on the shared healthy cluster with the three real emulators (moto, Azurite,
  fake-gcs-server): 0 B / 1 KiB / 5 MiB / 64 MiB objects per backend, read back and read directly, list,
  delete, each emulator paused mid-upload; the criterion PASSes and no credential reaches the facts.
* The blob API's own code in-process over ASGI with an in-memory backend (no processes): streaming, the
  blob size limit (not the KV body limit), errors, and the switch really truncating a large object while
  answering 201 with the full size. The selftest mutant (tier7/selftest/catalogue.toml) shows the criterion
  FAILs on it end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.criteria import cloud as cloud_judge
from analysis.facts import RunFacts
from analysis.plan import load_plan
from analysis.verdict import Status
from testbed import auth, blob_api, blobs
from tier7.targets.emulators import missing_tools
from tier7.verify.context import RunContext
from tier7.verify.criteria import cloud as cloud_phase
from tier7.verify.progress import Progress


@pytest.mark.skipif(bool(missing_tools()), reason=f"blob emulators not installed: {missing_tools()}")
def test_the_phase_passes_on_the_shared_cluster_with_real_emulators(cluster, tmp_path):
    run = tmp_path / "run"
    (run / "target").mkdir(parents=True)
    (run / "target" / "nodes.json").write_text(json.dumps(
        [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in cluster.nodes()]))
    (run / "facts").mkdir()
    (run / "facts" / "verify.json").write_text(json.dumps({"capabilities": ["blobs"], "complete": True}))
    ctx = RunContext(run, load_plan(), False, 31, cluster, Progress(run, stream=io.StringIO()))
    try:
        cloud_phase.run(ctx)
        rows = {r["backend"]: r for r in cluster.emulators().status()}
        assert set(rows) == {"s3", "azure", "gcs"} and all(r["running"] and not r["paused"] for r in rows.values())
        secrets = cluster.emulators().secrets()
    finally:
        ctx.history.close()
        cluster.emulators().stop()  # idle emulators cost CPU for the rest of the session
    result = cloud_judge.judge(RunFacts(run))
    assert result.status is Status.PASS, (result.verdict.reason, result.verdict.evidence[:3])
    facts = json.loads((run / "facts" / "cloud.json").read_text())
    assert all(facts["chaos"][b]["paused"] and facts["chaos"][b]["put"]["status"] in (None, 502, 503, 504)
               for b in ("s3", "azure", "gcs"))
    assert facts["backends"]["s3"]["objects"][-1]["size"] == 64 << 20
    text = (run / "facts" / "cloud.json").read_text()
    assert len(secrets) == 4 and not any(s in text for s in secrets)
    assert not any(t in text for t in ctx.tokens.values())


# -- the blob API in-process --

class MemoryBackend:
    """An in-memory stand-in for an SDK adapter (testbed/blobs.py's interface)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body, size: int) -> None:
        self.objects[key] = body.read()

    def open(self, key: str):
        if key not in self.objects:
            raise blobs.BlobNotFound(key)
        data = self.objects[key]
        return len(data), iter([data[i:i + 65536] for i in range(0, len(data), 65536)])

    def delete(self, key: str) -> None:
        if self.objects.pop(key, None) is None:
            raise blobs.BlobNotFound(key)

    def list(self, prefix: str, limit: int):
        return [{"key": k, "size": len(v)} for k, v in self.objects.items() if k.startswith(prefix)]


SECRET = bytes(32)


def service(tmp_path: Path, faults: dict) -> tuple[blob_api.BlobService, MemoryBackend]:
    metrics = SimpleNamespace(request=lambda route, status: None)
    me = SimpleNamespace(name="g0-us-east", dir=tmp_path)
    app = SimpleNamespace(cluster=SimpleNamespace(path=None, secret=SECRET), me=me, faults=faults, metrics=metrics)
    svc = blob_api.BlobService(app)
    memory = MemoryBackend()
    svc.backends = SimpleNamespace(get=lambda backend: memory)
    return svc, memory


def call(svc: blob_api.BlobService, method: str, path: str, body: bytes = b"", token: str | None = None,
         chunk: int = 1 << 20) -> tuple[int, dict, bytes]:
    """One request through the ASGI interface; (status, headers, body)."""
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    headers.append((b"content-length", str(len(body)).encode()))
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers}
    asyncio.run(svc.serve(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_the_api_streams_large_objects_and_answers_its_errors(tmp_path):
    svc, memory = service(tmp_path, {})
    token = auth.tenant_token(SECRET, "acme")
    data = os.urandom(9 << 20)  # over the KV body limit (1 MiB) and the multipart threshold
    status, _, body = call(svc, "PUT", "/v1/blobs/s3/a%2Fb", data, token)
    answer = json.loads(body)
    assert status == 201 and answer["size"] == len(data) and answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert memory.objects["acme/a/b"] == data  # tenant-scoped key, every byte stored
    status, headers, body = call(svc, "GET", "/v1/blobs/s3/a%2Fb", token=token)
    assert status == 200 and body == data and headers[b"content-length"] == str(len(data)).encode()
    assert json.loads(call(svc, "GET", "/v1/blobs/s3", token=token)[2])["objects"] == [{"name": "a/b", "size": len(data)}]
    assert call(svc, "DELETE", "/v1/blobs/s3/a%2Fb", token=token)[0] == 200
    assert call(svc, "GET", "/v1/blobs/s3/a%2Fb", token=token)[0] == 404
    assert call(svc, "GET", "/v1/blobs/s3/x")[0] == 401
    assert call(svc, "GET", "/v1/blobs/nope/x", token=token)[0] == 404
    assert call(svc, "POST", "/v1/blobs/s3/x", token=token)[0] == 405
    assert call(svc, "PUT", "/v1/blobs/s3/%01", b"x", token)[0] == 400
    svc.limits = {**svc.limits, "max_object_bytes": 1000}
    assert call(svc, "PUT", "/v1/blobs/s3/big", b"x" * 1001, token)[0] == 413


def test_blob_truncates_large_switch_drops_the_tail_and_still_answers_201(tmp_path):
    svc, memory = service(tmp_path, {"blob_truncates_large": True})
    token = auth.tenant_token(SECRET, "acme")
    drop = blobs.SETTINGS["faults"]["truncate_drop_bytes"]
    large, small = os.urandom(9 << 20), os.urandom(5 << 20)
    status, _, body = call(svc, "PUT", "/v1/blobs/gcs/large", large, token)
    assert status == 201 and json.loads(body)["size"] == len(large)  # the lie: the answer names every byte
    assert memory.objects["acme/large"] == large[:-drop]
    assert call(svc, "PUT", "/v1/blobs/gcs/small", small, token)[0] == 201
    assert memory.objects["acme/small"] == small  # under the threshold: intact
