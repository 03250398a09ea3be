"""Blob backends of the blob API (contract "Blobs (v4)"): S3 through boto3, Azure Blob through
azure-storage-blob, Google Cloud Storage through google-cloud-storage. The calls are blocking; the API
runs them in threads (testbed/blob_api.py).

Where a backend is: ``<testbed dir>/blobs.json`` (written by the harness's testbed driver when it starts the
emulators; path overridable with ``TESTBED_BLOBS_CONFIG``), re-read when it changes. A backend missing there
falls back to its SDK's usual environment: S3 the boto3 chain (``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``,
...) with ``TESTBED_S3_BUCKET``; Azure ``AZURE_STORAGE_CONNECTION_STRING`` with ``TESTBED_AZURE_CONTAINER``;
GCS ``STORAGE_EMULATOR_HOST`` or Application Default Credentials with ``TESTBED_GCS_BUCKET``. So pointing the
testbed at real clouds is configuration only. Credentials are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

SETTINGS: dict[str, Any] = tomllib.loads(Path(__file__).with_name("blobs.toml").read_text(encoding="utf-8"))
BACKENDS = ("s3", "azure", "gcs")

# The SDKs log every request at INFO (Azure's HTTP logging policy: URL and headers) and retries at WARNING:
# noise in the node's log, and a URL can carry a signature. Only their errors reach the node's log.
for _name in ("azure", "botocore", "boto3", "s3transfer", "google", "urllib3"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class BlobNotFound(Exception):
    """The object does not exist."""


class BackendUnavailable(Exception):
    """The backend is not configured (no endpoint, bucket or credentials)."""


class BackendError(Exception):
    """The backend failed or did not answer in time; the message names the SDK error class only."""


def _err(exc: BaseException) -> BackendError:
    # The class name only: SDK messages can quote request URLs with signatures.
    return BackendError(f"{exc.__class__.__name__}")


class S3Backend:
    """Amazon S3 (or moto in server mode) through boto3; multipart above the threshold."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        t, b = SETTINGS["transfer"], SETTINGS["backend"]
        session = boto3.session.Session(aws_access_key_id=cfg.get("access_key_id"),
                                        aws_secret_access_key=cfg.get("secret_access_key"),
                                        region_name=cfg.get("region") or None)
        self.client = session.client(
            "s3", endpoint_url=cfg.get("endpoint_url") or None,
            config=Config(connect_timeout=b["connect_timeout_s"], read_timeout=b["read_timeout_s"],
                          retries={"max_attempts": 1 + int(b["retries"]), "mode": "standard"},
                          s3={"addressing_style": "path"}, max_pool_connections=16))
        self.transfer = TransferConfig(multipart_threshold=t["multipart_threshold"],
                                       multipart_chunksize=t["part_bytes"], max_concurrency=t["concurrency"])
        self.bucket = cfg["bucket"]

    def put(self, key: str, body: BinaryIO, size: int) -> None:
        try:
            self.client.upload_fileobj(body, self.bucket, key, Config=self.transfer)
        except Exception as exc:
            raise _err(exc) from None

    def open(self, key: str) -> tuple[int, Iterator[bytes]]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobNotFound(key) from None
            raise _err(exc) from None
        except Exception as exc:
            raise _err(exc) from None
        return int(answer["ContentLength"]), answer["Body"].iter_chunks(SETTINGS["transfer"]["read_chunk_bytes"])

    def delete(self, key: str) -> None:
        from botocore.exceptions import ClientError

        try:  # S3 deletes are idempotent: look first so a missing object answers 404
            self.client.head_object(Bucket=self.bucket, Key=key)
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFound(key) from None
            raise _err(exc) from None
        except Exception as exc:
            raise _err(exc) from None

    def list(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        try:
            out: list[dict[str, Any]] = []
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                out += [{"key": o["Key"], "size": int(o["Size"])} for o in page.get("Contents", [])]
                if len(out) > limit:
                    break
            return out
        except Exception as exc:
            raise _err(exc) from None


class AzureBackend:
    """Azure Blob Storage (or Azurite) through azure-storage-blob; staged blocks above the threshold."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        from azure.storage.blob import BlobServiceClient, ExponentialRetry

        t, b = SETTINGS["transfer"], SETTINGS["backend"]
        # the SDK's default retry waits 15 s before its first retry: far longer than the other SDKs
        retry = ExponentialRetry(initial_backoff=float(b["retry_backoff_s"]), increment_base=2,
                                 retry_total=int(b["retries"]))
        service = BlobServiceClient.from_connection_string(
            cfg["connection_string"], connection_timeout=b["connect_timeout_s"], read_timeout=b["read_timeout_s"],
            retry_policy=retry, max_single_put_size=t["multipart_threshold"],
            max_block_size=t["part_bytes"], max_chunk_get_size=t["part_bytes"],
            max_single_get_size=t["part_bytes"])
        self.container = service.get_container_client(cfg["container"])
        self.concurrency = int(t["concurrency"])

    def put(self, key: str, body: BinaryIO, size: int) -> None:
        try:
            self.container.upload_blob(key, body, length=size, overwrite=True, max_concurrency=self.concurrency)
        except Exception as exc:
            raise _err(exc) from None

    def open(self, key: str) -> tuple[int, Iterator[bytes]]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = self.container.download_blob(key)
        except ResourceNotFoundError:
            raise BlobNotFound(key) from None
        except Exception as exc:
            raise _err(exc) from None
        return int(downloader.size), downloader.chunks()

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.delete_blob(key)
        except ResourceNotFoundError:
            raise BlobNotFound(key) from None
        except Exception as exc:
            raise _err(exc) from None

    def list(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        try:
            out = []
            for item in self.container.list_blobs(name_starts_with=prefix):
                out.append({"key": item.name, "size": int(item.size)})
                if len(out) > limit:
                    break
            return out
        except Exception as exc:
            raise _err(exc) from None


class GcsBackend:
    """Google Cloud Storage (or fake-gcs-server) through google-cloud-storage; resumable upload in chunks
    above the threshold, ranged reads pinned to the object's generation."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        from google.cloud import storage

        endpoint = cfg.get("endpoint") or os.environ.get("STORAGE_EMULATOR_HOST")
        if endpoint:  # an emulator: anonymous, as the SDK itself does with STORAGE_EMULATOR_HOST
            from google.auth.credentials import AnonymousCredentials

            client = storage.Client(project=cfg.get("project") or "tier7", credentials=AnonymousCredentials(),
                                    client_options={"api_endpoint": endpoint})
        else:
            client = storage.Client(project=cfg.get("project") or None)
        self.bucket = client.bucket(cfg["bucket"])
        b = SETTINGS["backend"]
        self.timeout = (float(b["connect_timeout_s"]), float(b["read_timeout_s"]))

    def put(self, key: str, body: BinaryIO, size: int) -> None:
        t = SETTINGS["transfer"]
        chunk = int(t["part_bytes"]) if size >= int(t["multipart_threshold"]) else None
        try:
            self.bucket.blob(key, chunk_size=chunk).upload_from_file(body, size=size, timeout=self.timeout,
                                                                     retry=None)
        except Exception as exc:
            raise _err(exc) from None

    def open(self, key: str) -> tuple[int, Iterator[bytes]]:
        from google.api_core.exceptions import NotFound

        try:
            blob = self.bucket.get_blob(key, timeout=self.timeout, retry=None)
        except NotFound:
            raise BlobNotFound(key) from None
        except Exception as exc:
            raise _err(exc) from None
        if blob is None:
            raise BlobNotFound(key)
        return int(blob.size or 0), self._ranges(key, int(blob.size or 0), blob.generation)

    def _ranges(self, key: str, size: int, generation: int | None) -> Iterator[bytes]:
        step = int(SETTINGS["transfer"]["read_chunk_bytes"]) * 8
        pinned = self.bucket.blob(key, generation=generation)
        for start in range(0, size, step):
            try:
                yield pinned.download_as_bytes(start=start, end=min(size, start + step) - 1, timeout=self.timeout,
                                               checksum=None, retry=None)
            except Exception as exc:
                raise _err(exc) from None

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self.bucket.blob(key).delete(timeout=self.timeout, retry=None)
        except NotFound:
            raise BlobNotFound(key) from None
        except Exception as exc:
            raise _err(exc) from None

    def list(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        try:
            out = []
            for item in self.bucket.client.list_blobs(self.bucket, prefix=prefix, timeout=self.timeout):
                out.append({"key": item.name, "size": int(item.size or 0)})
                if len(out) > limit:
                    break
            return out
        except Exception as exc:
            raise _err(exc) from None


KINDS = {"s3": S3Backend, "azure": AzureBackend, "gcs": GcsBackend}


def from_environment(backend: str) -> dict[str, Any] | None:
    """A backend's settings from its SDK's usual environment variables, or None when not configured."""
    env = os.environ
    if backend == "s3" and env.get("TESTBED_S3_BUCKET"):
        return {"bucket": env["TESTBED_S3_BUCKET"]}  # endpoint and keys: boto3's own chain
    if backend == "azure" and env.get("AZURE_STORAGE_CONNECTION_STRING") and env.get("TESTBED_AZURE_CONTAINER"):
        return {"connection_string": env["AZURE_STORAGE_CONNECTION_STRING"],
                "container": env["TESTBED_AZURE_CONTAINER"]}
    if backend == "gcs" and env.get("TESTBED_GCS_BUCKET"):
        return {"bucket": env["TESTBED_GCS_BUCKET"], "project": env.get("GOOGLE_CLOUD_PROJECT")}
    return None


class Backends:
    """The configured backends of this node, rebuilt when the config file changes (emulators started later)."""

    def __init__(self, config_file: Path | None) -> None:
        override = os.environ.get("TESTBED_BLOBS_CONFIG")
        self.path = Path(override) if override else config_file
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._built: dict[str, Any] = {}

    def _settings(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
        except OSError:
            return {}
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            try:
                self._file = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._file = {}
            self._stamp, self._built = stamp, {}
        return self._file if isinstance(self._file, dict) else {}

    def get(self, backend: str) -> Any:
        """The backend's adapter; BackendUnavailable when it is not configured."""
        with self._lock:
            settings = self._settings()
            if backend in self._built:
                return self._built[backend]
            cfg = settings.get(backend) if isinstance(settings.get(backend), dict) else from_environment(backend)
            if not cfg:
                raise BackendUnavailable(f"blob backend {backend!r} is not configured on this node")
            try:
                adapter = KINDS[backend](cfg)
            except (KeyError, ValueError, ImportError) as exc:
                raise BackendUnavailable(f"blob backend {backend!r} is misconfigured "
                                         f"({exc.__class__.__name__})") from None
            self._built[backend] = adapter
            return adapter
