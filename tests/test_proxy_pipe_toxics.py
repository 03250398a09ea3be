"""The fault proxy's slicer, limit_data and slow_close toxics on a bare pipe (no sockets, no processes),
as Toxiproxy's toxics/slicer.go, limit_data.go and slow_close.go behave (issue 17 item 7)."""

from __future__ import annotations

import asyncio
import random
from itertools import pairwise

import pytest

from chaos.proxy.errors import ApiError
from chaos.proxy.pipe import Pipe
from chaos.proxy.toxics import parse_toxic, slice_offsets


class Recorder:
    """The pipe's callbacks, recorded with the loop time of each call (seconds)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.writes: list[tuple[float, bytes]] = []
        self.finished: float | None = None
        self.closed: tuple[float, bool] | None = None

    def pipe(self) -> Pipe:
        return Pipe(self.loop, lambda d: self.writes.append((self.loop.time(), d)), self._finish, self._close,
                    lambda on: None, rng=random.Random(7))

    def _finish(self) -> None:
        self.finished = self.loop.time()

    def _close(self, abort: bool) -> None:
        self.closed = (self.loop.time(), abort)


def toxic(kind: str, **attributes: float):
    return parse_toxic({"type": kind, "attributes": attributes})


def run(body) -> None:
    asyncio.run(body())


@pytest.mark.parametrize("size,average,variation", [(100, 10, 3), (1, 5, 0), (65536, 1000, 999), (7, 0, 0),
                                                     (50, 10, 50)])
def test_slice_offsets_cover_the_data_in_order(size, average, variation):
    pieces = slice_offsets(size, average, variation, random.Random(1))
    assert pieces[0][0] == 0 and pieces[-1][1] == size
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
    limit = max(1, average) + max(0, min(variation, max(1, average) - 1))
    assert all(0 < end - start <= max(limit, 1) * 2 for start, end in pieces)


def test_slicer_hands_on_slices_delay_microseconds_apart():
    async def body():
        loop = asyncio.get_running_loop()
        rec = Recorder(loop)
        pipe = rec.pipe()
        pipe.set_toxics([toxic("slicer", average_size=10, size_variation=0, delay=30_000)])
        pipe.feed(b"a" * 40)
        await asyncio.sleep(0.3)
        assert [d for _, d in rec.writes] == [b"a" * 10] * 4  # one write per slice, never joined
        gaps = [b[0] - a[0] for a, b in pairwise(rec.writes)]
        assert all(gap >= 0.025 for gap in gaps), gaps

    run(body)


def test_limit_data_cuts_at_the_limit_then_closes_the_link():
    async def body():
        loop = asyncio.get_running_loop()
        rec = Recorder(loop)
        pipe = rec.pipe()
        pipe.set_toxics([toxic("limit_data", bytes=12)])
        pipe.feed(b"0123456789")
        assert rec.closed is None
        pipe.feed(b"abcdef")
        pipe.feed(b"never")
        await asyncio.sleep(0.01)
        assert b"".join(d for _, d in rec.writes) == b"0123456789ab"
        assert rec.closed is not None and rec.closed[1] is False

    run(body)


def test_limit_data_zero_closes_on_the_first_data():
    async def body():
        rec = Recorder(asyncio.get_running_loop())
        pipe = rec.pipe()
        pipe.set_toxics([toxic("limit_data", bytes=0)])
        pipe.feed(b"x")
        await asyncio.sleep(0.01)
        assert rec.writes == [] and rec.closed is not None

    run(body)


def test_slow_close_passes_the_end_on_late_and_data_at_once():
    async def body():
        loop = asyncio.get_running_loop()
        rec = Recorder(loop)
        pipe = rec.pipe()
        pipe.set_toxics([toxic("slow_close", delay=200)])
        started = loop.time()
        pipe.feed(b"data")
        pipe.feed_eof()
        assert [d for _, d in rec.writes] == [b"data"]
        await asyncio.sleep(0.1)
        assert rec.finished is None
        await asyncio.sleep(0.3)
        assert rec.finished is not None and rec.finished - started >= 0.19

    run(body)


def test_new_toxic_attributes_are_validated():
    with pytest.raises(ApiError) as bad:
        parse_toxic({"type": "slicer", "attributes": {"average": 10}})
    assert "unknown attribute" in bad.value.message
    assert parse_toxic({"type": "limit_data"}).attributes == {"bytes": 0}
    assert parse_toxic({"type": "slow_close", "attributes": {"delay": 5}}).attributes == {"delay": 5}
