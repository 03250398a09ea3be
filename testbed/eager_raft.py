"""A pysyncobj SyncObj that sends a new command to the followers at once, so the heartbeat can be slow.

pysyncobj in batch mode appends a client's command to the leader's log at the next tick and ships it with
the next periodic AppendEntries round: the commit latency floor is ``append_entries_period`` plus up to one
``tick_period``. That forced a 10 ms heartbeat and a 5 ms tick, i.e. about 200 wake-ups per second per
node and 1,200 idle Raft messages per second through the fault proxy on a 9-node testbed: most of its idle
CPU (issue 11). Here a command wakes the Raft thread through a pipe (as pysyncobj's non-batch mode does)
and, once the tick has drained the command queue into the log, the leader sends AppendEntries right away:
still batched (everything queued during one tick goes in one round) but no longer waiting for the timer.
The heartbeat period then only bounds failure detection.

pysyncobj's Raft thread also wakes every ``tick_period`` just to look at its timers. Here each poll waits
exactly until the next timer of the member's role (the leader's next heartbeat, a follower's election
deadline), so ``tick_period`` is only a cap (connection retries, leader fallback) and can be long.

Name-mangled pysyncobj internals are used on purpose (``_SyncObj__...``); the version is pinned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pysyncobj import SyncObj
from pysyncobj.monotonic import monotonic
from pysyncobj.pipe_notifier import PipeNotifier
from pysyncobj.syncobj import _RAFT_STATE


class EagerSyncObj(SyncObj):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before SyncObj.__init__: attributes present then are configuration, not replicated state
        # (pysyncobj snapshots every attribute added later).
        self._eager_notifier: PipeNotifier | None = None
        self._eager_watch: Callable[[], None] | None = None
        self._eager_seen: tuple[Any, ...] | None = None
        super().__init__(*args, **kwargs)
        self._eager_notifier = PipeNotifier(self._poller)
        poll = self._poller.poll
        self._poller.poll = lambda timeout: poll(self._until_next_timer(timeout))

    def _until_next_timer(self, cap: float) -> float:
        """Seconds the Raft thread may sleep: until the role's next timer, at most ``cap``."""
        if self._SyncObj__raftState == _RAFT_STATE.LEADER:
            due = self._SyncObj__newAppendEntriesTime
        else:
            due = self._SyncObj__raftElectionDeadline
        left = due - monotonic()
        return left if 0 < left < cap else cap  # an overdue timer (e.g. not connected yet): the plain tick

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the Raft thread) after every tick in which the role, the term or the
        leader changed: the node logs those changes without polling ``getStatus()`` from another thread."""
        self._eager_watch = callback

    def _onTick(self, timeToWait: float = 0.0) -> None:
        super()._onTick(timeToWait)
        seen = (self._SyncObj__raftState, self._SyncObj__raftCurrentTerm, self._SyncObj__raftLeader)
        if seen != self._eager_seen:
            self._eager_seen = seen
            if self._eager_watch is not None:
                self._eager_watch()

    def _applyCommand(self, command: Any, callback: Any, commandType: Any = None) -> None:
        super()._applyCommand(command, callback, commandType)
        notifier = self._eager_notifier
        if notifier is not None:
            try:
                notifier.notify()
            except BlockingIOError:  # the pipe is full: the Raft thread has a wake-up pending anyway
                pass

    def _checkCommandsToApply(self) -> None:
        before = self._SyncObj__getCurrentLogIndex()
        super()._checkCommandsToApply()
        if self._SyncObj__raftState == _RAFT_STATE.LEADER and self._SyncObj__getCurrentLogIndex() > before:
            self._SyncObj__sendAppendEntries()
