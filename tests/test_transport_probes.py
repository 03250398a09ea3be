"""The transport's probe round trips measure the link, not the node's event-loop backlog: a node busy
with requests (its loop blocked ~100 ms at a time) still measures a loopback round trip in milliseconds.
Before, the echo and the prober's answers ran as event-loop callbacks, and a healthy testbed under a
120-user load switched its region pairs between h2 and h3 about once a second."""

from __future__ import annotations

import asyncio
import socket
import time

from testbed.transport import MAGIC, PROBE, ProbeThread


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_round_trips_stay_short_while_the_loop_is_blocked():
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        sent_at: dict[int, float] = {}
        rtts: list[float] = []
        done = asyncio.Event()

        def answered(seq: int, arrived: float) -> None:
            rtts.append((arrived - sent_at[seq]) * 1000)
            if len(rtts) == 10:
                done.set()

        echo_port = free_udp_port()
        peer = ProbeThread(loop, lambda *_: None, "127.0.0.1", echo_port)  # the other node: echo only
        me = ProbeThread(loop, answered, "127.0.0.1", 0)
        peer.start()
        me.start()
        try:
            for seq in range(1, 11):
                sent_at[seq] = time.monotonic()
                me.send(PROBE.pack(MAGIC, seq, sent_at[seq]), ("127.0.0.1", echo_port))
                time.sleep(0.1)  # the loop is busy (a burst of requests) right after sending
                await asyncio.sleep(0)
            await asyncio.wait_for(done.wait(), 5)
        finally:
            me.close()
            peer.close()
        return rtts

    rtts = asyncio.run(scenario())
    assert len(rtts) == 10
    assert sorted(rtts)[len(rtts) // 2] < 30, rtts  # median: the link, not the 100 ms the loop was blocked


def test_stray_datagrams_are_ignored_and_close_is_prompt():
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        got: list[int] = []
        echo_port = free_udp_port()
        peer = ProbeThread(loop, lambda *_: None, "127.0.0.1", echo_port)
        peer.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
            stray.settimeout(0.3)
            stray.sendto(b"not a probe", ("127.0.0.1", echo_port))
            try:
                stray.recvfrom(64)
                got.append(1)
            except TimeoutError:
                pass
            stray.sendto(PROBE.pack(MAGIC, 7, 0.0), ("127.0.0.1", echo_port))
            data, _ = stray.recvfrom(64)
            assert PROBE.unpack(data)[1] == 7
        assert got == []  # only probes are echoed
        started = time.monotonic()
        peer.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0
