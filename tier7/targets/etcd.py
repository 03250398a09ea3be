"""The etcd target driver (issue 14): independent etcd clusters (Debian's etcd-server) on loopback, one Raft
group each, federated on the client side by the harness's own ring; layout in tier7/targets/etcd.toml
(default 3 clusters x 3 members, member i of every cluster in region i). Peer (Raft) traffic crosses the
fault proxy (``python -m chaos.proxy``, one link per member). Data dirs and logs in the target folder, each
process in its own process group, stopped by PID.

Capabilities: ``KvClient`` (tier7/targets/etcd_kv.py: each key to the cluster the ring names), ``Topology``
(``/v3/maintenance/status``: leader and raft term per member, per cluster), ``ProcessControl`` (kill, start,
pause, resume a member), ``Logs`` and ``Federation`` (several independent groups behind the harness's ring,
published in ``ring_params()``; placement is judged from each member's own store, never asked of a
router). No tenants, CRDTs, SQL, blobs, preset, contract or scaling: criteria needing them are NOT
APPLICABLE with the capability named.
"""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ..errors import Tier7Error
from ..history import HistoryWriter
from ..ring import HarnessRing
from ..toxiproxy import ToxiproxyClient
from ..waiting import DeadlineExceeded, wait_until
from .base import Capability, NodeInfo
from .etcd_kv import FederatedKv, local_keys
from .etcd_layout import PROXY, Layout, Ports, load_layout, member_argv, pick_ports, proxy_argv, proxy_links
from .foreign import LEVELS, MemberControl, MemberProcesses, RecordingKv, require_binary, write_json_logs

LAYOUT_KEY = "layout"


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


