"""The cloud phase (contract "Blobs (v4)", criterion ``cloud``): on every blob backend (S3 on moto, Azure
Blob on Azurite, GCS on fake-gcs-server) objects of the plan's sizes (0 B, 1 KiB, 5 MiB, 64 MiB; random
bytes whose SHA-256 the harness computes as it sends them) are written through one node, read back through
another, and read *directly* from the emulator through the SDK (tier7/targets/blob_sdk.py): independent
evidence the bytes landed where the target says. Then an overwrite, a list (through the target and
directly), deletes. Chaos: each emulator is paused (SIGSTOP by PID) when half of an upload's body reached
the target (whose upload to the backend then meets a stopped backend): the target must answer an error, and
after the resume the object is absent or exact, never corrupted. The three backends run side by side (one
thread each, separate emulators), so the phase costs about one backend's time.

Bodies stream both ways (a generator out, chunks hashed in): a 64 MiB object is never held in memory.
Facts: facts/cloud.json (judged by analysis/criteria/cloud.py). Emulators start here, lazily: only a run
that judges ``cloud`` pays for them."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from ...errors import Tier7Error
from ...targets import blob_sdk
from ...targets.capabilities import declared
from ..context import RunContext

PHASE = "cloud"
CHUNK = 1 << 20  # bytes per generated / received chunk
PHASE_BOUND_S = 600.0  # seconds: the backends' threads are waited for at most this long


class Payload:
    """Random bytes from a seed, generated chunk by chunk; the SHA-256 of what was sent is kept."""

    def __init__(self, seed: int, size: int, on_progress: Any = None) -> None:
        self.seed, self.size, self.on_progress = seed, size, on_progress
        self.digest = hashlib.sha256()
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        rng = random.Random(self.seed)
        while self.sent < self.size:
            chunk = rng.randbytes(min(CHUNK, self.size - self.sent))
            self.digest.update(chunk)
            self.sent += len(chunk)
            if self.on_progress is not None:
                self.on_progress(self.sent)
            yield chunk

    @staticmethod
    def expected(seed: int, size: int) -> str:
        """The SHA-256 of the payload (computed by generating it once; the harness's own figure)."""
        payload = Payload(seed, size)
        for _ in payload:
            pass
        return payload.digest.hexdigest()


def _url(node: Any, backend: str, name: str | None = None) -> str:
    return f"{node.url}/v1/blobs/{backend}" + (f"/{quote(name, safe='')}" if name is not None else "")


def put(http: httpx.Client, url: str, token: str, payload: Payload) -> dict[str, Any]:
    """PUT a streamed payload; the answer's status and body, or the transport error."""
    began = time.perf_counter()
    headers = {"authorization": f"Bearer {token}", "content-length": str(payload.size),
               "content-type": "application/octet-stream"}
    out: dict[str, Any] = {}
    try:
        response = http.put(url, content=iter(payload), headers=headers)
        out["status"] = response.status_code
        try:
            body = response.json()
            out.update(size=body.get("size"), sha256=body.get("sha256"), code=(body.get("error") or {}).get("code"))
        except ValueError:
            out["code"] = "not_json"
    except httpx.HTTPError as exc:
        out.update(status=None, error=exc.__class__.__name__)
    out.update(seconds=round(time.perf_counter() - began, 3), sent=payload.sent, sent_sha256=payload.digest.hexdigest())
    return out


def get(http: httpx.Client, url: str, token: str) -> dict[str, Any]:
    """GET streamed and hashed: status, bytes received, their SHA-256 (or the transport error)."""
    began = time.perf_counter()
    digest, size = hashlib.sha256(), 0
    out: dict[str, Any] = {}
    try:
        with http.stream("GET", url, headers={"authorization": f"Bearer {token}"}) as response:
            out["status"] = response.status_code
            for chunk in response.iter_raw(CHUNK):
                if response.status_code == 200:
                    digest.update(chunk)
                    size += len(chunk)
        if out["status"] == 200:
            out.update(size=size, sha256=digest.hexdigest())
    except httpx.HTTPError as exc:
        out.update(error=exc.__class__.__name__, received=size)
    out["seconds"] = round(time.perf_counter() - began, 3)
    return out


def run(ctx: RunContext) -> None:
    facts: dict[str, Any] = {}
    emulators = getattr(ctx.target, "emulators", None)
    if "blobs" not in declared(ctx.target) or emulators is None:
        facts["not_applicable"] = f"target {ctx.target.name!r} has no blob backends (capability \"blobs\")"
        ctx.record(PHASE, facts)
        return
    try:
        _run(ctx, emulators(), facts)
    finally:
        ctx.record(PHASE, facts)


def _run(ctx: RunContext, emulators: Any, facts: dict[str, Any]) -> None:
    cfg = ctx.plan["cloud"]
    ctx.progress.set_phase("cloud: starting the blob emulators")
    began = time.perf_counter()
    try:
        config = emulators.start(tuple(cfg["backends"]))
    except Tier7Error as exc:
        facts["unavailable"] = str(exc)
        return
    facts["emulators_start_s"] = round(time.perf_counter() - began, 2)
    tenant = f"blobs{ctx.seed}"
    admin = ctx.client(ctx.nodes()[0], ctx.target.admin_token(), "verify-cloud-admin")
    created = admin.create_tenant(tenant)
    admin.close()
    if not created.ok:
        facts["error"] = f"cannot create tenant: {created.error}"
        return
    token = created.body["token"]
    ctx.tokens[tenant] = token
    facts.update(tenant=tenant, sizes=list(cfg["sizes_bytes"]), backends={}, chaos={})
    ctx.progress.set_phase(f"cloud: objects on {', '.join(cfg['backends'])}, then each emulator paused mid-upload")

    def backend_run(index: int, backend: str) -> None:
        # one thread per backend (separate emulators): the three run side by side, so the phase costs
        # about one backend's time; each thread's node choices come from its own seeded generator
        rng = random.Random(ctx.seed * 10 + index)
        with httpx.Client(timeout=float(cfg["request_timeout_s"])) as http:
            facts["backends"][backend] = one_backend(ctx, rng, http, token, tenant, backend, config[backend])
        facts["chaos"][backend] = chaos_one(ctx, rng, emulators, token, tenant, backend, config[backend], index)

    threads = [threading.Thread(target=backend_run, args=(i, b), daemon=True) for i, b in enumerate(cfg["backends"])]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + PHASE_BOUND_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for backend in cfg["backends"]:  # never leave an emulator stopped, whatever happened above
        try:
            emulators.resume(backend)
        except Tier7Error:
            pass
    late = [b for b, t in zip(cfg["backends"], threads, strict=True) if t.is_alive()]
    if late:
        facts["unfinished"] = late  # their entries are partial: the judge finds the evidence missing
    facts["seconds"] = round(time.perf_counter() - began, 2)


def _two_nodes(ctx: RunContext, rng: random.Random) -> tuple[Any, Any]:
    nodes = ctx.nodes()
    writer = rng.choice(nodes)
    reader = rng.choice([n for n in nodes if n.region != writer.region] or nodes)
    return writer, reader


def check_object(ctx: RunContext, rng: random.Random, http: httpx.Client, token: str, tenant: str, backend: str,
                 cfg: dict[str, Any], name: str, size: int, seed: int) -> dict[str, Any]:
    """Write through one node, read through another, read directly from the backend."""
    writer, reader = _two_nodes(ctx, rng)
    payload = Payload(seed, size)
    entry: dict[str, Any] = {"name": name, "size": size, "seed": seed, "writer": writer.name, "reader": reader.name}
    entry["put"] = put(http, _url(writer, backend, name), token, payload)
    entry["sha256"] = payload.digest.hexdigest() if payload.sent == size else Payload.expected(seed, size)
    entry["read"] = get(http, _url(reader, backend, name), token)
    entry["direct"] = blob_sdk.read_direct(backend, cfg, f"{tenant}/{name}")
    return entry


def one_backend(ctx: RunContext, rng: random.Random, http: httpx.Client, token: str, tenant: str, backend: str,
                cfg: dict[str, Any]) -> dict[str, Any]:
    sizes = [int(s) for s in ctx.plan["cloud"]["sizes_bytes"]]
    out: dict[str, Any] = {"objects": []}
    # names of several shapes: plain, unicode + space, an encoded "/" (one segment)
    shapes = ["obj-{size}", "ünï cödé {size} 😀", "dir%2Fnested-{size}".replace("%2F", "/")]
    for index, size in enumerate(sizes):
        name = shapes[index % len(shapes)].format(size=size)
        out["objects"].append(check_object(ctx, rng, http, token, tenant, backend, cfg, name, size,
                                           ctx.seed * 1000 + index))
    # overwrite the 1 KiB-ish object (second smallest) with new, larger content
    target = out["objects"][min(1, len(sizes) - 1)]
    new_size = int(ctx.plan["cloud"]["overwrite_bytes"])
    out["overwrite"] = {**check_object(ctx, rng, http, token, tenant, backend, cfg, target["name"], new_size,
                                       ctx.seed * 1000 + 999), "previous_sha256": target["sha256"]}
    names = sorted({o["name"] for o in out["objects"]})
    listing: dict[str, Any] = {"expected": names}
    node = rng.choice(ctx.nodes())
    try:
        response = http.get(_url(node, backend), headers={"authorization": f"Bearer {token}"})
        listing["status"] = response.status_code
        if response.status_code == 200:
            listing["names"] = sorted(o["name"] for o in response.json().get("objects", []))
    except (httpx.HTTPError, ValueError) as exc:
        listing["error"] = exc.__class__.__name__
    direct = blob_sdk.list_direct(backend, cfg, f"{tenant}/")
    listing["direct"] = [k[len(tenant) + 1:] for k in direct] if isinstance(direct, list) else direct
    out["list"] = listing
    out["delete"] = []
    for victim in out["objects"][:2]:  # the smallest two; the large ones stay for the direct evidence
        node = rng.choice(ctx.nodes())
        record: dict[str, Any] = {"name": victim["name"]}
        try:
            response = http.delete(_url(node, backend, victim["name"]), headers={"authorization": f"Bearer {token}"})
            record["status"] = response.status_code
        except httpx.HTTPError as exc:
            record.update(status=None, error=exc.__class__.__name__)
        record["after"] = get(http, _url(rng.choice(ctx.nodes()), backend, victim["name"]), token).get("status")
        record["direct"] = blob_sdk.read_direct(backend, cfg, f"{tenant}/{victim['name']}")
        out["delete"].append(record)
    return out


def chaos_one(ctx: RunContext, rng: random.Random, emulators: Any, token: str, tenant: str, backend: str,
              cfg: dict[str, Any], index: int) -> dict[str, Any]:
    """The backend's emulator paused when half of an upload's body reached the target (so the target's own
    upload to the backend meets a stopped backend); the answer, then after the resume what the target and
    the backend hold."""
    plan = ctx.plan["cloud"]
    size, share = int(plan["chaos_bytes"]), float(plan["chaos_pause_at"])
    entry: dict[str, Any] = {"size": size, "paused": False}
    name = f"chaos-{backend}"
    paused = threading.Event()

    def progress(sent: int) -> None:
        if not paused.is_set() and sent >= size * share:
            paused.set()
            try:
                emulators.pause(backend)
                entry["paused"] = True
                entry["paused_at_bytes"] = sent
            except Tier7Error as exc:
                entry["pause_error"] = str(exc)

    writer = rng.choice(ctx.nodes())
    payload = Payload(ctx.seed * 1000 + 500 + index, size, progress)
    with httpx.Client(timeout=float(plan["chaos_answer_deadline_s"])) as http:
        try:
            entry["put"] = put(http, _url(writer, backend, name), token, payload)
        finally:
            if paused.is_set():
                emulators.resume(backend)
                entry["resumed"] = True
        entry["expected_sha256"] = Payload.expected(payload.seed, size)
        entry["read_after"] = get(http, _url(rng.choice(ctx.nodes()), backend, name), token)
    entry["direct_after"] = blob_sdk.read_direct(backend, cfg, f"{tenant}/{name}")
    return entry
