"""A shared to-do list drained by a few client threads: the foreign targets' federation writes and final
read (their clients block, so threads, not greenlets)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

Item = TypeVar("Item")


def drain(items: list[Item], lanes: int, client_for: Callable[[int], Any], work: Callable[[Any, Item], None],
          join_timeout_s: float) -> None:
    """Run ``work(client, item)`` once per item, in order, on ``lanes`` threads (at most one per item), each
    with its own ``client_for(lane)`` (closed at the end). ``work`` runs outside the list's lock; it
    guards its own shared results. Each thread is waited for at most ``join_timeout_s`` seconds."""
    todo = list(reversed(items))
    lock = threading.Lock()

    def lane(index: int) -> None:
        client = client_for(index)
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    item = todo.pop()
                work(client, item)
        finally:
            client.close()

    threads = [threading.Thread(target=lane, args=(i,), daemon=True) for i in range(min(lanes, max(1, len(items))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout_s)
