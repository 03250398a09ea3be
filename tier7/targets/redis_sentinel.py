"""The Redis Sentinel target driver (issue 14): one primary and two replicas (Debian's redis-server) and three
sentinels (redis-sentinel) on loopback, configs, data and logs in the target folder, each process in its own
process group (``set-proc-title no`` keeps /proc's command line, so PIDs are checked before signalling).

Capabilities: ``KvClient`` (SET, GET, DEL; CAS as a Lua script comparing the value, or absence), following
Sentinel's primary like real clients: the primary is asked of the sentinels at the start and again only
after an error (a lost connection, a READONLY answer), never before every call; ``Topology`` (the primary the
sentinels agree on as the group's leader, their epoch as the term); ``ProcessControl``; ``Logs``.

Replication is asynchronous: a primary paused longer than ``down-after-milliseconds`` is replaced, and when
it resumes it answers the writes its clients had queued (acknowledged) until Sentinel turns it into a replica
of the new primary, which drops them (Jepsen's 2013 Redis result). The harness is expected to catch it.

Recording: refused before sending -> ``fail``; a READONLY or other error reply -> ``fail`` (the server refused
it); a timeout or lost connection after sending -> ``info``; a CAS whose comparison failed -> ``fail``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import Tier7Error
from ..history import HistoryWriter
from ..waiting import DeadlineExceeded, wait_until
from .base import Capability, NodeInfo
from .foreign import (
    CasMismatch,
    MemberControl,
    MemberProcesses,
    NotApplied,
    RecordingKv,
    Unknown,
    free_ports,
    require_binary,
    write_json_logs,
)

GROUP = "redis"
MASTER = "tier7"
SERVERS = ("r1", "r2", "r3")
SENTINELS = ("s1", "s2", "s3")
REGIONS = {"r1": "us-east", "r2": "eu-west", "r3": "ap-south"}
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 4000
CLIENT_TIMEOUT_S = 10.0  # longer than the schedule's pause: queued writes are answered when the primary resumes
CAS_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur == false) or (ARGV[1] ~= '' and cur == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[3]); return 1
end
return 0
"""


# "1234:M 02 Dec 2026 02:00:00.123 * message": pid, role (M/S/X sentinel/C child), time, level mark, text
LOG_LINE = re.compile(r"^(\d+):([A-Z]) (\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.\-*#]) (.*)$")
LOG_MARKS = {".": "DEBUG", "-": "DEBUG", "*": "INFO", "#": "WARNING"}  # Redis has no error level


def parse_log_line(line: str) -> dict[str, Any] | None:
    """One Redis / Sentinel log line as a harness log entry (its local time stamp read as UTC: the
    servers run with this process's TZ, and only order and distance matter to the scan)."""
    match = LOG_LINE.match(line)
    if match is None:
        return None
    pid, role, stamp, mark, text = match.groups()
    try:
        ts = datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return {"ts": ts, "level": LOG_MARKS[mark], "msg": text, "pid": int(pid), "role": role}


def _connection(port: int, timeout: float) -> redis.Connection:
    return redis.Connection(host="127.0.0.1", port=port, socket_timeout=timeout, socket_connect_timeout=1.0,
                            retry=Retry(NoBackoff(), 0))


class SentinelKv:
    """Raw calls to the primary the sentinels name; re-asked only after an error."""

    def __init__(self, target: RedisSentinelTarget) -> None:
        self.target = target
        self.group = GROUP
        self.node: str | None = None
        self.conn: redis.Connection | None = None

    def _connect(self) -> redis.Connection:
        if self.conn is None:
            port = self.target.primary_port()
            if port is None:
                raise NotApplied("unavailable", 503, "no primary the sentinels agree on")
            self.node = self.target.member_of_port(port)
            conn = _connection(port, CLIENT_TIMEOUT_S)
            try:
                conn.connect()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                label = "TimeoutError" if isinstance(exc, redis.TimeoutError) else "ConnectionRefusedError"
                raise NotApplied(label, detail=str(exc)) from None
            self.conn = conn
        return self.conn

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.disconnect()
        self.conn = None

    def _call(self, *args: Any) -> Any:
        conn = self._connect()
        try:
            conn.send_command(*args)
            return conn.read_response()
        except redis.ResponseError as exc:  # an error reply: the server refused it (READONLY: a replica now)
            self._drop()
            raise NotApplied("unavailable", 503, str(exc)) from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self._drop()
            label = "TimeoutError" if isinstance(exc, redis.TimeoutError) else "ConnectionError"
            raise Unknown(label, detail=str(exc)) from None

    def put(self, key: str, value: str) -> None:
        self._call("SET", key, value)

    def get(self, key: str) -> str | None:
        value = self._call("GET", key)
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def cas(self, key: str, expected: str | None, new: str) -> None:
        # ARGV[1] flags "expect absent" (''), ARGV[2] the expected value, ARGV[3] the new value
        applied = self._call("EVAL", CAS_SCRIPT, 1, key, "" if expected is None else "1", expected or "", new)
        if applied != 1:
            raise CasMismatch()

    def delete(self, key: str) -> None:
        self._call("DEL", key)

    def close(self) -> None:
        self._drop()


