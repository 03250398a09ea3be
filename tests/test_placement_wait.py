"""The federation phases' replica wait (tier7/verify/placement_wait.py), pure logic on a fake clock: keys
still replicating are waited for, keys nothing can fix settle at once or after the short grace, and every
wait ends by itself."""

from __future__ import annotations

from collections.abc import Callable

from tier7.verify.placement_wait import wait_for_placement

GROUP = {"a1", "a2", "a3"}


class FakeClock:
    """Each look costs ``look_s`` seconds of the fake clock."""

    def __init__(self, look_s: float = 0.5) -> None:
        self.now, self.look_s, self.looks = 0.0, look_s, 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run(clock: FakeClock, placement: Callable[[str, float], list[str]], keys: list[str],
        **kwargs: float) -> dict[str, list[str]]:
    def look(pending: list[str]) -> dict[str, list[str]]:
        clock.looks += 1
        clock.now += clock.look_s
        return {k: placement(k, clock.now) for k in pending}

    return wait_for_placement(look, keys, lambda key, held: set(held) < GROUP, clock=clock,
                              sleep=clock.sleep, **kwargs)


def test_a_follower_that_applies_late_is_waited_for() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: ["a1", "a2", "a3"] if now >= 4 else ["a1"], ["k"])
    assert seen == {"k": ["a1", "a2", "a3"]}
    assert 4 <= clock.now < 5


def test_a_key_held_nowhere_settles_after_the_grace_not_the_deadline() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: ["a1", "a2", "a3"] if key == "ok" else [], ["ok", "lost"])
    assert seen == {"ok": ["a1", "a2", "a3"], "lost": []}
    assert 2 <= clock.now < 3


def test_a_key_that_appears_within_the_grace_is_still_seen() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: [] if now < 1.5 else ["a1", "a2", "a3"], ["late"])
    assert seen == {"late": ["a1", "a2", "a3"]}


def test_a_key_on_another_group_settles_at_once() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: ["b1"], ["misrouted"])
    assert seen == {"misrouted": ["b1"]} and clock.looks == 1


def test_a_key_stuck_part_way_ends_the_wait_after_the_stall_window() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: ["a1"], ["stuck"], stall_s=3.0)
    assert seen == {"stuck": ["a1"]}
    assert 3 < clock.now <= 4


def test_a_key_that_keeps_changing_ends_at_the_deadline() -> None:
    clock = FakeClock()
    seen = run(clock, lambda key, now: ["a1"] if int(now * 2) % 2 else ["a2"], ["flapping"], deadline_s=6.0)
    assert seen["flapping"] in (["a1"], ["a2"])
    assert 6 < clock.now <= 7


def test_polls_sleep_between_looks_and_no_keys_need_no_look() -> None:
    clock = FakeClock(look_s=0.0)
    run(clock, lambda key, now: ["a1"], ["k"], poll_s=0.25, stall_s=1.0)
    assert clock.looks == 6  # 0, 0.25 ... 1.25: the stall window passed
    assert run(FakeClock(), lambda key, now: [], []) == {}
