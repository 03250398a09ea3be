"""The etcd target driver (issue 14): three etcd members (Debian's etcd-server) on loopback as one Raft group,
data dirs and JSON logs in the target folder, each member in its own process group, stopped by PID.

Capabilities: ``KvClient`` over etcd's v3 JSON gateway (``/v3/kv/put``, ``range`` (linearizable),
``txn`` for CAS on the value or on absence (``create_revision == 0``), ``deleterange``; keys and values
base64), ``Topology`` (``/v3/maintenance/status``: leader and raft term per member), ``ProcessControl``
(kill, start, pause, resume a member) and ``Logs``. One group: no federation, tenants, CRDTs, SQL, blobs,
regions or scaling (criteria needing them are NOT APPLICABLE with the capability named).

Recording (tier7/targets/foreign.py): connection refused before sending -> ``fail``; a timeout or lost
connection after sending, or any gateway error -> ``info`` (etcd may have applied it: a proposal can commit
after "request timed out" or "leader changed"); a txn whose comparison failed -> ``fail`` (cas mismatch).
"""

from __future__ import annotations

import base64
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ..errors import Tier7Error
from ..history import HistoryWriter
from ..waiting import DeadlineExceeded, wait_until
from .base import Capability, NodeInfo
from .foreign import (
    LEVELS,
    CasMismatch,
    MemberProcesses,
    NotApplied,
    RecordingKv,
    Unknown,
    free_ports,
    require_binary,
    write_json_logs,
)

GROUP = "etcd"
REGION = "local"
MEMBERS = ("e1", "e2", "e3")
TIMEOUT_S = 3.0  # one KV call; longer than an election (1 s election timeout) so most calls complete


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8")


def parse_log_line(line: str) -> dict[str, Any] | None:
    """One zap JSON line of etcd (``ts`` ISO 8601, ``level`` lower case) as a harness log entry."""
    try:
        entry = json.loads(line)
        ts = datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(entry, dict):
        return None
    level = LEVELS.get(str(entry.get("level", "")).lower(), "INFO")
    return {**entry, "ts": ts, "level": level, "msg": entry.get("msg", "")}


