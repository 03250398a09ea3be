"""Wing–Gong linearizability search for one register with compare-and-set (after Lowe's refinement, as in
Porcupine and Knossos): a depth-first search over the history's call/return entries, with memoisation of
visited (set of linearized operations as a bitset, register value) configurations.

Each operation has a call entry at its invoke time and, when acknowledged, a return entry at its response
time. An ``info`` operation has no return entry (response at +infinity): it may be linearized at any point
after its call, or never. The search succeeds once every acknowledged operation is linearized. At equal
timestamps a call sorts before a return, so such operations count as concurrent (the lenient reading).

One pruning on top of the classic search: a read that is a candidate (its call precedes every pending
return) and legal in the current configuration is linearized at once and never reconsidered. This is
safe: a read does not change the register and no pending operation precedes it in real time, so if any
linearization exists from the configuration, one exists with that read placed first. Without it the
search branches on every read's position and blows up with concurrency.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .register import CAS, READ, WRITE, KeyHistory

OK, ILLEGAL, TIMEOUT = "ok", "illegal", "timeout"
CHECK_EVERY = 2048


@dataclass
class SearchResult:
    outcome: str                      # ok | illegal | timeout
    steps: int = 0
    stuck_op: int | None = None       # the op (index in the key history) that could not be linearized
    stuck_state: object = None        # the register value when it got stuck (deepest point reached)
    prefix: tuple[int, ...] = ()      # the ops linearized before it, in order (deepest point)


DEAD = object()  # the register value after an unobserved write: equal to nothing, read by nobody


def unobserved(history: KeyHistory) -> tuple[list[object], list[object], list[bool]]:
    """Written values nobody observes (no read returns them, no cas expects them) replaced by ``DEAD``, and
    which operations to drop: info writes of unobserved values.

    Sound: in any linearization an unobserved write is immediately followed by another write or ends the
    history (a read or successful cas right after it would observe it), so its value never matters (all such
    values may share one token, which also merges their memo entries), and an info one can be left out."""
    observed = {a for k, a in zip(history.kind, history.arg, strict=True) if k != WRITE}  # reads, cas expectations
    arg, new = list(history.arg), list(history.new)
    drop = [False] * len(history)
    for i, k in enumerate(history.kind):
        if k == WRITE and arg[i] not in observed:
            arg[i] = DEAD
        elif k == CAS and new[i] not in observed:
            new[i] = DEAD
        else:
            continue
        drop[i] = history.complete[i] is None
    return arg, new, drop


class _Entries:
    """The call/return entries as a doubly linked list over slots 1..m (0 = head, m + 1 = tail)."""

    def __init__(self, history: KeyHistory, drop: list[bool]) -> None:
        n = len(history)
        entries = [(history.invoke[i], 0, i) for i in range(n) if not drop[i]]
        entries += [(history.complete[i], 1, i) for i in range(n) if history.complete[i] is not None]
        entries.sort()
        m = len(entries)
        self.tail = m + 1
        self.nxt = list(range(1, m + 2)) + [m + 1]
        self.prv = [0] + list(range(0, m + 1))
        self.is_return = [False] * (m + 2)
        self.is_return[m + 1] = True  # the tail stops a scan like a return would
        self.op = [-1] * (m + 2)
        self.call = [0] * n
        self.ret = [-1] * n
        for slot, (_, is_ret, op) in enumerate(entries, 1):
            self.op[slot] = op
            self.is_return[slot] = bool(is_ret)
            if is_ret:
                self.ret[op] = slot
            else:
                self.call[op] = slot


def check_register(history: KeyHistory, deadline: float, initial: object = None) -> SearchResult:
    """Search for a linearization of ``history``; ``deadline`` is a ``time.monotonic()`` value (seconds)."""
    arg, new, drop = unobserved(history)
    e = _Entries(history, drop)
    nxt, prv, is_return, entry_op, call_slot, return_slot = e.nxt, e.prv, e.is_return, e.op, e.call, e.ret
    kind = history.kind
    acknowledged = [c is not None for c in history.complete]

    def lift(op: int) -> None:
        c, r = call_slot[op], return_slot[op]
        nxt[prv[c]] = nxt[c]
        prv[nxt[c]] = prv[c]
        if r >= 0:
            nxt[prv[r]] = nxt[r]
            prv[nxt[r]] = prv[r]

    def unlift(op: int) -> None:  # reverse order of the lift: the return, then the call
        c, r = call_slot[op], return_slot[op]
        if r >= 0:
            nxt[prv[r]] = r
            prv[nxt[r]] = r
        nxt[prv[c]] = c
        prv[nxt[c]] = c

    remaining = sum(acknowledged)
    state = initial
    bits = 0
    stack: list[tuple[int, object]] = []
    seen: set[tuple[int, object]] = set()
    deepest = -1
    best = SearchResult(ILLEGAL)
    steps = 0
    slot = 0          # 0: a new configuration (take legal reads first); else the next slot to try
    while remaining:
        steps += 1
        if not steps % CHECK_EVERY and time.monotonic() > deadline:
            return SearchResult(TIMEOUT, steps)
        failed = False
        if slot == 0:
            # Phase 1: linearize a legal candidate read, if any (safe, see the module doc).
            s = nxt[0]
            while not is_return[s] and not (kind[entry_op[s]] == READ and arg[entry_op[s]] == state):
                s = nxt[s]
            if not is_return[s]:
                op = entry_op[s]
                config = (bits | (1 << op), state)
                if config in seen:
                    failed = True  # this configuration was already explored from here: it fails
                else:
                    seen.add(config)
                    stack.append((op, state))
                    bits = config[0]
                    remaining -= acknowledged[op]
                    lift(op)
                    continue
            else:
                slot = nxt[0]
        if not failed:
            # Phase 2: try the next write / cas candidate in list order.
            while not is_return[slot]:
                op = entry_op[slot]
                k = kind[op]
                if k != READ and (k != CAS or state == arg[op]):
                    after = new[op] if k == CAS else arg[op]
                    config = (bits | (1 << op), after)
                    if config not in seen:
                        seen.add(config)
                        stack.append((op, state))
                        state, bits = after, config[0]
                        remaining -= acknowledged[op]
                        lift(op)
                        break
                slot = nxt[slot]
            else:
                failed = True
            if not failed:
                slot = 0
                continue
        # Backtrack: undo linearized reads (they were forced), then the last write / cas, and try the next one.
        if len(stack) > deepest:
            deepest = len(stack)
            stuck = entry_op[slot] if slot and slot != e.tail and is_return[slot] else None
            best = SearchResult(ILLEGAL, 0, stuck, state, tuple(op for op, _ in stack))
        while stack:
            op, state = stack.pop()
            bits ^= 1 << op
            remaining += acknowledged[op]
            unlift(op)
            if kind[op] != READ:
                break
        else:
            best.steps = steps
            return best
        slot = nxt[call_slot[op]]
    return SearchResult(OK, steps)
