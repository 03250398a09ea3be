"""Shared parts of the foreign target drivers (etcd, Redis Sentinel; issue 14): member processes started
from Debian's binaries on loopback, each in its own process group, PIDs remembered in ``<dir>/foreign.json``
and stopped by PID (never by name); and ``RecordingKv``, the recording client over a driver's raw calls.

``RecordingKv`` records like tier7/client.py: an ``invoke`` before anything is sent and exactly one
completion: ``ok``; ``fail`` when the call certainly did not take effect (``NotApplied``: refused before
sending, a read-only replica, a CAS whose comparison failed); ``info`` when the outcome is unknown
(``Unknown``: a timeout or lost connection after sending, a server error). After an ``info`` the client
continues under a new process name (``f3`` -> ``f3.1``): a process never has two operations outstanding.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from ..history import HistoryWriter
from . import processes

STATE_FILE = "foreign.json"


class Outcome(Exception):
    """A call that did not end ``ok``. ``label``: the history's ``error``, one of the labels
    analysis/client_errors.toml knows (a contract code such as ``unavailable``, a transport exception class
    such as ``ConnectionRefusedError``, ``http_<status>``); ``status``: the HTTP-like status when the server
    answered (409 cas mismatch, 503 unavailable), else None; ``detail``: the server's own words."""

    def __init__(self, label: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(label)
        self.label, self.status, self.detail = label, status, detail


class NotApplied(Outcome):
    """The call certainly did not take effect (``fail``)."""


class Unknown(Outcome):
    """The call may or may not have taken effect (``info``)."""


class CasMismatch(NotApplied):
    """A compare-and-set whose comparison failed: not applied (recorded like the contract's 409)."""

    def __init__(self) -> None:
        super().__init__("cas_mismatch", 409)


def require_binary(binary: str, package: str) -> str:
    """The path of ``binary``; a one-line error naming the Debian package when it is missing."""
    path = shutil.which(binary)
    if path is None:
        raise Tier7Error(f"{binary} not found: install Debian's {package} package "
                         "(bash scripts/install-system-deps.sh)")
    return path


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (bound at once so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_open(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class MemberProcesses:
    """The member processes of one foreign cluster: ``argv`` per member, a log per member, PIDs in the
    state file. A PID is signalled only while /proc shows the command line started (``marker``)."""

    def __init__(self, directory: Path, kind: str) -> None:
        self.dir = Path(directory).resolve()
        self.kind = kind
        self.state_file = self.dir / STATE_FILE
        self.argv: dict[str, list[str]] = {}
        self.pids: dict[str, int] = {}
        self.tags: dict[str, str] = {}  # member -> an argument unique to it (its data dir or config file)
        self.extra: dict[str, Any] = {}

    def log_path(self, member: str) -> Path:
        return self.dir / "logs" / f"{member}.log"

    def marker(self, member: str) -> list[str]:
        return [self.argv[member][0], self.tags.get(member, self.argv[member][0])]

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"kind": self.kind, "argv": self.argv, "pids": self.pids,
                                               "tags": self.tags, **self.extra}, indent=2))

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text())
            self.argv = {k: list(v) for k, v in data["argv"].items()}
            self.pids = {k: int(v) for k, v in data["pids"].items()}
            self.tags = {k: str(v) for k, v in data.get("tags", {}).items()}
        except FileNotFoundError:
            raise Tier7Error(f"no {self.kind} cluster in {self.dir} (no {STATE_FILE})") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise Tier7Error(f"{self.state_file} is corrupt ({exc}); stop its processes by hand") from None
        self.extra = {k: v for k, v in data.items() if k not in ("kind", "argv", "pids", "tags")}
        return data

    def is_running(self, member: str) -> bool:
        pid = self.pids.get(member)
        return pid is not None and processes.is_running(pid, self.marker(member))

    def start(self, member: str) -> None:
        if self.is_running(member):
            return
        self.pids[member] = processes.spawn(self.argv[member], self.log_path(member), cwd=self.dir)
        self.save()

    def kill(self, member: str) -> None:
        pid = self.pids.get(member)
        if pid is None or not processes.kill(pid, self.marker(member)):
            raise Tier7Error(f"{self.kind} member {member} is not running; nothing to kill")

    def pause(self, member: str) -> None:
        pid = self.pids.get(member)
        if pid is None or not processes.send(pid, signal.SIGSTOP, self.marker(member)):
            raise Tier7Error(f"{self.kind} member {member} is not running; nothing to pause")
        deadline = time.monotonic() + 5.0
        while processes.state(pid) != "T" and time.monotonic() < deadline:  # SIGSTOP takes effect async
            time.sleep(0.01)

    def resume(self, member: str) -> None:
        pid = self.pids.get(member)
        if pid is None or not processes.send(pid, signal.SIGCONT, self.marker(member)):
            raise Tier7Error(f"{self.kind} member {member} is not running; nothing to resume")

    def is_paused(self, member: str) -> bool:
        pid = self.pids.get(member)
        return pid is not None and self.is_running(member) and processes.state(pid) == "T"

    def stop_all(self, discard_data: bool = False) -> None:
        """Stop every member this driver started (SIGTERM, then SIGKILL after a grace), by PID; with
        ``discard_data`` also remove ``<dir>/data`` (etcd preallocates 64 MB WAL files per member: a run
        folder keeps the logs, not the data)."""
        for member, pid in self.pids.items():
            processes.stop(pid, self.marker(member), grace=3.0)
        self.save()
        if discard_data and not self.running():
            shutil.rmtree(self.dir / "data", ignore_errors=True)

    def running(self) -> list[str]:
        return [m for m in self.pids if self.is_running(m)]