class EtcdKv:
    """Raw etcd v3 gateway calls through one member (the entry), moving to the next member when the entry
    refuses the connection (a killed member), as etcd's own client balancer does."""

    def __init__(self, urls: dict[str, str], first: int) -> None:
        self.urls = urls
        self.order = list(urls)
        self.index = first % len(self.order)
        self.node: str | None = self.order[self.index]
        self.group = GROUP
        self.http = httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=1.0))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.node = self.order[self.index]
        try:
            answer = self.http.post(self.urls[self.node] + path, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent: certainly not applied
            self.index = (self.index + 1) % len(self.order)
            label = "TimeoutError" if isinstance(exc, httpx.ConnectTimeout) else "ConnectionRefusedError"
            raise NotApplied(label, detail=str(exc)) from None
        except httpx.HTTPError as exc:  # sent: the member may have proposed it
            self.index = (self.index + 1) % len(self.order)
            label = "TimeoutError" if isinstance(exc, httpx.TimeoutException) else "ConnectionError"
            raise Unknown(label, detail=exc.__class__.__name__) from None
        try:
            data = answer.json()
        except ValueError:
            raise Unknown(f"http_{answer.status_code}", answer.status_code, "not JSON") from None
        if answer.status_code != 200 or "error" in data:
            # "leader changed", "request timed out": a proposal may still commit, so unknown
            raise Unknown(f"http_{answer.status_code}", answer.status_code,
                          str(data.get("error") or data.get("message")))
        return data

    def put(self, key: str, value: str) -> None:
        self._post("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def get(self, key: str) -> str | None:
        kvs = self._post("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def cas(self, key: str, expected: str | None, new: str) -> None:
        compare = ({"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
                   if expected is None else
                   {"key": _b64(key), "target": "VALUE", "result": "EQUAL", "value": _b64(expected)})
        data = self._post("/v3/kv/txn", {"compare": [compare],
                                         "success": [{"request_put": {"key": _b64(key), "value": _b64(new)}}]})
        if not data.get("succeeded"):
            raise CasMismatch()

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": _b64(key)})

    def close(self) -> None:
        self.http.close()


class EtcdTarget:
    """Three etcd members on loopback (see the module doc)."""

    name = "etcd"
    kind = "etcd"
    speaks_contract = False
    capabilities = frozenset({Capability.KV, Capability.TOPOLOGY, Capability.KILL, Capability.RESTART,
                              Capability.PAUSE, Capability.LOGS})
    summary = "3 etcd members (Debian etcd-server) on loopback, one Raft group, v3 JSON gateway"

    def __init__(self, directory: Path) -> None:
        self.procs = MemberProcesses(directory, self.kind)
        self.dir = self.procs.dir
        self.client_ports: dict[str, int] = {}
        self.member_ids: dict[str, str] = {}
        self._http = httpx.Client()  # thread-safe; shared by the topology observations
        self.discard_data = False  # `tier7 verify` sets it: the run folder keeps logs, not data

    # -- creation and life cycle --

    @classmethod
    def create(cls, directory: Path) -> EtcdTarget:
        """Lay out a fresh cluster in ``directory`` (ports picked now; nothing started)."""
        binary = require_binary("etcd", "etcd-server")
        target = cls(directory)
        if target.procs.state_file.exists():
            old = cls.open(directory)
            if old.procs.running():
                raise Tier7Error(f"an etcd cluster is already running in {target.dir}; stop it first")
        ports = free_ports(2 * len(MEMBERS))
        token = f"tier7-{secrets.token_hex(4)}"
        peers = {m: ports[len(MEMBERS) + i] for i, m in enumerate(MEMBERS)}
        initial = ",".join(f"{m}=http://127.0.0.1:{p}" for m, p in peers.items())
        for i, member in enumerate(MEMBERS):
            client = ports[i]
            target.client_ports[member] = client
            data_dir = target.dir / "data" / member
            target.procs.tags[member] = str(data_dir)
            target.procs.argv[member] = [
                binary, "--name", member, "--data-dir", str(data_dir),
                "--listen-client-urls", f"http://127.0.0.1:{client}",
                "--advertise-client-urls", f"http://127.0.0.1:{client}",
                "--listen-peer-urls", f"http://127.0.0.1:{peers[member]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[member]}",
                "--initial-cluster", initial, "--initial-cluster-token", token,
                "--initial-cluster-state", "new", "--logger", "zap", "--log-outputs", "stderr"]
        target.procs.extra = {"client_ports": target.client_ports}
        target.procs.save()
        return target

    @classmethod
    def open(cls, directory: Path) -> EtcdTarget:
        target = cls(directory)
        data = target.procs.load()
        target.client_ports = {k: int(v) for k, v in data.get("client_ports", {}).items()}
        return target

    def start(self, timeout: float = 30.0) -> None:
        for member in MEMBERS:
            self.procs.start(member)
        try:
            wait_until(lambda: self.leader() is not None, timeout, 0.1, "the etcd cluster to elect a leader")
        except DeadlineExceeded as exc:
            raise Tier7Error(f"{exc} (member logs in {self.dir / 'logs'})") from None
        self._learn_ids()

    def stop(self) -> None:
        self.procs.stop_all(discard_data=self.discard_data)
        self._http.close()

    def _learn_ids(self) -> None:
        for url in self.urls().values():
            try:
                data = httpx.post(url + "/v3/cluster/member/list", json={}, timeout=2.0).json()
            except (httpx.HTTPError, ValueError):
                continue
            self.member_ids = {str(m["ID"]): m["name"] for m in data.get("members", []) if m.get("name")}
            if self.member_ids:
                return

    # -- Target protocol --

    def urls(self) -> dict[str, str]:
        return {m: f"http://127.0.0.1:{p}" for m, p in self.client_ports.items()}

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo(m, GROUP, REGION, url) for m, url in self.urls().items()]

    def admin_token(self) -> str:
        return ""

    def secrets(self) -> list[str]:
        return []

    def log_files(self) -> dict[str, Path]:
        return {m: self.procs.log_path(m) for m in MEMBERS}

    def json_logs(self, folder: Path) -> dict[str, Path]:
        """Every member's log as harness JSON log lines in ``folder`` (for the log scan)."""
        return write_json_logs(self.log_files(), parse_log_line, folder)

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

    # -- KvClient --

    def kv_client(self, history: HistoryWriter, process: str, index: int = 0) -> RecordingKv:
        return RecordingKv(EtcdKv(self.urls(), index), history, process, tenant=self.name, region=REGION)

    # -- Topology --

    def groups(self) -> dict[str, list[str]]:
        return {GROUP: list(MEMBERS)}

    def observe(self, timeout: float = 0.5) -> dict[str, dict[str, Any]]:
        """Each member's own view (``/v3/maintenance/status``); the group's leader is the one a majority of
        the answering members name (None without a majority), its term the highest reported."""
        if not self.member_ids:  # a driver opened on a running cluster: learn the member IDs once
            self._learn_ids()
        members: dict[str, str] = {}
        votes: dict[str, int] = {}
        terms: list[int] = []
        with ThreadPoolExecutor(max_workers=len(MEMBERS)) as pool:  # in parallel: a tight sample time stamp
            answers = list(pool.map(lambda item: self._status(*item, timeout), self.urls().items()))
        for member, data in answers:
            if data is None:
                members[member] = "down"
                continue
            leader = self.member_ids.get(str(data.get("leader")))
            me = str((data.get("header") or {}).get("member_id"))
            members[member] = "leader" if me == str(data.get("leader")) else "follower"
            if leader:
                votes[leader] = votes.get(leader, 0) + 1
            if str(data.get("raftTerm", "")).isdigit():
                terms.append(int(data["raftTerm"]))
        agreed = [m for m, n in votes.items() if n > len(MEMBERS) // 2 and members.get(m) == "leader"]
        return {GROUP: {"leader": agreed[0] if agreed else None, "term": max(terms) if terms else None,
                        "members": members}}

    def _status(self, member: str, url: str, timeout: float) -> tuple[str, dict[str, Any] | None]:
        """One member's ``/v3/maintenance/status`` (None: down, paused or not answering in ``timeout`` s)."""
        if self.procs.pids.get(member) and self.procs.is_paused(member):
            return member, None
        try:
            return member, self._http.post(url + "/v3/maintenance/status", json={}, timeout=timeout).json()
        except (httpx.HTTPError, ValueError):
            return member, None

    def leader(self) -> str | None:
        return self.observe()[GROUP]["leader"]
