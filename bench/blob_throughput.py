"""Blob throughput per backend (contract "Blobs (v4)"): MB/s of a 64 MiB object written and read through
the testbed's blob API, next to the same object written and read directly with the SDK on the same
emulator (the emulator's own speed: the gap is the testbed's cost). Printed side by side, median of
``--rounds``. MB = 10^6 bytes.

    .venv/bin/python bench/blob_throughput.py [--mib 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cluster import tenant_token, testbed_cluster  # noqa: E402
from tier7.targets import blob_sdk  # noqa: E402

CHUNK = 1 << 20


def chunks(data: bytes):
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start:start + CHUNK])


def through_target(http: httpx.Client, url: str, token: str, data: bytes) -> tuple[float, float]:
    """(write s, read s) of one object through a node; the read is checked byte for byte (SHA-256)."""
    headers = {"authorization": f"Bearer {token}"}
    began = time.perf_counter()
    answer = http.put(url, content=chunks(data), headers={**headers, "content-length": str(len(data))})
    wrote = time.perf_counter() - began
    if answer.status_code != 201:
        raise SystemExit(f"PUT answered {answer.status_code}: {answer.text[:200]}")
    digest = hashlib.sha256()
    began = time.perf_counter()
    with http.stream("GET", url, headers=headers) as response:
        for part in response.iter_raw(CHUNK):
            digest.update(part)
    read = time.perf_counter() - began
    if digest.hexdigest() != hashlib.sha256(data).hexdigest():
        raise SystemExit(f"{url}: the object read back differs")
    return wrote, read


def direct(backend: str, cfg: dict, key: str, data: bytes) -> tuple[float, float]:
    """(write s, read s) of the same object with the SDK straight to the emulator (single request / default
    transfer settings of each SDK)."""
    began = time.perf_counter()
    if backend == "s3":
        blob_sdk._s3(cfg).put_object(Bucket=cfg["bucket"], Key=key, Body=data)
    elif backend == "azure":
        blob_sdk._azure(cfg).upload_blob(key, data, overwrite=True, max_concurrency=4)
    else:
        blob_sdk._gcs(cfg).blob(key, chunk_size=8 * CHUNK).upload_from_string(data)
    wrote = time.perf_counter() - began
    began = time.perf_counter()
    seen = blob_sdk.read_direct(backend, cfg, key)
    read = time.perf_counter() - began
    if seen.get("size") != len(data):
        raise SystemExit(f"{backend}: direct read back {seen}")
    return wrote, read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="object size in MiB (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per backend; the median is printed")
    args = parser.parse_args()
    if not 1 <= args.mib <= 256 or not 1 <= args.rounds <= 20:
        print("error: --mib must be 1-256 and --rounds 1-20", file=sys.stderr)
        return 2
    data = os.urandom(args.mib << 20)
    mb = len(data) / 1e6
    rows = []
    with testbed_cluster(geo="none") as target, httpx.Client(timeout=300) as http:
        emulators = target.emulators()
        began = time.perf_counter()
        config = emulators.start()
        start_s = time.perf_counter() - began
        tenant, token = tenant_token(target, http)
        node = target.nodes()[0]
        for backend in ("s3", "azure", "gcs"):
            tw, tr, dw, dr = [], [], [], []
            for i in range(args.rounds):
                w, r = through_target(http, f"{node.url}/v1/blobs/{backend}/bench-{i}", token, data)
                tw.append(w)
                tr.append(r)
                w, r = direct(backend, config[backend], f"direct/bench-{i}", data)
                dw.append(w)
                dr.append(r)
            rows.append((backend, *(mb / statistics.median(x) for x in (tw, tr, dw, dr))))
    print(f"blob throughput, {args.mib} MiB object, median of {args.rounds} round(s), MB/s "
          f"(emulators started in {start_s:.1f} s; one node, loopback)")
    print(f"{'backend':<8} {'target write':>13} {'target read':>12} {'direct write':>13} {'direct read':>12}")
    for backend, *figures in rows:
        print(f"{backend:<8} " + " ".join(f"{f:>12.1f}" for f in figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
