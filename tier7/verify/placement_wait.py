"""How long the federation phases wait for acknowledged keys to show up on their replicas: one policy for the
testbed (tier7/verify/criteria/federation.py) and for foreign targets (tier7/verify/foreign_federation.py).

Followers apply a commit a moment after the leader acknowledged it, so a key held by some of its group's
members is waited for. Waiting cannot put right what nothing will move during the phase, so these settle at
once or soon, and the judge (not this wait) decides what they mean:
- a key whose holders the caller calls hopeless (e.g. held by members of two groups, or by another group);
- a key no member holds ``nowhere_grace_s`` after the first look: a leader applies a write before it
  acknowledges it, so an acknowledged key missing from every replica, the leader's included, was lost.
The wait also ends when no pending key gained or lost a holder for ``stall_s``, and at ``deadline_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Holders = dict[str, list[str]]

DEADLINE_S = 30.0       # the longest wait in all (seconds)
STALL_S = 10.0          # no pending key changing holders for this long ends the wait (seconds)
NOWHERE_GRACE_S = 2.0   # a key no member holds this long after the first look is settled (seconds)


def wait_for_placement(look: Callable[[list[str]], Holders], keys: list[str],
                       still_coming: Callable[[str, list[str]], bool], *, poll_s: float = 0.0,
                       deadline_s: float = DEADLINE_S, stall_s: float = STALL_S,
                       nowhere_grace_s: float = NOWHERE_GRACE_S,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> Holders:
    """Key -> members holding it, from repeated ``look(pending keys)`` calls (each answers every key it is
    given). ``still_coming(key, holders)`` says whether a key with some holders may still gain the ones it
    lacks (it is only asked about keys with at least one holder). Times in seconds."""
    started = progressed_at = clock()
    holders: Holders = {}
    pending = list(keys)
    while pending:
        before = {k: holders.get(k, []) for k in pending}  # already sorted when stored
        seen = look(pending)
        holders.update({k: sorted(seen.get(k) or []) for k in pending})
        now = clock()
        if any(holders[k] != before[k] for k in pending):
            progressed_at = now
        nowhere_settled = now - started >= nowhere_grace_s
        pending = [k for k in pending
                   if (still_coming(k, holders[k]) if holders[k] else not nowhere_settled)]
        if not pending or now - started > deadline_s or now - progressed_at > stall_s:
            break
        if poll_s:
            sleep(poll_s)
    return {k: holders.get(k, []) for k in keys}