class MemberControl:
    """``ProcessControl`` of a foreign driver, delegated to its ``MemberProcesses`` (``self.procs``): kill,
    start, pause, resume one member by PID (its own process group), and which members run."""

    procs: MemberProcesses

    def kill_node(self, node: str) -> None:
        self.procs.kill(node)

    def start_node(self, node: str) -> None:
        self.procs.start(node)

    def pause_node(self, node: str) -> None:
        self.procs.pause(node)

    def resume_node(self, node: str) -> None:
        self.procs.resume(node)

    def running(self) -> list[str]:
        return self.procs.running()


class RecordingKv:
    """The recording KV client over a driver's raw calls (see the module doc). ``backend`` has
    ``put(key, value)``, ``get(key) -> str | None``, ``cas(key, expected, new)`` (raises ``CasMismatch``),
    ``delete(key)``, ``close()`` and ``node`` / ``group`` (who served the last call)."""

    def __init__(self, backend: Any, history: HistoryWriter, process: str, tenant: str, region: str) -> None:
        self.backend, self.history, self.process = backend, history, process
        self.tenant, self.region = tenant, region
        self._restarts = 0
        self.base = process
        self.last: Any = None  # the value the last ok get read (None: absent)

    def _call(self, f: str, key: str, value: Any, fn: Any, **extra: Any) -> str:
        op = self.history.invoke(self.process, f, key=key, tenant=self.tenant, region=self.region, value=value,
                                 **extra)
        started = time.monotonic()
        kind, out, error, status, detail = "ok", value, None, None, None
        try:
            result = fn()
            if f == "get":
                out = result
            elif f == "delete":
                out = None
        except Outcome as exc:
            kind = "fail" if isinstance(exc, NotApplied) else "info"
            out, error, status, detail = None, exc.label, exc.status, exc.detail or None
        latency_ms = (time.monotonic() - started) * 1000.0
        if f == "get" and kind == "ok":
            self.last = out
        self.history.complete(kind, self.process, op, f, key=key, tenant=self.tenant, region=self.region,
                              value=out, error=error, status=status, detail=detail, latency_ms=round(latency_ms, 3),
                              node=getattr(self.backend, "node", None), group=getattr(self.backend, "group", None))
        if kind == "info":  # the operation may still land: never two outstanding ops in one process
            self._restarts += 1
            self.process = f"{self.base}.{self._restarts}"
        return kind

    def put(self, key: str, value: str, once: bool = False) -> str:
        extra = {"once": True} if once else {}
        return self._call("put", key, value, lambda: self.backend.put(key, value), **extra)

    def get(self, key: str) -> str:
        return self._call("get", key, None, lambda: self.backend.get(key))

    def cas(self, key: str, expected: str | None, new: str) -> str:
        return self._call("cas", key, [expected, new], lambda: self.backend.cas(key, expected, new))

    def delete(self, key: str) -> str:
        return self._call("delete", key, None, lambda: self.backend.delete(key))

    def close(self) -> None:
        self.backend.close()


# -- logs: each member's own format turned into the harness's JSON log lines (docs/contract.md "Logs") --

LEVELS = {"debug": "DEBUG", "info": "INFO", "notice": "INFO", "warn": "WARNING", "warning": "WARNING",
          "error": "ERROR", "dpanic": "CRITICAL", "panic": "CRITICAL", "fatal": "CRITICAL"}


def json_log_lines(source: Path, parse: Any) -> list[str]:
    """``source``'s lines as JSON log entries (numeric ``ts``, upper-case ``level``, ``msg``) where ``parse``
    understands them; any other line is kept as it is, so the log scan reports it (a Go panic's stack, a
    crash message) as unparseable rather than losing it."""
    out = []
    for raw in source.read_text(encoding="utf-8", errors="replace").splitlines():
        entry = parse(raw) if raw.strip() else None
        out.append(json.dumps(entry, separators=(",", ":")) if entry else raw)
    return out


def write_json_logs(logs: dict[str, Path], parse: Any, folder: Path) -> dict[str, Path]:
    """Convert every member's log into ``folder/<member>.log``; returns the converted files."""
    folder.mkdir(parents=True, exist_ok=True)
    converted = {}
    for member, path in logs.items():
        if path.exists():
            target = folder / f"{member}.log"
            target.write_text("\n".join(json_log_lines(path, parse)) + "\n", encoding="utf-8")
            converted[member] = target
    return converted
