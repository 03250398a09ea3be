"""A fix for pysyncobj's follower log handling (Raft §5.3), installed in every testbed node.

pysyncobj 0.3.17's follower, on an AppendEntries whose ``prevLogIdx`` is below the end of its log, deletes
*every* entry after ``prevLogIdx`` before appending the message's entries — even when they are the same
entries. Batched, pipelined AppendEntries (and stale replies that move the leader's ``nextIndex`` back)
make this routine, and a shorter, older message then drops entries that were already replicated and
counted towards a commit: a later election can lose acknowledged writes. The tier7 harness found it as
linearizability violations and pysyncobj's own "state machine may have diverged" CRITICAL lines.

Raft says: if an existing entry conflicts with a new one (same index, different term), delete it and all
that follow; append entries not already in the log; keep the rest. ``ConflictAwareJournal`` does exactly
that; the SyncObj's eager delete becomes a no-op. A conflict that replaces an entry at or below the
commit index would be a real safety violation and is logged CRITICAL.
"""

from __future__ import annotations

import logging
from typing import Any

import pysyncobj.syncobj as syncobj_module
from pysyncobj import SyncObj

log = logging.getLogger("testbed.raftlog")
PYSYNCOBJ_TRUNCATION = "truncating already-applied log entries"


class ConflictAwareJournal:
    """Wraps a pysyncobj journal; ``add`` of an index already present keeps a matching entry and truncates
    only on a term conflict. Everything else is delegated."""

    def __init__(self, journal: Any) -> None:
        self._journal = journal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)

    def __len__(self) -> int:
        return len(self._journal)

    def __getitem__(self, item: Any) -> Any:
        return self._journal[item]

    def add(self, command: bytes, idx: int, term: int) -> None:
        journal = self._journal
        if len(journal) == 0:
            journal.add(command, idx, term)
            return
        first, last = journal[0][1], journal[-1][1]
        if idx <= last and idx >= first:
            existing = journal[idx - first]
            if existing[2] == term:
                return  # the same entry (Log Matching Property): keep it and what follows
            if idx <= journal.getRaftCommitIndex():
                log.critical("replacing committed log entry %d (term %d) with term %d: Raft safety violated",
                             idx, existing[2], term,
                             extra={"event": "raft_divergence", "fields": {"index": idx}})
            else:
                log.info("replacing uncommitted log entry %d (term %d -> %d)", idx, existing[2], term,
                         extra={"event": "raft_log_conflict", "fields": {"index": idx}})
            journal.deleteEntriesFrom(idx - first)
        journal.add(command, idx, term)


class _DowngradeEagerTruncationMessage(logging.Filter):
    """pysyncobj logs its CRITICAL before the (now deferred, conflict-only) truncation; it no longer means
    what it says, so it is kept at DEBUG. A real divergence is logged by ConflictAwareJournal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.CRITICAL and str(record.msg).startswith(PYSYNCOBJ_TRUNCATION):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def _no_eager_delete(self: SyncObj, from_index: int) -> None:
    """Replaces SyncObj.__deleteEntriesFrom (called only by the follower's AppendEntries handler)."""


def install() -> None:
    """Patch pysyncobj in this process (idempotent). Call before creating a SyncObj."""
    if getattr(syncobj_module, "_tier7_raftlog_installed", False):
        return
    original = syncobj_module.createJournal
    syncobj_module.createJournal = lambda journal_file=None: ConflictAwareJournal(original(journal_file))
    SyncObj._SyncObj__deleteEntriesFrom = _no_eager_delete
    logging.getLogger("pysyncobj.syncobj").addFilter(_DowngradeEagerTruncationMessage())
    syncobj_module._tier7_raftlog_installed = True
