"""The harness's own SDK access to the blob emulators (boto3, azure-storage-blob, google-cloud-storage):
create a bucket, and read an object *directly* from the backend, hashing it as it streams (SHA-256, never
held whole in memory). Independent of the testbed's adapters (testbed/blobs.py): the evidence that the bytes
really landed where the target says comes from here. ``cfg`` is one backend's entry of blobs.json.
"""

from __future__ import annotations

import hashlib
from typing import Any

CHUNK = 1 << 20  # bytes per read while hashing
TIMEOUT_S = 30.0  # seconds per SDK request


def _s3(cfg: dict[str, Any]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session(aws_access_key_id=cfg["access_key_id"], aws_secret_access_key=cfg["secret_access_key"],
                                 region_name=cfg.get("region") or "us-east-1").client(
        "s3", endpoint_url=cfg["endpoint_url"],
        config=Config(s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=TIMEOUT_S,
                      retries={"max_attempts": 2}))


def _azure(cfg: dict[str, Any]) -> Any:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(cfg["connection_string"], connection_timeout=5,
                                                       read_timeout=TIMEOUT_S, retry_total=1)
    return service.get_container_client(cfg["container"])


def _gcs(cfg: dict[str, Any]) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=cfg.get("project") or "tier7", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": cfg["endpoint"]})
    return client.bucket(cfg["bucket"])


def create_bucket(backend: str, cfg: dict[str, Any]) -> None:
    """Create the backend's bucket/container if it does not exist yet."""
    if backend == "s3":
        client = _s3(cfg)
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if cfg["bucket"] not in existing:
            client.create_bucket(Bucket=cfg["bucket"])
    elif backend == "azure":
        from azure.core.exceptions import ResourceExistsError

        try:
            _azure(cfg).create_container()
        except ResourceExistsError:
            pass
    else:
        bucket = _gcs(cfg)
        if not bucket.exists():
            bucket.client.create_bucket(bucket.name)


def read_direct(backend: str, cfg: dict[str, Any], key: str) -> dict[str, Any]:
    """``{"found": bool, "size": bytes, "sha256": hex}`` of the object as the backend holds it, streamed;
    ``{"error": class name}`` when the backend could not be read."""
    digest, size = hashlib.sha256(), 0
    try:
        if backend == "s3":
            from botocore.exceptions import ClientError

            try:
                body = _s3(cfg).get_object(Bucket=cfg["bucket"], Key=key)["Body"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return {"found": False}
                raise
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        elif backend == "azure":
            from azure.core.exceptions import ResourceNotFoundError

            try:
                downloader = _azure(cfg).download_blob(key)
            except ResourceNotFoundError:
                return {"found": False}
            for chunk in downloader.chunks():
                digest.update(chunk)
                size += len(chunk)
        else:
            blob = _gcs(cfg).get_blob(key)
            if blob is None:
                return {"found": False}
            with blob.open("rb", chunk_size=8 * CHUNK) as reader:
                while chunk := reader.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
    except Exception as exc:  # the class only: SDK messages may carry signed URLs
        return {"error": exc.__class__.__name__}
    return {"found": True, "size": size, "sha256": digest.hexdigest()}


def list_direct(backend: str, cfg: dict[str, Any], prefix: str) -> list[str] | dict[str, str]:
    """Object keys under ``prefix`` as the backend lists them; ``{"error": class}`` on failure."""
    try:
        if backend == "s3":
            pages = _s3(cfg).get_paginator("list_objects_v2").paginate(Bucket=cfg["bucket"], Prefix=prefix)
            return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        if backend == "azure":
            return sorted(b.name for b in _azure(cfg).list_blobs(name_starts_with=prefix))
        bucket = _gcs(cfg)
        return sorted(b.name for b in bucket.client.list_blobs(bucket, prefix=prefix))
    except Exception as exc:
        return {"error": exc.__class__.__name__}
