"""Read until stable: acknowledged write-once keys queued for re-reads during the run (Jepsen's set-full:
each element is added once, then read again and again), shared by the users of one Locust process so a key
is re-read through other entry nodes than its writer's. No Locust import (unit-testable)."""

from __future__ import annotations

import collections

BACKLOG = 10_000      # keys waiting for a re-read; older ones are left to the final read
READS_PER_KEY = 2     # each acknowledged write-once key is re-read this often during the run


class Rereads:
    """A FIFO of ``[key, reads left]``: the oldest key is read next and re-queued while reads are left."""

    def __init__(self, reads_per_key: int = READS_PER_KEY, backlog: int = BACKLOG) -> None:
        self.reads_per_key = reads_per_key
        self.queue: collections.deque[list[object]] = collections.deque(maxlen=backlog)

    def add(self, key: str) -> None:
        """An acknowledged write-once key."""
        self.queue.append([key, self.reads_per_key])

    def next(self) -> str | None:
        """The key to read now, or None when nothing waits."""
        if not self.queue:
            return None
        item = self.queue.popleft()
        item[1] = int(item[1]) - 1  # type: ignore[call-overload]
        if int(item[1]) > 0:  # type: ignore[call-overload]
            self.queue.append(item)
        return str(item[0])
