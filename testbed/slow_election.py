"""TEST ONLY (``slow_election_s``): a group that takes ``slow_election_s`` seconds to replace a lost leader.

The bug it models: election timeouts mis-set by an order of magnitude (seconds where the preset says a
fraction of one). A fresh cluster still elects at the preset's speed so it can come up; from then on a
follower waits ``slow_election_s`` seconds (to 1.2x that) without a heartbeat before it stands for election,
and a node restarted on an existing journal waits as long before its first candidacy. Once an election has
started, retries use the preset's timeouts again, so a new leader does appear, just late.

pysyncobj draws each election deadline from ``SyncObj.__generateRaftTimeout``; this replaces it on one
instance (an instance attribute shadows the name-mangled method).
"""

from __future__ import annotations

import random
from typing import Any

from pysyncobj.monotonic import monotonic  # pysyncobj's own clock (CLOCK_MONOTONIC_RAW), not time.monotonic
from pysyncobj.syncobj import _RAFT_STATE


def install(syncobj: Any, slow_s: float, restarted: bool) -> None:
    conf = syncobj.conf

    def normal() -> float:
        return conf.raftMinTimeout + (conf.raftMaxTimeout - conf.raftMinTimeout) * random.random()

    def timeout() -> float:
        # A follower that knows its leader and whose deadline is still ahead is being reset by a heartbeat:
        # that is the wait after the leader's last sign of life. Any other call starts or retries an election.
        following = (syncobj._SyncObj__raftState == _RAFT_STATE.FOLLOWER
                     and syncobj._SyncObj__raftLeader is not None
                     and syncobj._SyncObj__raftElectionDeadline > monotonic())
        return slow_s * (1 + 0.2 * random.random()) if following else normal()

    syncobj._SyncObj__generateRaftTimeout = timeout
    if restarted:
        syncobj._SyncObj__raftElectionDeadline = monotonic() + slow_s * (1 + 0.2 * random.random())
