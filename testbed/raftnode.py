"""A node's membership in its Raft group (pysyncobj), with an asyncio face."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf
from pysyncobj.node import TCPNode
from pysyncobj.syncobj import _RAFT_STATE

from .config import Cluster, NodeSpec
from .eager_raft import EagerSyncObj
from .geo import routes
from .raftlog import install as install_raftlog_fix
from .store import KVState

ROLE_NAMES = {_RAFT_STATE.LEADER: "leader", _RAFT_STATE.FOLLOWER: "follower", _RAFT_STATE.CANDIDATE: "candidate"}

# Failures after which the command certainly did not enter the log (safe to retry elsewhere).
NOT_APPLIED = {FAIL_REASON.QUEUE_FULL, FAIL_REASON.MISSING_LEADER, FAIL_REASON.DISCARDED, FAIL_REASON.NOT_LEADER,
               FAIL_REASON.REQUEST_DENIED}


class RoutedNode(TCPNode):
    """A Raft partner known by its own address but reached through another one (a fault-proxy link).

    pysyncobj identifies a TCP peer by the address string it announces (the node id): the id stays the
    partner's real ``host:port``, so the handshake and every message still match; only the address we
    dial (``ip``/``port``, used by pysyncobj's transport to connect) is the link's.
    """

    def __init__(self, address: str, via: str) -> None:
        super().__init__(address)
        host, port = via.rsplit(":", 1)
        self._via = (host, int(port))

    @property
    def ip(self) -> str:
        return self._via[0]

    @property
    def port(self) -> int:
        return self._via[1]


class CommitFailed(Exception):
    """The command failed; ``applied`` is False when it certainly did not take effect, None if unknown."""

    def __init__(self, reason: str, applied: bool | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.applied = applied


class RaftMember:
    def __init__(self, cluster: Cluster, me: NodeSpec, on_commit_seconds: Callable[[float], None]) -> None:
        raft = cluster.preset["raft"]
        me.dir.mkdir(parents=True, exist_ok=True)
        conf = SyncObjConf(
            raftMinTimeout=raft["min_timeout"],
            raftMaxTimeout=raft["max_timeout"],
            appendEntriesPeriod=raft["append_entries_period"],
            connectionTimeout=raft["connection_timeout"],
            connectionRetryTime=raft["connection_retry"],
            autoTickPeriod=raft["tick_period"],
            leaderFallbackTimeout=raft["leader_fallback"],
            appendEntriesBatchSizeBytes=int(raft.get("append_entries_batch_bytes", 2 ** 16)),
            appendEntriesUseBatch=True,  # non-batched mode logs "state machine may have diverged" under load
            journalFile=str(me.dir / "raft.journal"),
            fullDumpFile=str(me.dir / "raft.dump"),
            commandsWaitLeader=True,
            dynamicMembershipChange=False,
        )
        via = routes(cluster.data, me.region, "raft")
        partners = [RoutedNode(m.raft_address, via[m.name]) if m.name in via else m.raft_address
                    for m in cluster.members(me.group) if m.name != me.name]
        self.address_to_name = {m.raft_address: m.name for m in cluster.members(me.group)}
        self.state = KVState(cluster.test_faults.get("lose_write_fraction", 0.0))
        self.commit_timeout = float(raft["commit_timeout"])
        self._on_commit_seconds = on_commit_seconds
        install_raftlog_fix()  # pysyncobj's follower drops matching entries; see raftlog.py
        restarted = (me.dir / "raft.journal").exists()
        raft_class = EagerSyncObj if raft.get("eager_append", False) else SyncObj
        self.syncobj = raft_class(me.raft_address, partners, conf=conf, consumers=[self.state])
        if cluster.test_faults.get("slow_election_s"):  # TEST ONLY: see slow_election.py
            from .slow_election import install as slow_elections

            slow_elections(self.syncobj, float(cluster.test_faults["slow_election_s"]), restarted)

    async def commit(self, command: Callable[..., Any], *args: Any) -> Any:
        """Run a replicated command and wait (seconds: ``commit_timeout``) for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        started = time.perf_counter()

        def settle(result: Any, error: int) -> None:
            if not future.done():
                if error == FAIL_REASON.SUCCESS:
                    future.set_result(result)
                else:
                    future.set_exception(CommitFailed(fail_name(error), False if error in NOT_APPLIED else None))

        command(*args, callback=lambda result, error: loop.call_soon_threadsafe(settle, result, error))
        try:
            result = await asyncio.wait_for(future, self.commit_timeout)
        except TimeoutError:
            raise CommitFailed("commit timeout", None) from None
        self._on_commit_seconds(time.perf_counter() - started)
        return result

    def status(self) -> dict[str, Any]:
        raw = self.syncobj.getStatus()
        leader = raw.get("leader")
        return {
            "role": ROLE_NAMES.get(raw.get("state"), "unknown"),
            "term": raw.get("raft_term"),
            "commit_index": raw.get("commit_idx"),
            "last_applied": raw.get("last_applied"),
            "leader": self.address_to_name.get(str(leader)) if leader is not None else None,
            "has_quorum": bool(raw.get("has_quorum")),
            "log_length": raw.get("log_len"),
        }

    def role_term_leader(self) -> tuple[str, int, str | None]:
        """Role, term and leader name, read without ``getStatus()`` (which builds a whole report): cheap
        enough to poll every few milliseconds. Plain attribute reads; the Raft thread may move on meanwhile."""
        sync = self.syncobj
        leader = sync._getLeader()
        return (ROLE_NAMES.get(sync._SyncObj__raftState, "unknown"), sync._SyncObj__raftCurrentTerm,
                self.address_to_name.get(str(leader)) if leader is not None else None)

    def watch(self, callback: Callable[[], None]) -> bool:
        """Have ``callback()`` called (from the Raft thread) when role, term or leader change; False when this
        member's Raft cannot tell (plain pysyncobj: the caller polls ``role_term_leader`` instead)."""
        if isinstance(self.syncobj, EagerSyncObj):
            self.syncobj.watch(callback)
            return True
        return False

    def leader_name(self) -> str | None:
        leader = self.syncobj._getLeader()
        return self.address_to_name.get(str(leader)) if leader is not None else None

    def close(self) -> None:
        self.syncobj.destroy()


def fail_name(code: int) -> str:
    for name in dir(FAIL_REASON):
        if not name.startswith("_") and getattr(FAIL_REASON, name) == code:
            return name.lower()
    return f"fail_{code}"