class RedisSentinelTarget(MemberControl):
    """One primary, two replicas and three sentinels on loopback (see the module doc)."""

    name = "redis-sentinel"
    kind = "redis-sentinel"
    speaks_contract = False
    capabilities = frozenset({Capability.KV, Capability.TOPOLOGY, Capability.KILL, Capability.RESTART,
                              Capability.PAUSE, Capability.LOGS})
    summary = ("1 primary + 2 replicas (redis-server) + 3 sentinels (redis-sentinel) on loopback, "
               "asynchronous replication")

    def __init__(self, directory: Path) -> None:
        self.procs = MemberProcesses(directory, self.kind)
        self.dir = self.procs.dir
        self.ports: dict[str, int] = {}
        self.discard_data = False  # `tier7 verify` sets it: the run folder keeps logs, not data

    @classmethod
    def create(cls, directory: Path) -> RedisSentinelTarget:
        server = require_binary("redis-server", "redis-server")
        sentinel = require_binary("redis-sentinel", "redis-sentinel")
        target = cls(directory)
        if target.procs.state_file.exists() and cls.open(directory).procs.running():
            raise Tier7Error(f"a redis-sentinel cluster is already running in {target.dir}; stop it first")
        ports = free_ports(len(SERVERS) + len(SENTINELS))
        target.ports = dict(zip(SERVERS + SENTINELS, ports, strict=True))
        primary = target.ports[SERVERS[0]]
        for member in SERVERS + SENTINELS:
            data = target.dir / "data" / member
            data.mkdir(parents=True, exist_ok=True)
            conf = target.dir / "conf" / f"{member}.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"port {target.ports[member]}", "bind 127.0.0.1", "protected-mode no", "daemonize no",
                     "set-proc-title no", f"dir {data}", 'logfile ""']
            if member in SERVERS:
                lines += ['save ""', "appendonly no", "repl-diskless-sync yes", "repl-diskless-sync-delay 0"]
                if member != SERVERS[0]:
                    lines.append(f"replicaof 127.0.0.1 {primary}")
                target.procs.argv[member] = [server, str(conf)]
            else:
                lines += [f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2",
                          f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
                          f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
                          f"sentinel parallel-syncs {MASTER} 1"]
                target.procs.argv[member] = [sentinel, str(conf)]
            conf.write_text("\n".join(lines) + "\n")
            target.procs.tags[member] = str(conf)
        target.procs.extra = {"ports": target.ports}
        target.procs.save()
        return target

    @classmethod
    def open(cls, directory: Path) -> RedisSentinelTarget:
        target = cls(directory)
        data = target.procs.load()
        target.ports = {k: int(v) for k, v in data.get("ports", {}).items()}
        return target

    def start(self, timeout: float = 30.0) -> None:
        for member in SERVERS + SENTINELS:
            self.procs.start(member)
        try:
            wait_until(self._ready, timeout, 0.1, "the redis primary, its 2 replicas and 3 sentinels")
        except DeadlineExceeded as exc:
            raise Tier7Error(f"{exc} (logs in {self.dir / 'logs'})") from None

    def _ready(self) -> bool:
        view = self.observe()[GROUP]
        if view["leader"] is None or any(view["members"].get(m) == "down" for m in SERVERS):
            return False
        try:
            info = self._ask(self.ports[view["leader"]], "INFO", "replication").decode()
        except (redis.RedisError, OSError, AttributeError):
            return False
        if "connected_slaves:2" not in info:
            return False
        # every sentinel must know both replicas and the two other sentinels, or it cannot fail over
        for sentinel in SENTINELS:
            pairs = self._sentinel_master(sentinel)
            if pairs.get("num-slaves") != "2" or pairs.get("num-other-sentinels") != "2":
                return False
        return True

    def _sentinel_master(self, sentinel: str) -> dict[str, str]:
        """``SENTINEL master`` as seen by one sentinel ({} when it does not answer)."""
        try:
            fields = self._ask(self.ports[sentinel], "SENTINEL", "master", MASTER)
        except (redis.RedisError, OSError):
            return {}
        def text(v: Any) -> str:
            return v.decode() if isinstance(v, bytes) else str(v)

        if isinstance(fields, dict):  # RESP3 (redis-py 8) answers a map, RESP2 a flat list
            return {text(k): text(v) for k, v in fields.items()}
        flat = [text(f) for f in fields]
        return dict(zip(flat[::2], flat[1::2], strict=False))

    def stop(self) -> None:
        self.procs.stop_all(discard_data=self.discard_data)

    # -- Target protocol --

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo(m, GROUP, REGIONS[m], f"redis://127.0.0.1:{self.ports[m]}") for m in SERVERS]

    def admin_token(self) -> str:
        return ""

    def secrets(self) -> list[str]:
        return []

    def log_files(self) -> dict[str, Path]:
        return {m: self.procs.log_path(m) for m in SERVERS + SENTINELS}

    def json_logs(self, folder: Path) -> dict[str, Path]:
        """Every process's log as harness JSON log lines in ``folder`` (for the log scan)."""
        return write_json_logs(self.log_files(), parse_log_line, folder)

    # -- KvClient --

    def kv_client(self, history: HistoryWriter, process: str, index: int = 0) -> RecordingKv:
        return RecordingKv(SentinelKv(self), history, process, tenant=self.name, region="client")

    # -- Topology --

    def member_of_port(self, port: int) -> str | None:
        return next((m for m, p in self.ports.items() if p == port), None)

    def _ask(self, port: int, *args: Any, timeout: float = 0.3) -> Any:
        conn = _connection(port, timeout)
        try:
            conn.send_command(*args)
            return conn.read_response()
        finally:
            conn.disconnect()

    def primary_port(self) -> int | None:
        """The primary a majority of the answering sentinels name (None when they disagree or none answer)."""
        seen: dict[int, int] = {}
        for sentinel in SENTINELS:
            if self.procs.is_paused(sentinel):
                continue
            try:
                answer = self._ask(self.ports[sentinel], "SENTINEL", "get-master-addr-by-name", MASTER)
            except (redis.RedisError, OSError):
                continue
            if answer:
                port = int(answer[1])
                seen[port] = seen.get(port, 0) + 1
        best = max(seen.items(), key=lambda kv: kv[1], default=None)
        return best[0] if best and best[1] >= 2 else None

    def groups(self) -> dict[str, list[str]]:
        return {GROUP: list(SERVERS)}

    def observe(self) -> dict[str, dict[str, Any]]:
        members: dict[str, str] = {}
        for server in SERVERS:
            if not self.procs.is_running(server) or self.procs.is_paused(server):
                members[server] = "down"
                continue
            try:
                role = self._ask(self.ports[server], "ROLE")[0]
                members[server] = "leader" if role in (b"master", "master") else "follower"
            except (redis.RedisError, OSError, IndexError, TypeError):
                members[server] = "down"
        port = self.primary_port()
        leader = self.member_of_port(port) if port else None
        term = None
        for sentinel in SENTINELS:  # the master's config-epoch: it grows with every failover
            if not self.procs.is_paused(sentinel) and (epoch := self._sentinel_master(sentinel).get("config-epoch")):
                term = int(epoch)
                break
        return {GROUP: {"leader": leader, "term": term, "members": members}}

    def leader(self, group: str | None = None) -> str | None:
        """The primary the sentinels agree on (one group: ``group`` is accepted for the protocol's sake)."""
        return self.observe()[group or GROUP]["leader"]