class EtcdTarget(MemberControl):
    """Independent etcd clusters on loopback behind the harness's ring (see the module doc)."""

    name = "etcd"
    kind = "etcd"
    speaks_contract = False
    capabilities = frozenset({Capability.KV, Capability.TOPOLOGY, Capability.KILL, Capability.RESTART,
                              Capability.PAUSE, Capability.LOGS, Capability.FEDERATION})
    summary = ("3 etcd clusters x 3 members (Debian etcd-server) on loopback, peer traffic through the fault "
               "proxy, client-side federation by the harness's ring, v3 JSON gateway")

    def __init__(self, directory: Path, layout: Layout | None = None) -> None:
        self.procs = MemberProcesses(directory, self.kind)
        self.dir = self.procs.dir
        self.layout = layout or load_layout()
        self.ports = Ports({}, {}, {}, None)
        self.member_ids: dict[str, str] = {}
        self._http = httpx.Client()  # thread-safe; shared by the topology observations
        self._pool: ThreadPoolExecutor | None = None  # one thread per member, kept between observations
        self.discard_data = False  # `tier7 verify` sets it: the run folder keeps logs, not data
        self.ring = HarnessRing.from_contract(self.layout.ring_params())

    # -- creation and life cycle --

    @classmethod
    def create(cls, directory: Path, layout: Layout | None = None) -> EtcdTarget:
        """Lay out fresh clusters in ``directory`` (ports picked now; nothing started)."""
        binary = require_binary("etcd", "etcd-server")
        target = cls(directory, layout)
        if target.procs.state_file.exists() and cls.open(directory).procs.running():
            raise Tier7Error(f"an etcd cluster is already running in {target.dir}; stop it first")
        target.ports = pick_ports(target.layout)
        token = f"tier7-{secrets.token_hex(4)}"
        for member in target.layout.all_members():
            data_dir = target.dir / "data" / member
            target.procs.tags[member] = str(data_dir)
            target.procs.argv[member] = member_argv(binary, target.layout, target.ports, member, data_dir, token)
        if target.layout.peer_via_proxy:
            config = target.dir / "conf" / "proxy.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(json.dumps(proxy_links(target.ports), indent=2))
            label = f"tier7-etcd:{target.dir}"
            target.procs.argv[PROXY] = [*proxy_argv(target.ports, label), "--config", str(config)]
            target.procs.tags[PROXY] = label
        target.procs.extra = {"ports": target.ports.as_dict(), LAYOUT_KEY: target.layout.__dict__}
        target.procs.save()
        return target

    @classmethod
    def open(cls, directory: Path) -> EtcdTarget:
        probe = MemberProcesses(directory, cls.kind)
        data = probe.load()
        try:
            layout = Layout(**data[LAYOUT_KEY]) if LAYOUT_KEY in data else None
            target = cls(directory, layout)
            target.procs.load()
            target.ports = Ports.from_dict(data["ports"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Tier7Error(f"{probe.state_file}: not an etcd target of this version ({exc})") from None
        return target

    def start(self, timeout: float = 30.0) -> None:
        if PROXY in self.procs.argv:
            self.procs.start(PROXY)
            self._wait_proxy()
        for member in self.layout.all_members():
            self.procs.start(member)
        try:
            wait_until(lambda: all(v["leader"] for v in self.observe().values()), timeout, 0.1,
                       f"each of the {len(self.layout.clusters)} etcd clusters to elect a leader")
        except DeadlineExceeded as exc:
            raise Tier7Error(f"{exc} (member logs in {self.dir / 'logs'})") from None

    def _wait_proxy(self) -> None:
        client = ToxiproxyClient(self.proxy_api(), timeout=1.0)
        try:
            wait_until(lambda: len(client.proxies()) == len(self.layout.all_members()), self.layout.proxy_start_s,
                       0.05, "the fault proxy to answer with every peer link")
        except DeadlineExceeded as exc:
            raise Tier7Error(f"{exc} (see {self.procs.log_path(PROXY)})") from None
        except Exception as exc:  # noqa: BLE001 - the proxy exited or answered garbage
            raise Tier7Error(f"the fault proxy did not start: {exc} (see {self.procs.log_path(PROXY)})") from None
        finally:
            client.close()

    def proxy_api(self) -> str:
        """The fault proxy's Toxiproxy-compatible API (links ``peer-<member>``); '' without a proxy."""
        return f"http://127.0.0.1:{self.ports.proxy_api}" if self.ports.proxy_api else ""

    def stop(self) -> None:
        self.procs.stop_all(discard_data=self.discard_data)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._http.close()

    def _each_member(self, fn: Any) -> dict[str, Any]:
        """``fn(member, url)`` for every member at once (a tight sample time stamp); member -> result."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.members()), thread_name_prefix="etcd-observe")
        urls = self.urls()
        return dict(zip(urls, self._pool.map(lambda item: fn(*item), urls.items()), strict=True))

    def _learn_ids(self) -> None:
        for cluster in self.layout.clusters:
            for url in self.cluster_urls(cluster).values():
                try:
                    data = self._http.post(url + "/v3/cluster/member/list", json={}, timeout=2.0).json()
                except (httpx.HTTPError, ValueError):
                    continue
                found = {str(m["ID"]): m["name"] for m in data.get("members", []) if m.get("name")}
                if found:
                    self.member_ids.update(found)
                    break

    # -- Target protocol --

    def members(self) -> list[str]:
        return self.layout.all_members()

    def cluster_urls(self, cluster: str) -> dict[str, str]:
        return {m: f"http://127.0.0.1:{self.ports.client[m]}" for m in self.layout.members(cluster)}

    def urls(self) -> dict[str, str]:
        return {m: f"http://127.0.0.1:{self.ports.client[m]}" for m in self.members()}

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo(m, self.layout.cluster_of(m), self.layout.region_of(m), url) for m, url in self.urls().items()]

    def ring_params(self) -> dict[str, Any]:
        return self.layout.ring_params()

    def admin_token(self) -> str:
        return ""

    def secrets(self) -> list[str]:
        return []

    def log_files(self) -> dict[str, Path]:
        return {m: self.procs.log_path(m) for m in self.members()}

    def json_logs(self, folder: Path) -> dict[str, Path]:
        """Every member's log as harness JSON log lines in ``folder`` (for the log scan)."""
        return write_json_logs(self.log_files(), parse_log_line, folder)

    # -- KvClient --

    def kv_client(self, history: HistoryWriter, process: str, index: int = 0,
                  ring: HarnessRing | None = None) -> RecordingKv:
        """A recording client routing each key by ``ring`` (default: the target's own, ``ring_params()``)."""
        clusters = {c: self.cluster_urls(c) for c in self.layout.clusters}
        backend = FederatedKv(clusters, ring or self.ring, self.name, index)
        return RecordingKv(backend, history, process, tenant=self.name, region="client")

    def holders(self, prefix: str) -> dict[str, list[str] | None]:
        """Member -> the keys under ``prefix`` in its own store (None: it did not answer)."""
        return self._each_member(lambda _member, url: local_keys(self._http, url, prefix))

    # -- Topology --

    def groups(self) -> dict[str, list[str]]:
        return {c: self.layout.members(c) for c in self.layout.clusters}

    def observe(self, timeout: float = 0.5) -> dict[str, dict[str, Any]]:
        """Per cluster, each member's own view (``/v3/maintenance/status``, all asked in parallel): the
        cluster's leader is the one a majority of its members name (None without a majority), its term the
        highest reported."""
        if len(self.member_ids) < len(self.members()):  # learn the member IDs (once all have answered)
            self._learn_ids()
        answers = self._each_member(lambda member, url: self._status(member, url, timeout))
        return {c: self._group_view(c, answers) for c in self.layout.clusters}

    def _group_view(self, cluster: str, answers: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
        members: dict[str, str] = {}
        votes: dict[str, int] = {}
        terms: list[int] = []
        for member in self.layout.members(cluster):
            data = answers.get(member)
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
        size = self.layout.members_per_cluster
        agreed = [m for m, n in votes.items() if n > size // 2 and members.get(m) == "leader"]
        return {"leader": agreed[0] if agreed else None, "term": max(terms) if terms else None, "members": members}

    def _status(self, member: str, url: str, timeout: float) -> dict[str, Any] | None:
        """One member's ``/v3/maintenance/status`` (None: down, paused or not answering in ``timeout`` s)."""
        if self.procs.pids.get(member) and self.procs.is_paused(member):
            return None
        try:
            return self._http.post(url + "/v3/maintenance/status", json={}, timeout=timeout).json()
        except (httpx.HTTPError, ValueError):
            return None

    def leader(self, group: str | None = None) -> str | None:
        """The leader of ``group`` (default: the first cluster)."""
        return self.observe()[group or self.layout.clusters[0]]["leader"]
