"""The testbed's fix of pysyncobj's follower log handling: matching entries are kept, only a term conflict
truncates (Raft §5.3), and replacing a committed entry is logged CRITICAL."""

import logging

from pysyncobj.journal import FileJournal, MemoryJournal

from testbed.raftlog import ConflictAwareJournal


def journal_with(entries):
    journal = ConflictAwareJournal(MemoryJournal())
    for idx, term in entries:
        journal.add(f"c{idx}-{term}".encode(), idx, term)
    return journal


def terms(journal):
    return [(journal[i][1], journal[i][2]) for i in range(len(journal))]


def test_stale_append_entries_keep_the_newer_entries():
    journal = journal_with([(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)])
    for idx in (2, 3):  # an older, shorter AppendEntries re-sends 2..3
        journal.add(f"c{idx}-1".encode(), idx, 1)
    assert terms(journal) == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]


def test_conflict_truncates_from_the_conflicting_entry(caplog):
    journal = journal_with([(1, 1), (2, 1), (3, 1), (4, 1)])
    with caplog.at_level(logging.INFO, logger="testbed.raftlog"):
        journal.add(b"new", 3, 2)
    assert terms(journal) == [(1, 1), (2, 1), (3, 2)]
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


def test_replacing_a_committed_entry_is_critical(caplog, tmp_path):
    journal = ConflictAwareJournal(FileJournal(str(tmp_path / "raft.journal")))  # the testbed's kind
    for idx in (1, 2, 3):
        journal.add(b"c", idx, 1)
    journal.setRaftCommitIndex(3)
    with caplog.at_level(logging.INFO, logger="testbed.raftlog"):
        journal.add(b"evil", 2, 5)
    assert [r for r in caplog.records if r.levelno >= logging.CRITICAL]
