"""One direction of a proxied link: every chunk goes through the active toxics, then on, in order.

The pipe does not know sockets. It is handed callbacks: ``deliver(data)`` passes data on (a TCP
segment today; a datagram when a UDP relay joins, with ``coalesce=False``), ``finish()`` passes the end
of the stream on, ``close_link(abort)`` closes the whole link (``abort`` = TCP reset) and ``throttle(on)``
pauses or resumes reading from the source while too much delayed data waits.

Cost: with no toxic in force and nothing queued a chunk is handed on at once (one call). Delayed
chunks wait in a FIFO served by a single event-loop timer, so ordering holds even with jitter and the
loop keeps one timer per busy direction, not one per chunk. Times are ``loop.time()`` seconds.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Sequence

from .toxics import Toxic, slice_offsets

HIGH_WATER = 4 * 1024 * 1024   # bytes queued before the source is paused
LOW_WATER = 1024 * 1024        # bytes queued below which it resumes
EARLY_S = 0.0002               # a chunk due within this many seconds of now goes in the current batch
MAX_LAG_S = 0.002
CLOSE = object()               # queue marker: close the whole link once what is before it was handed on


class TimerLag:
    """How late this process's event-loop timers fire (seconds, a moving average): epoll waits in whole
    milliseconds and a busy machine adds more. Timers are set that much early, and a chunk due within that
    much of now is sent in the current batch, so deliveries centre on their due time."""

    value = 0.0005

    @classmethod
    def observe(cls, late: float) -> None:
        cls.value = min(MAX_LAG_S, max(0.0, cls.value + 0.05 * (late - cls.value)))


class Pipe:
    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[bytes], None],
                 finish: Callable[[], None], close_link: Callable[[bool], None],
                 throttle: Callable[[bool], None], coalesce: bool = True,
                 rng: random.Random | None = None) -> None:
        self._loop = loop
        self._deliver, self._finish, self._close_link, self._throttle = deliver, finish, close_link, throttle
        self._coalesce = coalesce
        self._rng = rng or random.Random()
        self._active: list[Toxic] = []
        self._draws: dict[str, tuple[int, bool]] = {}          # toxic name -> (revision, applies here)
        # (due, data); None = end of stream; CLOSE = close the link (limit_data reached)
        self._queue: deque[tuple[float, object]] = deque()
        self._queued = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._last_due = 0.0
        self._bandwidth_free = 0.0
        self._fault_timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        self._limit_sent: dict[str, int] = {}  # limit_data toxic name -> bytes passed (lives with the link)
        self._limit_reached = False
        self._slicing = False  # a slicer is active: hand slices on one write each, never joined
        self._throttled = False
        self.closed = False

    # -- toxics --

    def set_toxics(self, toxics: Sequence[Toxic]) -> None:
        """The proxy's toxics for this direction changed (or the link is new): draw toxicity, arm timers."""
        draws: dict[str, tuple[int, bool]] = {}
        active: list[Toxic] = []
        for toxic in toxics:
            previous = self._draws.get(toxic.name)
            if previous is not None and previous[0] == toxic.revision:
                applies = previous[1]
            else:
                applies = toxic.toxicity >= 1.0 or self._rng.random() < toxic.toxicity
            draws[toxic.name] = (toxic.revision, applies)
            if applies:
                active.append(toxic)
        self._draws, self._active = draws, active
        self._slicing = any(t.type == "slicer" for t in active)
        live = {(t.name, t.revision) for t in active}
        for key in [k for k in self._fault_timers if k not in live]:
            self._fault_timers.pop(key).cancel()
        for toxic in active:
            key = (toxic.name, toxic.revision)
            if toxic.type == "timeout" and toxic.attr("timeout") > 0 and key not in self._fault_timers:
                self._fault_timers[key] = self._loop.call_later(toxic.attr("timeout") / 1000, self._close_link, False)

    # -- data --

    def feed(self, data: bytes) -> None:
        if self.closed or self._limit_reached:
            return
        if not self._active and not self._queue:
            self._deliver(data)
            return
        due = self._loop.time()
        close_after = False
        slicer: Toxic | None = None
        for toxic in self._active:
            if toxic.type == "limit_data":  # first: what is cut off is never delayed or sliced
                limit = int(toxic.attr("bytes"))
                sent = self._limit_sent.get(toxic.name, 0)
                data = data[:max(0, limit - sent)]
                self._limit_sent[toxic.name] = sent + len(data)
                close_after = close_after or sent + len(data) >= limit
        for toxic in self._active:
            kind = toxic.type
            if kind == "latency":
                delay = toxic.attr("latency")
                jitter = toxic.attr("jitter")
                if jitter:
                    delay += self._rng.uniform(-jitter, jitter)
                due += max(delay, 0.0) / 1000
            elif kind == "bandwidth":
                rate = toxic.attr("rate")
                if rate > 0:
                    self._bandwidth_free = max(due, self._bandwidth_free) + len(data) / (rate * 1000)
                    due = self._bandwidth_free
            elif kind == "timeout":
                return  # dropped on the floor
            elif kind == "reset_peer":
                key = (toxic.name, toxic.revision)
                if key not in self._fault_timers:
                    self._fault_timers[key] = self._loop.call_later(toxic.attr("timeout") / 1000,
                                                                    self._close_link, True)
                return
            elif kind == "slicer":
                slicer = toxic
            elif kind == "loss" and self._rng.random() * 100 < toxic.attr("percent"):
                if not self._coalesce:
                    return  # a datagram: lost for good (QUIC recovers it itself)
                due += toxic.attr("retransmit") / 1000  # a TCP segment: it arrives when retransmitted
        if slicer is None:
            if data:
                self._push(due, data)
        else:
            step = slicer.attr("delay") / 1_000_000  # microseconds, as Toxiproxy
            offsets = slice_offsets(len(data), int(slicer.attr("average_size")),
                                    int(slicer.attr("size_variation")), self._rng)
            for index, (start, end) in enumerate(offsets):
                self._push(due + index * step, data[start:end])
        if close_after:
            self._limit_reached = True  # Toxiproxy closes the link once the limit is reached
            self._push(due, CLOSE)

    def feed_eof(self) -> None:
        """The source ended its stream; pass the end on after the data already queued (``slow_close``:
        that many ms later)."""
        if not self.closed:
            delay = max((t.attr("delay") for t in self._active if t.type == "slow_close"), default=0.0)
            self._push(self._loop.time() + delay / 1000, None)

    def _push(self, due: float, item: object) -> None:
        due = max(due, self._last_due)
        self._last_due = due
        if not self._queue and due <= self._loop.time() + EARLY_S:
            self._hand_on([item] if isinstance(item, bytes) else [], item is None, item is CLOSE)
            return
        self._queue.append((due, item))
        if isinstance(item, bytes):
            self._queued += len(item)
            if self._queued > HIGH_WATER and not self._throttled:
                self._throttled = True
                self._throttle(True)
        if self._timer is None:
            self._arm(due)

    def _arm(self, due: float) -> None:
        self._timer_at = due - TimerLag.value
        self._timer = self._loop.call_at(self._timer_at, self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self.closed:
            return
        now = self._loop.time()
        TimerLag.observe(now - self._timer_at)
        horizon = now + max(EARLY_S, TimerLag.value)
        batch: list[bytes] = []
        ended = shut = False
        while self._queue and self._queue[0][0] <= horizon:
            _, item = self._queue.popleft()
            if not isinstance(item, bytes):
                ended, shut = item is None, item is CLOSE
                break
            batch.append(item)
            self._queued -= len(item)
        self._hand_on(batch, ended, shut)
        if self.closed:
            return
        if self._queue:
            self._arm(self._queue[0][0])
        if self._throttled and self._queued < LOW_WATER:
            self._throttled = False
            self._throttle(False)

    def _hand_on(self, batch: list[bytes], ended: bool, shut: bool = False) -> None:
        if batch:
            if self._coalesce and not self._slicing:
                self._deliver(batch[0] if len(batch) == 1 else b"".join(batch))
            else:
                for item in batch:
                    self._deliver(item)
        if ended:
            self._queue.clear()
            self._finish()
        elif shut:
            self._queue.clear()
            self._close_link(False)

    def close(self) -> None:
        """Stop for good: drop queued data and cancel every timer."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for timer in self._fault_timers.values():
            timer.cancel()
        self._fault_timers.clear()
        self._queue.clear()
        self._queued = 0
